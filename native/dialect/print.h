// The printers of the native dialect: a rule as iptables-save prints it (the canonical text,
// which is how rules cross into JavaScript and how two rules are compared), and as a line of
// `iptables -L`, with the same columns, widths and counter scaling as iptables-legacy 1.8.9.
// A match or target no module prints is shown as an opaque marker that no parser accepts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rule.h"

namespace iptkit {
namespace dialect {

// Appends the rule's options after `-A CHAIN` (with the space before each option), exactly as
// iptables-save writes them: "-A " + chain + save_rule(...) is the saved line.
void save_rule(const Rule& rule, Family family, std::string& out);

struct ListOptions {
  bool numeric = false;       // -n
  bool verbose = false;       // -v
  bool exact = false;         // -x
  bool line_numbers = false;  // --line-numbers
};

// One rule line of the listing, with its newline. `num` is its 1-based position.
void list_rule(const Rule& rule, uint32_t num, Family family, const ListOptions& opts, std::string& out);

// xtables_print_num: exact → "%8llu "; else up to 99999 as "%5llu ", then K, M, G, T.
// `notable`: no padding (the policy counters of a chain header).
void format_count(uint64_t n, bool exact, bool notable, std::string& out);

// A chain's header lines ("Chain X (policy P …)" or "(N references)", then the column
// header). `policy` empty for a user-defined chain.
void list_header(std::string_view chain, std::string_view policy, uint64_t packets, uint64_t bytes,
                 uint32_t references, const ListOptions& opts, std::string& out);

}  // namespace dialect
}  // namespace iptkit
