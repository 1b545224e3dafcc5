// libFuzzer target for the native iptables dialect and the commit wire (scripts/fuzz.sh builds
// and runs it).
//
// The input is iptables-restore text. It is read by dialect::parse_restore for IPv4 and IPv6,
// with and without -c, and once with -T nat; every rule command (-A/-I/-R/-C/-D RULE) is then
//   1. printed as iptables-save text (save_rule) and as `iptables -L` lines (list_rule,
//      numeric and not, verbose and not, -x, --line-numbers): no printer may crash;
//   2. re-parsed from that canonical text with parse_rule and printed again: the two texts
//      must be equal (canonical text is a fixed point), the re-parse must succeed (what
//      iptkit prints it must read back), and the -L lines of both rules must be equal too
//      (the canonical text is how rules are compared: it must not lose what -L shows).
//   3. parsed again without OfflineNames, once on one thread and once cut into one-line pieces
//      run by helper threads (common/parallel.h): both must give the same tables, steps,
//      canonical texts and counters, or the same error on the same line.
//   4. (wire_check.cc) read as a commit wire too: refused naming its line, or a plan that
//      writes back as a wire that is a fixed point.
// A broken property prints both texts on stderr and abort()s. A parse error is fine, but its
// message must not be empty.
//
// native/fuzz/replay_main.cc turns the same function into a plain program that replays files
// (test/unit/fuzz-replay.test.ts runs it over test/fuzz/corpus and test/fuzz/regressions).
//
// Compiled only by scripts/fuzz.sh (-DIPTKIT_FUZZ): the addon's CMake glob also sees this
// directory, and there the file must stay empty.
#ifdef IPTKIT_FUZZ

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/parallel.h"
#include "dialect/parse.h"
#include "dialect/print.h"
#include "dialect/restore.h"
#include "dialect/rule.h"
#include "fuzz/shown.h"
#include "restore/plan.h"

namespace iptkit::fuzz {
void check_wire(std::string_view text);  // wire_check.cc
}

namespace {

using namespace iptkit;
using namespace iptkit::dialect;

const char* family_name(Family f) { return f == Family::ipv4 ? "ipv4" : "ipv6"; }

using fuzz::shown;

[[noreturn]] void broken(const char* what, Family family, std::string_view line, std::string_view first,
                         std::string_view second) {
  fprintf(stderr,
          "\n=== restore_fuzz: %s (%s) ===\n"
          "input line:  %s\n"
          "first text:  %s\n"
          "second text: %s\n",
          what, family_name(family), shown(line).c_str(), shown(first).c_str(), shown(second).c_str());
  fflush(stderr);
  abort();
}

void check_error(const ParseError& err, const char* where, Family family, std::string_view text) {
  if (!err.message.empty()) return;
  fprintf(stderr, "\n=== restore_fuzz: %s failed with an empty message (%s) ===\ninput: %s\n", where,
          family_name(family), shown(text.substr(0, 4096)).c_str());
  fflush(stderr);
  abort();
}

// Every -L form of one rule, concatenated.
std::string listings(const Rule& rule, Family family) {
  std::string out;
  uint32_t num = 1;
  for (int numeric = 0; numeric < 2; numeric++) {
    for (int verbose = 0; verbose < 2; verbose++) {
      ListOptions o;
      o.numeric = numeric;
      o.verbose = verbose;
      o.exact = verbose && numeric;
      o.line_numbers = !numeric;
      list_rule(rule, num++, family, o, out);
    }
  }
  return out;
}

// The 1-based line `n` of `text`, for the report.
std::string_view input_line(std::string_view text, size_t n) {
  size_t pos = 0;
  for (size_t k = 1; pos <= text.size(); k++) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (k == n) return text.substr(pos, end - pos);
    pos = end + 1;
  }
  return {};
}

bool is_rule_command(Op op) {
  switch (op) {
    case Op::kAppend:
    case Op::kInsert:
    case Op::kDelete:
    case Op::kReplace:
    case Op::kCheck:
      return true;
    default:
      return false;
  }
}

// Whether an interface name holds a blank the restore tokenizer splits words at. iptables 1.8.9
// accepts such a name (warning that the kernel allows neither ' ' nor '/') and iptables-save
// prints it as it is, so neither tool's text of the rule reads back as the same rule.
bool blank_in(const char* name) {
  for (size_t i = 0; i < IFNAMSIZ && name[i]; i++) {
    if (name[i] == ' ' || name[i] == '\t' || name[i] == '\n') return true;
  }
  return false;
}

// `text` and `lineno` only name the input line in a report.
void check_rule(const Rule& rule, Family family, std::string_view text, size_t lineno) {
  std::string first;
  save_rule(rule, family, first);
  std::string list1 = listings(rule, family);
  // Printed and listed (neither may crash), but not read back: see blank_in.
  if (blank_in(rule.ip.iniface) || blank_in(rule.ip.outiface)) return;

  // save_rule's text starts with a space before each option; parse_rule takes it as is.
  Rule again;
  ParseError err;
  if (!parse_rule(first, family, again, err)) {
    check_error(err, "parse_rule of canonical text", family, first);
    broken(("canonical text does not parse back: " + err.message + " [token: " + err.token + "]").c_str(), family,
           input_line(text, lineno), first, "");
  }
  std::string second;
  save_rule(again, family, second);
  if (first != second) broken("canonical text is not a fixed point", family, input_line(text, lineno), first, second);
  // Counters are not part of the canonical text; -v prints them.
  again.has_counters = rule.has_counters;
  again.packets = rule.packets;
  again.bytes = rule.bytes;
  std::string list2 = listings(again, family);
  if (list1 != list2) broken("same canonical text, different -L listing", family, input_line(text, lineno), list1, list2);
}

// The steps run by the restore planner onto a table the kernel does not have, with and without
// -n: whatever it accepts must read back as a table (the read wire's form), and without -n,
// planning the same input against those results (as the back ends would, keeping by position
// or by handle) must succeed; whatever it refuses names a line of the input.
void check_planner(const std::vector<RestoreTable>& tables, Family family, const RestoreOptions& ropts,
                   std::string_view text) {
  for (bool noflush : {false, true}) {
    restore::Options opts;
    opts.family = family;
    opts.noflush = noflush;
    opts.counters = ropts.counters || restore::carries_counters(tables);
    std::vector<restore::CurrentTable> results(tables.size());
    bool all = true;
    for (size_t i = 0; i < tables.size(); i++) {
      std::string wire;
      std::vector<uint64_t> counters;
      restore::CurrentTable none;
      none.name = tables[i].name;
      ParseError err;
      if (!restore::restore_result(tables[i], none, opts, wire, counters, err)) {
        check_error(err, "restore_result", family, text);
        all = false;
        continue;
      }
      results[i].name = tables[i].name;
      std::string shown = wire.substr(0, 200);
      if (OpError e = restore::current_from_read(std::move(wire), counters, {}, results[i])) {
        broken("a restore result does not read back", family, tables[i].name, e.message, shown);
      }
    }
    // Without -n a restore starts from the built-in chains whatever the table holds, so what ran
    // onto nothing runs onto anything; with -n an `-N X` onto its own result rightly fails.
    if (!all || noflush) continue;
    for (bool handles : {false, true}) {
      opts.keeps_are_handles = handles;
      opts.flush_remakes_table = handles && !noflush;
      std::vector<commit::TablePlan> plans;
      std::vector<restore::TableOutcome> outcome;
      ParseError err;
      if (!restore::plan_restore(tables, results, opts, plans, outcome, err)) {
        broken("steps that ran onto nothing cannot be planned onto their own result", family, tables[0].name,
               err.message, "");
      }
    }
  }
}

// IPTKIT_FUZZ_VERBOSE=1: one line per parse on stderr (what a seed exercises).
const bool kVerbose = getenv("IPTKIT_FUZZ_VERBOSE") != nullptr;

void run(std::string_view text, Family family, const RestoreOptions& opts) {
  std::vector<RestoreTable> tables;
  ParseError err;
  if (!parse_restore(text, family, opts, tables, err)) {
    check_error(err, "parse_restore", family, text);
    if (kVerbose) {
      fprintf(stderr, "  %s%s%s: line %zu: %s [token: %s]\n", family_name(family), opts.counters ? " -c" : "",
              opts.only_table.empty() ? "" : " -T", err.line, err.message.c_str(), shown(err.token).c_str());
    }
    return;
  }
  size_t rules = 0;
  for (const RestoreTable& t : tables) {
    for (const Step& s : t.steps) {
      if (s.is_chain || !is_rule_command(s.command.op)) continue;
      check_rule(s.command.rule, family, text, s.line);
      rules++;
    }
  }
  check_planner(tables, family, opts, text);
  if (kVerbose) {
    fprintf(stderr, "  %s%s%s: %zu tables, %zu rules checked\n", family_name(family), opts.counters ? " -c" : "",
            opts.only_table.empty() ? "" : " -T", tables.size(), rules);
  }
}

// Everything a parse gives, as text: its error, or per table every step and rule.
std::string parse_outcome(std::string_view text, Family family, const RestoreOptions& opts) {
  std::vector<RestoreTable> tables;
  ParseError err;
  if (!parse_restore(text, family, opts, tables, err)) {
    return "error line " + std::to_string(err.line) + ": " + err.message + " [" + err.token + "] [" + err.expected + "]";
  }
  std::string out;
  for (const RestoreTable& t : tables) {
    out += "*" + t.name + " " + std::to_string(t.line) + "-" + std::to_string(t.commit_line) + "\n";
    for (const Step& s : t.steps) {
      out += std::to_string(s.line);
      if (s.is_chain) {
        const ChainDeclaration& d = *s.chain;
        out += " :" + d.name + " " + d.policy + " " + std::to_string(d.has_counters) + " " + std::to_string(d.packets) +
               " " + std::to_string(d.bytes) + "\n";
        continue;
      }
      const Command& c = s.command;
      out += " op" + std::to_string(static_cast<int>(c.op)) + " " + c.chain + " " + std::to_string(c.index) + " " +
             c.policy + " " + c.new_name + " " + std::to_string(c.skip);
      if (is_rule_command(c.op)) {
        out += " [" + std::to_string(c.rule.has_counters) + ":" + std::to_string(c.rule.packets) + ":" +
               std::to_string(c.rule.bytes) + "]";
        save_rule(c.rule, family, out);
      }
      out += "\n";
    }
  }
  return out;
}

// Property 3: the parse cut into pieces on helper threads is the parse on one thread.
void check_pieces(std::string_view text, Family family, bool counters) {
  static const Pieces pieces;
  RestoreOptions one;
  one.counters = counters;
  RestoreOptions cut = one;
  cut.pieces = &pieces;
  cut.lines_per_piece = 1;
  std::string a = parse_outcome(text, family, one), b = parse_outcome(text, family, cut);
  if (a != b) broken("a parse in pieces differs from the parse on one thread", family, text.substr(0, 200), a, b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    iptkit::dialect::OfflineNames offline;  // ipset names: no kernel is asked
    for (Family family : {Family::ipv4, Family::ipv6}) {
      for (bool counters : {false, true}) {
        RestoreOptions opts;
        opts.counters = counters;
        run(text, family, opts);
      }
    }
    RestoreOptions only_nat;
    only_nat.only_table = "nat";
    run(text, Family::ipv4, only_nat);
    iptkit::fuzz::check_wire(text);
  }
  // Without OfflineNames: they number ipsets in the order one thread meets them, and helper
  // threads have none. An ipset name is then asked of this namespace's kernel, by every thread.
  check_pieces(text, Family::ipv4, true);
  check_pieces(text, Family::ipv6, false);
  return 0;
}

#endif  // IPTKIT_FUZZ
