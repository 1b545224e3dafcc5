// The two instances of the legacy back end (table.h over ip_tables and over ip6_tables), each in
// its own translation unit. The caller holds the table mutex and has entered the network
// namespace.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "../commit/plan.h"
#include "../common/error.h"

namespace iptkit::legacy {

// One legacy operation at a time in this process: two big commits' memory would add up (and
// their scratch blocks, common/scratch.h, would not be there for each other's reuse).
std::mutex& table_mutex();

// The tables the kernel lists in /proc/net/ip{,6}_tables_names, as the calling thread's
// namespace has them (none when the module is not loaded).
OpError table_names(bool v6, std::vector<std::string>& out);

// A read: the wire of docs/wire.md ("Read") and two counters (packets, bytes) per rule, in
// the order the rules appear in it. A commit takes every table's plan, all or nothing, and
// releases the rules a plan parsed itself once they are entries. A plan given the family's
// entry sink before it is filled holds entries from the start (commit/plan.h RuleSink).
// `digests`, for a commit planned on tables it did not read under its lock (kept ones): the
// table digests (fingerprint_v4's) it must find, ESTALE otherwise, and on success the digest of
// each committed table as it now holds.
struct TableDigests {
  std::vector<std::pair<std::string, uint64_t>> expect;
  std::vector<std::pair<std::string, uint64_t>> after;
};

// `digest`, if given: the table's digest (fingerprint_v4's) of the same copy the wire is of.
OpError read_v4(const std::string& table, std::string& wire, std::vector<uint64_t>& counters, uint64_t* digest = nullptr);
OpError commit_v4(std::vector<commit::TablePlan>& plans, TableDigests* digests = nullptr);
std::unique_ptr<commit::RuleSink> entry_sink_v4();
OpError read_v6(const std::string& table, std::string& wire, std::vector<uint64_t>& counters, uint64_t* digest = nullptr);
OpError commit_v6(std::vector<commit::TablePlan>& plans, TableDigests* digests = nullptr);
std::unique_ptr<commit::RuleSink> entry_sink_v6();

// A digest of the table's rules and chains as the kernel holds them, counters left out
// (table.h table_fingerprint); `exists` false when the kernel has no such table.
OpError fingerprint_v4(const std::string& table, bool& exists, uint64_t& digest);
OpError fingerprint_v6(const std::string& table, bool& exists, uint64_t& digest);

// Whether the table holds a rule, a user-defined chain or a policy other than ACCEPT.
OpError holds_rules_v4(const std::string& table, bool& holds);
OpError holds_rules_v6(const std::string& table, bool& holds);

// An unfinished multi-table commit found and dealt with (common/intent.h). Per table of the
// record: state old / new / changed (by another writer since) / missing, and what was done.
struct RecoveredTable {
  std::string name, state, action;
};
struct Recovery {
  bool found = false;
  std::string family, path;
  std::string outcome;  // "finished", "rolled back", "stale" (its namespace is gone)
  bool kept = false;    // the record stays: a table was left (only `iptkit recover` drops it)
  std::vector<RecoveredTable> tables;
};
OpError recover_v4(const std::string& path, const std::string& body, bool keep_if_left, Recovery& out);
OpError recover_v6(const std::string& path, const std::string& body, bool keep_if_left, Recovery& out);

// Looks for this namespace's record of the family and, when there is one, finishes or rolls
// back its commit. The caller holds the table mutex and is in the namespace; with
// `lock_held` it holds the xtables lock too, else it is taken here ($XTABLES_LOCKFILE or
// /run/xtables.lock, or `lock_path`), unless this process already holds it. `explicit_`:
// `iptkit recover`, which also drops a record whose tables it had to leave.
OpError recover_pending(bool v6, bool lock_held, const std::string& lock_path, int64_t lock_timeout_ms,
                        bool explicit_, Recovery& out);
// What every legacy operation does first: the same, quietly.
inline OpError recover_pending(bool v6, bool lock_held) {
  Recovery r;
  return recover_pending(v6, lock_held, std::string(), 10000, false, r);
}

}  // namespace iptkit::legacy
