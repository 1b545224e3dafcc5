// iptables-restore input run against the tables as they are: what iptables-restore would
// leave behind, as the smallest commit that gets there (commit/plan.h). Rules that stay keep
// their place and counters (an LCS over canonical texts where a chain was rewritten); new
// rules are the parsed input rules themselves, never printed and parsed again.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "../commit/plan.h"
#include "../dialect/parse.h"
#include "../dialect/restore.h"
#include "current.h"

namespace iptkit::restore {

struct Options {
  Family family = Family::ipv4;
  bool noflush = false;             // -n
  bool counters = false;            // -c, or a rule of the input carries `-c P B`
  bool set_policy_counters = false; // legacy: every committed table's policy counters are set
  bool keeps_are_handles = false;   // nft: kept rules are named by handle
  // nft without -n: iptables-nft-restore deletes the table and makes it again, so built-in
  // chains come back only where the input puts a rule or a policy, as ACCEPT with zero counters.
  bool flush_remakes_table = false;
};

struct TableOutcome {
  bool unchanged = true;  // nothing differs: the table need not be committed
  size_t added = 0, kept = 0, before = 0;
};

// A table given twice in one input (`*filter … COMMIT *filter … COMMIT`) runs as one: the
// second block's steps follow the first's (after a flush of the table without -n), as
// iptables-restore runs them one after the other.
void merge_repeated(std::vector<dialect::RestoreTable>& parsed, bool noflush);

// One plan per parsed table (current[i] is the table parsed[i] names, as read). Errors name
// the input line and token, as iptables-restore's "line N failed" does.
bool plan_restore(const std::vector<dialect::RestoreTable>& parsed, const std::vector<CurrentTable>& current,
                  const Options& opts, std::vector<commit::TablePlan>& out, std::vector<TableOutcome>& outcome,
                  dialect::ParseError& err);

// The table parsed leaves when restored onto current, as a read's wire and counters: what
// iptables-save -c would print afterwards. No kernel; for previews and tests.
bool restore_result(const dialect::RestoreTable& parsed, const CurrentTable& current, const Options& opts,
                    std::string& wire, std::vector<uint64_t>& counters, dialect::ParseError& err);

// For each desired position, the current index kept there or -1: a longest common
// subsequence of the texts, O(n log n).
std::vector<int64_t> keep_plan(const std::vector<std::string_view>& current, const std::vector<std::string_view>& desired);

// A chain that must hold `want` (canonical texts), made from its current rules: keep(i) for
// each current rule that stays (in order, so its counters survive), add(j) for each wanted
// rule that is new (false stops). `around_foreign`: rules written by `nft` directly are
// nobody's to remove, so they stay where they are and the rest is planned around them.
bool order_chain(const CurrentChain& cc, const std::vector<std::string_view>& want, bool around_foreign,
                 const std::function<void(uint32_t)>& keep, const std::function<bool(size_t)>& add);

// Whether any rule of the input carries its own counters (`-c P B`, or `[p:b]` with -c).
bool carries_counters(const std::vector<dialect::RestoreTable>& parsed);

// The plans of an input made only of -A lines, restored with -n: appends at the chains' ends,
// which need no read (append=1). False when the input is not of that form or appends nothing.
bool plan_append(const std::vector<dialect::RestoreTable>& parsed, std::vector<commit::TablePlan>& out);

}  // namespace iptkit::restore
