// The commit wire's parser (commit/wire.cc) under the fuzzer: restore_fuzz.cc hands every input
// to check_wire as well. Its input is what the library's TypeScript writes, but the rule texts
// in it come from users, and a wire is framing that C++ splits by hand. For IPv4 and IPv6:
//   1. parse_wire may refuse the input, with a message that names the table's wire line;
//   2. what it accepts is a plan whose items name rules it holds, whose chains are named once
//      and whose `lines=` chains hold texts only;
//   3. that plan written back as a wire (canonical rule texts, keep and keeprun records as
//      parsed) parses again, and writes the same wire: the wire is a fixed point too.
// A broken property prints both wires on stderr and abort()s.
#ifdef IPTKIT_FUZZ

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "commit/plan.h"
#include "commit/wire.h"
#include "dialect/print.h"
#include "dialect/rule.h"
#include "fuzz/shown.h"

namespace iptkit::fuzz {
namespace {



[[noreturn]] void broken(const char* what, Family family, std::string_view first, std::string_view second) {
  fprintf(stderr, "\n=== wire_fuzz: %s (%s) ===\nfirst:  %s\nsecond: %s\n", what,
          family == Family::ipv4 ? "ipv4" : "ipv6", shown(first).c_str(), shown(second).c_str());
  fflush(stderr);
  abort();
}

// A blank in an interface name: the rule's canonical text does not read back (restore_fuzz.cc).
bool blank_in(const char* name) {
  for (size_t i = 0; i < IFNAMSIZ && name[i]; i++) {
    if (name[i] == ' ' || name[i] == '\t' || name[i] == '\n') return true;
  }
  return false;
}

// The plan as a wire (docs/wire.md), or false when a rule's text cannot be written back.
bool wire_of(const commit::TablePlan& plan, Family family, std::string& out) {
  out = "table\t" + plan.name + (family == Family::ipv4 ? "\tfamily=ipv4" : "\tfamily=ipv6");
  if (plan.append) out += "\tappend=1";
  out += '\n';
  for (const commit::ChainPlan& c : plan.chains) {
    out += "chain\t" + c.name;
    if (!c.policy.empty()) out += "\tpolicy=" + c.policy;
    if (c.has_counters) out += "\tpkts=" + std::to_string(c.packets) + "\tbytes=" + std::to_string(c.bytes);
    if (c.has_was) out += "\twas=" + std::to_string(c.was);
    if (c.has_lines) out += "\tlines=" + std::to_string(c.lines.size());
    out += '\n';
    for (std::string_view l : c.lines) {
      out.append(l);
      out += '\n';
    }
    for (size_t i = 0; i < c.items.size(); i++) {
      const commit::Item& it = c.items[i];
      if (it.keep && it.position) {
        // A run as TypeScript writes it: positions one after another in one record.
        size_t n = 1;
        while (i + n < c.items.size() && c.items[i + n].keep && c.items[i + n].position && c.items[i + n].at == it.at + n) n++;
        out += "keeprun\t" + std::to_string(it.at) + "\t" + std::to_string(n) + "\n";
        i += n - 1;
        continue;
      }
      if (it.keep) {
        out += "keep\t" + std::to_string(it.at) + "\n";
        continue;
      }
      const commit::NewRule& nr = plan.rules[it.rule];
      if (blank_in(nr.rule->ip.iniface) || blank_in(nr.rule->ip.outiface)) return false;
      std::string text;
      dialect::save_rule(*nr.rule, family, text);
      if (!text.empty() && text[0] == ' ') text.erase(0, 1);
      out += "rule\t" + std::to_string(nr.packets) + "\t" + std::to_string(nr.bytes) + "\t" + text + "\n";
    }
  }
  return true;
}

void check_plan(const commit::TablePlan& plan, Family family, std::string_view text) {
  std::set<std::string> names;
  for (const commit::ChainPlan& c : plan.chains) {
    if (c.name.empty() || !names.insert(c.name).second) broken("a chain unnamed or named twice", family, text, c.name);
    if (c.has_lines && !c.items.empty()) broken("a lines= chain with keep or rule records", family, text, c.name);
    size_t keeps = 0;
    for (const commit::Item& it : c.items) {
      if (it.keep) keeps++;
      else if (it.rule >= plan.rules.size() || !plan.rules[it.rule].rule) broken("an item names no rule", family, text, c.name);
    }
    if (keeps != c.keeps) broken("a chain's keep count is not its keep items'", family, text, c.name);
  }
}

// IPTKIT_FUZZ_VERBOSE=1: one line per parse on stderr (what a seed exercises).
const bool kVerbose = getenv("IPTKIT_FUZZ_VERBOSE") != nullptr;

void check_family(std::string_view text, Family family) {
  commit::TablePlan plan;
  OpError err = commit::parse_wire(text, family, plan);
  if (kVerbose) {
    fprintf(stderr, "  wire %s: %s\n", family == Family::ipv4 ? "ipv4" : "ipv6",
            err ? err.message.c_str() : ("a plan of " + std::to_string(plan.chains.size()) + " chains, " +
                                         std::to_string(plan.rules.size()) + " new rules").c_str());
  }
  if (err) {
    if (err.message.rfind("table ", 0) != 0 || err.message.find(" wire line ") == std::string::npos) {
      broken("a refusal that does not name the table's wire line", family, text, err.message);
    }
    return;
  }
  check_plan(plan, family, text);
  std::string first;
  if (!wire_of(plan, family, first)) return;
  commit::TablePlan again;
  if (OpError e = commit::parse_wire(first, family, again)) broken("a wire written from a plan does not parse", family, first, e.message);
  std::string second;
  if (!wire_of(again, family, second)) broken("a rule written back cannot be written again", family, first, "");
  if (first != second) broken("the wire is not a fixed point", family, first, second);
}

}  // namespace

void check_wire(std::string_view text) {
  for (Family family : {Family::ipv4, Family::ipv6}) check_family(text, family);
}

}  // namespace iptkit::fuzz

#endif  // IPTKIT_FUZZ
