// iptables-restore input, read natively (see restore.h).
#include "restore.h"

namespace iptkit {
namespace dialect {
namespace {

bool fail(ParseError& err, size_t line, std::string message, std::string token = {}, std::string expected = {}) {
  err.line = line;
  err.message = std::move(message);
  err.token = std::move(token);
  err.expected = std::move(expected);
  return false;
}

// iptables-restore splits on space, tab and newline only: a CR is part of a word.
bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view first_word(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && !is_space(s[i]) && s[i] != '\n') i++;
  return s.substr(0, i);
}

// `[P:B]` at the start of `s`: its length, or 0 when malformed. Both parts 64-bit decimals.
size_t counters_prefix(std::string_view s, uint64_t& packets, uint64_t& bytes) {
  if (s.empty() || s[0] != '[') return 0;
  size_t i = 1;
  uint64_t* dst[2] = {&packets, &bytes};
  for (int k = 0; k < 2; k++) {
    size_t from = i;
    uint64_t v = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++) {
      uint64_t d = static_cast<uint64_t>(s[i] - '0');
      if (v > (UINT64_MAX - d) / 10) return 0;
      v = v * 10 + d;
    }
    if (i == from || i >= s.size() || s[i] != (k == 0 ? ':' : ']')) return 0;
    *dst[k] = v;
    i++;
  }
  return i;
}

// How many steps the table starting at `pos` may hold, to reserve them: its lines up to the
// next COMMIT that are neither blank nor comments. A cheap upper bound for the usual input.
size_t steps_ahead(std::string_view text, size_t pos) {
  size_t count = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == 'C' && line == "COMMIT") break;
    if (is_space(line[0])) {
      size_t k = 0;
      while (k < line.size() && is_space(line[k])) k++;
      if (k == line.size()) continue;
    }
    count++;
  }
  return count;
}

// Whether a quote is open at the end of `line`, read as add_param_to_argv reads it.
bool quote_left_open(std::string_view line) {
  bool open = false, escaped = false;
  for (char c : line) {
    if (escaped) escaped = false;
    else if (open && c == '\\') escaped = true;
    else if (c == '"') open = !open;
  }
  return open && !escaped;
}

}  // namespace

const std::vector<std::string_view>* builtin_chains(std::string_view table) {
  static const std::vector<std::string_view> filter{"INPUT", "FORWARD", "OUTPUT"};
  static const std::vector<std::string_view> nat{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"};
  static const std::vector<std::string_view> mangle{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};
  static const std::vector<std::string_view> raw{"PREROUTING", "OUTPUT"};
  static const std::vector<std::string_view> security{"INPUT", "FORWARD", "OUTPUT"};
  if (table == "filter") return &filter;
  if (table == "nat") return &nat;
  if (table == "mangle") return &mangle;
  if (table == "raw") return &raw;
  if (table == "security") return &security;
  return nullptr;
}

bool parse_restore(std::string_view text, Family family, const RestoreOptions& opts, std::vector<RestoreTable>& out,
                   ParseError& err) {
  out.clear();
  RestoreTable current;
  bool open = false, skipping = false;
  size_t n = 0;
  TokenBuffer tokens;
  std::string closed;  // a line a NUL cut inside quotes, closed
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    n++;
    // iptables-restore reads a line with fgets and then as a C string: it ends at a NUL, and a
    // quote it leaves open ends there too (no line break follows to be taken into the word).
    size_t nul = raw.find('\0');
    if (nul != std::string_view::npos) {
      raw = raw.substr(0, nul);
      if (quote_left_open(raw)) raw = closed.assign(raw).append(1, '"');
    }
    // Only an empty line is skipped: one of blanks is a command without a command (iptables:
    // "no command specified"), a CR a word ("Bad argument"), and so is one cut empty by a NUL
    // (no newline left to make it blank).
    if (raw.empty() && nul == std::string_view::npos) continue;
    if (!raw.empty() && raw[0] == '#') continue;
    if (raw == "COMMIT") {
      if (!open) return fail(err, n, "COMMIT without a *table line before it", std::string(raw), "*table");
      current.commit_line = n;
      if (!skipping) out.push_back(std::move(current));
      current = RestoreTable{};
      open = skipping = false;
      continue;
    }
    if (!raw.empty() && raw[0] == '*') {
      if (open) {
        return fail(err, n, "*table while table " + current.name + " (line " + std::to_string(current.line) + ") has no COMMIT",
                    std::string(raw), "COMMIT");
      }
      std::string_view name = first_word(raw.substr(1));
      if (name.empty()) return fail(err, n, "table name missing after *", std::string(raw), "*filter, *nat, …");
      if (!builtin_chains(name)) {
        return fail(err, n,
                    std::string("can't initialize ") + (family == Family::ipv4 ? "iptables" : "ip6tables") + " table `" +
                        std::string(name) + "': Table does not exist",
                    std::string(name), "filter, nat, mangle, raw or security");
      }
      current = RestoreTable{};
      current.name = std::string(name);
      current.line = n;
      open = true;
      skipping = !opts.only_table.empty() && opts.only_table != name;
      if (!skipping) current.steps.reserve(steps_ahead(text, pos));
      continue;
    }
    if (!open) {
      return fail(err, n, "rule or chain outside a table (no *table line before it)", std::string(first_word(raw)), "*table");
    }
    if (skipping) continue;
    if (!raw.empty() && raw[0] == ':') {
      std::vector<std::string_view> parts;
      size_t i = 1;
      while (i < raw.size()) {
        while (i < raw.size() && is_space(raw[i])) i++;
        size_t from = i;
        while (i < raw.size() && !is_space(raw[i])) i++;
        if (i > from) parts.push_back(raw.substr(from, i - from));
      }
      if (parts.empty()) return fail(err, n, "chain name invalid", std::string(raw), ":CHAIN POLICY [p:b]");
      Step step;
      step.line = n;
      step.is_chain = true;
      step.chain = std::make_unique<ChainDeclaration>();
      ChainDeclaration& d = *step.chain;
      d.name = std::string(parts[0]);
      if (d.name.size() > kMaxChainName) {
        return fail(err, n, "Invalid chain name `" + d.name + "' (" + std::to_string(kMaxChainName) + " chars max)", d.name,
                    "a shorter chain name");
      }
      if (parts.size() < 2) return fail(err, n, "policy invalid", std::string(raw), "ACCEPT, DROP or -");
      std::string policy(parts[1]);
      if (policy != "-") {
        bool builtin = false;
        for (std::string_view b : *builtin_chains(current.name)) builtin = builtin || b == d.name;
        if (!builtin) {
          return fail(err, n, "Can't set policy `" + policy + "' on `" + d.name + "': Bad built-in chain name", d.name,
                      "- for a user-defined chain");
        }
        if (policy != "ACCEPT" && policy != "DROP") {
          return fail(err, n, "Can't set policy `" + policy + "' on `" + d.name + "': Bad policy name", policy, "ACCEPT or DROP");
        }
        d.policy = policy;
        if (opts.counters) {
          std::string_view c = parts.size() > 2 ? parts[2] : std::string_view();
          if (c.empty() || counters_prefix(c, d.packets, d.bytes) != c.size()) {
            return fail(err, n, "invalid policy counters for chain '" + d.name + "'", std::string(c.empty() ? raw : c),
                        "[packets:bytes]");
          }
          d.has_counters = true;
        }
      }
      current.steps.push_back(std::move(step));
      continue;
    }
    std::string_view rest = raw;
    uint64_t pp = 0, pb = 0;
    bool prefix = false;
    if (!raw.empty() && raw[0] == '[') {
      size_t len = counters_prefix(raw, pp, pb);
      if (!len) {
        return fail(err, n, "bad counters, expected [packets:bytes] before the command", std::string(first_word(raw)),
                    "[packets:bytes]");
      }
      prefix = true;
      rest = raw.substr(len);
    }
    // Parsed in place: a Step is big to move.
    Step& step = current.steps.emplace_back();
    step.line = n;
    tokens.tokens.clear();
    if (!tokenize_line(rest, tokens, err) || !parse_command(tokens.tokens, family, step.command, err)) {
      err.line = n;
      return false;
    }
    if (step.command.skip) {
      current.steps.pop_back();
      continue;
    }
    Rule& rule = step.command.rule;
    // The `[p:b]` prefix counts only with -c; an inline `-c P B` always does.
    if (prefix && opts.counters && !rule.has_counters) {
      rule.has_counters = true;
      rule.packets = pp;
      rule.bytes = pb;
    }
  }
  if (open) return fail(err, n + 1, "COMMIT expected", {}, "COMMIT");
  return true;
}

}  // namespace dialect
}  // namespace iptkit
