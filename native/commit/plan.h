// A commit as both back ends take it: per table, every chain it must have afterwards, each as
// kept current rules (by position on legacy, by handle on nft) and new rules already parsed by
// the native dialect. The commit wire (docs/wire.md) is parsed into this (wire.h), and a native
// restore plans straight into it (restore/plan.h): one form, two producers, two consumers.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../dialect/rule.h"

namespace iptkit::commit {

// A rule of a chain in its final order: a current rule kept, or new rule `rule` of the table.
struct Item {
  bool keep = false;
  uint64_t at = 0;    // keep: the 0-based position (legacy) or the handle (nft) it had when read
  size_t rule = 0;    // new: index into TablePlan::rules
  // keep, nft: `at` is the position as read (a `keeprun` record), made a handle by the commit
  // from the handles of the same read. Legacy keeps are positions anyway.
  bool position = false;
};

struct NewRule {
  const dialect::Rule* rule = nullptr;  // nullptr once a RuleSink took it
  uint64_t packets = 0, bytes = 0;
  size_t line = 0;  // the input line it came from (wire or restore input), for messages
  size_t encoded = 0;  // where the plan's RuleSink put the rule's kernel form
};

// A back end that turns each new rule into its kernel form (legacy: the x_tables entry) gives
// the plan a sink before it is filled: the parsers then parse every rule into one scratch Rule
// and hand it over at once, so that a 300,000-rule commit never holds 300,000 Rules (~600
// bytes each, against ~220 for an entry). Without one, a plan keeps its Rules in `owned`.
class RuleSink {
 public:
  virtual ~RuleSink() = default;
  // About this many rules are coming (for one allocation instead of a doubling arena).
  virtual void reserve(size_t rules) = 0;
  // Takes new rule `nr` (counters and line set) of chain `chain` of `table`, parsed as `rule`,
  // and sets nr.encoded; false with `why` when the rule has no kernel form.
  virtual bool take(const dialect::Rule& rule, std::string_view table, std::string_view chain, NewRule& nr,
                    std::string& why) = 0;
};

struct ChainPlan {
  std::string name;
  size_t line = 0;
  std::string policy;  // ACCEPT or DROP on a built-in chain; empty: leave policy and counters
  bool has_counters = false;  // with policy: set the policy counters too
  uint64_t packets = 0, bytes = 0;
  bool has_was = false;  // the chain had `was` rules when read (legacy's guard)
  uint64_t was = 0;
  size_t keeps = 0;
  std::vector<Item> items;
  // `lines=N` (docs/wire.md): the chain must hold exactly these canonical texts (views into
  // the wire), planned natively against the chain as a held read has it (restore/held.h).
  bool has_lines = false;
  std::vector<std::string_view> lines;
};

struct TablePlan {
  // NewRule::rule may point into `owned`: a plan is moved, never copied, so that a vector of
  // plans that grows keeps those pointers (a std::deque's move keeps its elements in place,
  // and std::vector copies rather than moves an element whose move may throw).
  TablePlan() = default;
  TablePlan(TablePlan&&) = default;
  TablePlan& operator=(TablePlan&&) = default;
  TablePlan(const TablePlan&) = delete;
  TablePlan& operator=(const TablePlan&) = delete;

  std::string name;
  // Only appends at the ends of the listed chains; nothing else is looked at (docs/wire.md).
  bool append = false;
  std::vector<ChainPlan> chains;
  std::vector<NewRule> rules;
  std::deque<dialect::Rule> owned;  // rules parsed for this plan (pointers into it stay valid)
  std::unique_ptr<RuleSink> sink;   // set by the back end before the plan is filled, or null
  // What the lines in messages count: "wire line" (a commit wire) or "line" (restore input).
  const char* line_word = "wire line";
  // The COMMIT line of restore input (0: none), which a refusal of the whole table names.
  size_t commit_line = 0;

  // Where the next new rule is parsed: with a sink the one scratch Rule, emptied; else a new
  // Rule of `owned`. adopt() then hands it to the sink or points `nr` at it.
  dialect::Rule& next_rule() {
    if (!sink) return owned.emplace_back();
    scratch_ = dialect::Rule{};
    return scratch_;
  }
  bool adopt(const dialect::Rule& r, std::string_view chain, NewRule& nr, std::string& why) {
    if (!sink) {
      nr.rule = &r;
      return true;
    }
    return sink->take(r, name, chain, nr, why);
  }

 private:
  dialect::Rule scratch_;
};

}  // namespace iptkit::commit
