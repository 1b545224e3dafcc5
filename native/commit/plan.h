// A commit as both back ends take it: per table, every chain it must have afterwards, each as
// kept current rules (by position on legacy, by handle on nft) and new rules already parsed by
// the native dialect. The commit wire (docs/wire.md) is parsed into this (wire.h), and a native
// restore plans straight into it (restore/plan.h): one form, two producers, two consumers.
#pragma once

#include <cstdint>
#include <deque>
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
};

struct NewRule {
  const dialect::Rule* rule = nullptr;
  uint64_t packets = 0, bytes = 0;
  size_t line = 0;  // the input line it came from (wire or restore input), for messages
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
  // What the lines in messages count: "wire line" (a commit wire) or "line" (restore input).
  const char* line_word = "wire line";
  // The COMMIT line of restore input (0: none), which a refusal of the whole table names.
  size_t commit_line = 0;
};

}  // namespace iptkit::commit
