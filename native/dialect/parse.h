// The iptables command line as iptables 1.8.9 reads it: restore-line tokenizing (its quoting
// rules), getopt_long over the generic options and those of every loaded extension (exact
// names first, then unambiguous prefixes; newest module first), `!` before an option, the
// implicit match of `-p tcp`, and the command (-A, -I, …). Errors name the token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "extension.h"
#include "rule.h"

namespace iptkit {
namespace dialect {

// XT_EXTENSION_MAXNAMELEN - 1: the longest chain name.
constexpr size_t kMaxChainName = 28;

// What marks an extension iptkit cannot print (`-m NAME --iptkit-opaque REV:HEX`): both
// iptables-restore and this parser refuse it, so such a rule is never restored half-read.
constexpr std::string_view kOpaqueOption = "--iptkit-opaque";

enum class Op : uint8_t {
  kAppend, kInsert, kDelete, kDeleteNum, kReplace, kCheck,
  kNewChain, kDeleteChain, kFlush, kZero, kPolicy, kRename,
};

// What each option of a parsed line was, in input order, for callers that want the rule as
// named options (parseRule in JavaScript) rather than as structs.
struct OptionTrace {
  int instance;            // -1: a generic option; else the index of the match, or
                           // the number of matches for the target
  std::string option;      // long name: "dport", "source", "to-destination"
  std::string value;       // empty for a flag
  bool has_value = false;
  bool invert = false;
  uint8_t nargs = 1;       // > 1: `value` holds that many arguments, joined by one space
  std::string written;     // the long name as written when whole (an alias too); an
                           // abbreviation gives the name it stood for
};

struct Command {
  Op op = Op::kAppend;
  std::string chain;        // empty for -F/-X/-Z of every chain
  uint32_t index = 0;       // 1-based, -I/-R/-D NUM
  std::string policy;       // -P
  std::string new_name;     // -E
  Rule rule;                // rule commands
  bool skip = false;        // -4 in ip6tables or -6 in iptables: the line is skipped
};

// Splits one restore line as iptables-restore does (add_param_to_argv): blanks separate;
// "…" quotes, and inside quotes \x is x; a backslash outside quotes is literal.
bool tokenize_line(std::string_view line, std::vector<std::string>& out, ParseError& err);

// Token storage reused from line to line: a line without `"` is split into views of the line
// itself; a quoted one is unescaped into `arena` (the views then point there).
struct TokenBuffer {
  std::vector<std::string_view> tokens;
  std::string arena;
  std::vector<std::pair<size_t, size_t>> spans;  // offset, length in arena (quoted lines)
};

// tokenize_line into views: appended to buf.tokens (not cleared), valid while `line` and
// `buf` are unchanged.
bool tokenize_line(std::string_view line, TokenBuffer& buf, ParseError& err);

// Parses one command (already tokenized, without `iptables` or `-t`).
// With `trace`, each option is also recorded there. With `opaque_ok`, an opaque marker (a
// rule iptkit printed from the kernel without a module for one of its extensions) is read
// back into its bytes: for iptkit's own re-reading of text it printed, never for user input.
bool parse_command(const std::vector<std::string>& tokens, Family family, Command& out, ParseError& err,
                   std::vector<OptionTrace>* trace = nullptr, bool opaque_ok = false);

// The same over views (tokenize_line into a TokenBuffer).
bool parse_command(const std::vector<std::string_view>& tokens, Family family, Command& out, ParseError& err,
                   std::vector<OptionTrace>* trace = nullptr, bool opaque_ok = false);

// A rule's options alone (`-p tcp --dport 80 -j ACCEPT`, no command): the rule.
// `out` is reused in place (its buffers keep their capacity, so parsing rule after rule into
// one Rule allocates little); after a refusal its content is unspecified.
bool parse_rule(std::string_view text, Family family, Rule& out, ParseError& err,
                std::vector<OptionTrace>* trace = nullptr, bool opaque_ok = false);

// Why a chain name is refused for -N/-E/`:CHAIN`, or empty when it is fine.
std::string chain_name_problem(std::string_view name, Family family);

}  // namespace dialect
}  // namespace iptkit
