// iptables-restore input, read natively (see restore.h).
#include "restore.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <cstdint>
#include <mutex>

#include "../common/parallel.h"
#include "../common/prefault.h"

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

namespace {

// A command line of the input, found by the scan and parsed afterwards (on several threads
// for a large input): step `step` of table `table` of the output.
struct Pending {
  size_t table = 0, step = 0;
  std::string_view rest;  // the line after its `[p:b]` prefix
  bool prefix = false;
  uint64_t packets = 0, bytes = 0;
};

// The structure of the input, line by line: tables, COMMITs and chain declarations become
// steps of `out` at once; a command line gets an empty step and a Pending. Stops at the first
// line that breaks the structure (false, `err` set); the table open there is still put in
// `out`, so that the commands before the line can be parsed and an earlier error found.
bool scan(std::string_view text, Family family, const RestoreOptions& opts, std::vector<RestoreTable>& out,
          std::vector<Pending>& pending, std::deque<std::string>& closed, ParseError& err) {
  RestoreTable current;
  bool open = false, skipping = false;
  size_t n = 0;
  size_t pos = 0;
  auto failed = [&](bool ok) {
    if (!ok && open && !skipping) out.push_back(std::move(current));
    return ok;
  };
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
      if (quote_left_open(raw)) raw = closed.emplace_back(raw).append(1, '"');
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
        return failed(fail(err, n,
                           "*table while table " + current.name + " (line " + std::to_string(current.line) + ") has no COMMIT",
                           std::string(raw), "COMMIT"));
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
      if (parts.empty()) return failed(fail(err, n, "chain name invalid", std::string(raw), ":CHAIN POLICY [p:b]"));
      Step step;
      step.line = n;
      step.is_chain = true;
      step.chain = std::make_unique<ChainDeclaration>();
      ChainDeclaration& d = *step.chain;
      d.name = std::string(parts[0]);
      if (d.name.size() > kMaxChainName) {
        return failed(fail(err, n, "Invalid chain name `" + d.name + "' (" + std::to_string(kMaxChainName) + " chars max)",
                           d.name, "a shorter chain name"));
      }
      if (parts.size() < 2) return failed(fail(err, n, "policy invalid", std::string(raw), "ACCEPT, DROP or -"));
      std::string policy(parts[1]);
      if (policy != "-") {
        bool builtin = false;
        for (std::string_view b : *builtin_chains(current.name)) builtin = builtin || b == d.name;
        if (!builtin) {
          return failed(fail(err, n, "Can't set policy `" + policy + "' on `" + d.name + "': Bad built-in chain name",
                             d.name, "- for a user-defined chain"));
        }
        if (policy != "ACCEPT" && policy != "DROP") {
          return failed(fail(err, n, "Can't set policy `" + policy + "' on `" + d.name + "': Bad policy name", policy,
                             "ACCEPT or DROP"));
        }
        d.policy = policy;
        if (opts.counters) {
          std::string_view c = parts.size() > 2 ? parts[2] : std::string_view();
          if (c.empty() || counters_prefix(c, d.packets, d.bytes) != c.size()) {
            return failed(fail(err, n, "invalid policy counters for chain '" + d.name + "'",
                               std::string(c.empty() ? raw : c), "[packets:bytes]"));
          }
          d.has_counters = true;
        }
      }
      current.steps.push_back(std::move(step));
      continue;
    }
    Pending p;
    p.table = out.size();
    p.step = current.steps.size();
    p.rest = raw;
    if (!raw.empty() && raw[0] == '[') {
      size_t len = counters_prefix(raw, p.packets, p.bytes);
      if (!len) {
        return failed(fail(err, n, "bad counters, expected [packets:bytes] before the command",
                           std::string(first_word(raw)), "[packets:bytes]"));
      }
      p.prefix = true;
      p.rest = raw.substr(len);
    }
    current.steps.emplace_back().line = n;
    pending.push_back(p);
  }
  if (open) return failed(fail(err, n + 1, "COMMIT expected", {}, "COMMIT"));
  return true;
}

}  // namespace

bool parse_restore(std::string_view text, Family family, const RestoreOptions& opts, std::vector<RestoreTable>& out,
                   ParseError& err) {
  out.clear();
  std::vector<Pending> pending;
  std::deque<std::string> closed;  // lines a NUL cut inside quotes, closed
  ParseError scan_err;
  const bool scanned = scan(text, family, opts, out, pending, closed, scan_err);

  // The commands, in pieces that may run at once: each stops at its first bad line, or once a
  // piece before it has found one (that error is the one reported).
  std::atomic<size_t> first_bad{SIZE_MAX};
  std::mutex m;
  ParseError bad;
  auto parse = [&](size_t piece, size_t begin, size_t end) {
    // A helper makes its commands in its own malloc arena: about 4 bytes of it a byte of its
    // lines (measured: 10,000 ports), faulted in at once, as run.cc does for the calling thread.
    constexpr size_t kArenaPerLineByte = 4;
    if (piece > 0 && begin < end) {
      prefault_arena(static_cast<size_t>(pending[end - 1].rest.end() - pending[begin].rest.begin()) * kArenaPerLineByte);
    }
    TokenBuffer tokens;
    ParseError e;
    for (size_t i = begin; i < end; i++) {
      const Pending& p = pending[i];
      Step& step = out[p.table].steps[p.step];
      if (step.line > first_bad.load(std::memory_order_relaxed)) return;
      tokens.tokens.clear();
      if (!tokenize_line(p.rest, tokens, e) || !parse_command(tokens.tokens, family, step.command, e)) {
        e.line = step.line;
        std::lock_guard<std::mutex> lock(m);
        if (e.line < first_bad.load(std::memory_order_relaxed)) {
          bad = std::move(e);
          first_bad.store(step.line, std::memory_order_relaxed);
        }
        return;
      }
      Rule& rule = step.command.rule;
      // The `[p:b]` prefix counts only with -c; an inline `-c P B` always does.
      if (p.prefix && opts.counters && !rule.has_counters) {
        rule.has_counters = true;
        rule.packets = p.packets;
        rule.bytes = p.bytes;
      }
    }
  };
  // Not with offline names: they are the calling thread's (and number ipsets in the order one
  // thread meets them).
  if (opts.pieces && !offline_names()) {
    opts.pieces->run(pending.size(), opts.lines_per_piece, parse);
  } else {
    parse(0, 0, pending.size());
  }
  if (first_bad.load() != SIZE_MAX) {
    err = std::move(bad);
    return false;
  }
  if (!scanned) {
    err = std::move(scan_err);
    return false;
  }
  // -4 in ip6tables, -6 in iptables: the line is dropped.
  for (RestoreTable& t : out) {
    t.steps.erase(std::remove_if(t.steps.begin(), t.steps.end(), [](const Step& s) { return !s.is_chain && s.command.skip; }),
                  t.steps.end());
  }
  return true;
}

}  // namespace dialect
}  // namespace iptkit
