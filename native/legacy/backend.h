// The two instances of the legacy back end (table.h over libiptc and over libip6tc), each in
// its own translation unit because the two libraries' headers do not mix. The caller holds
// the libiptc mutex and has entered the network namespace.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "../commit/plan.h"
#include "../common/error.h"

namespace iptkit::legacy {

// libiptc keeps global state and is not thread-safe: every call into it holds this.
std::mutex& iptc_mutex();

// The tables the kernel lists in /proc/net/ip{,6}_tables_names, as the calling thread's
// namespace has them (none when the module is not loaded).
OpError table_names(bool v6, std::vector<std::string>& out);

// A read: the wire of docs/wire.md ("Read") and two counters (packets, bytes) per rule, in
// the order the rules appear in it. A commit takes every table's plan, all or nothing.
OpError read_v4(const std::string& table, std::string& wire, std::vector<uint64_t>& counters);
OpError commit_v4(const std::vector<commit::TablePlan>& plans);
OpError read_v6(const std::string& table, std::string& wire, std::vector<uint64_t>& counters);
OpError commit_v6(const std::vector<commit::TablePlan>& plans);

}  // namespace iptkit::legacy
