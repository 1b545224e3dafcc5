// iptables-restore's steps run against the tables as read, planned as the smallest commit
// (see plan.h). The semantics are iptables-restore 1.8.9's, checked against it by the
// restore oracle tests: without -n every chain is flushed and the user chains deleted first;
// policies stay unless a line sets them; counters are zero unless given (-c).
#include "plan.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>

#include "../dialect/print.h"

namespace iptkit::restore {
namespace {

using dialect::Op;
using dialect::ParseError;

// A rule of a chain while the steps run: a rule of the current table (origin ≥ 0), or a new
// one (rule set). An old rule whose text had to change (a rename of the chain it jumps to) or
// whose counters were zeroed is re-sent as a new rule, parsed back from its text.
struct Item {
  int32_t origin = -1;  // index of the current chain the rule is in
  uint32_t old = 0;     // its position there
  const dialect::Rule* rule = nullptr;
  bool has_counters = false;
  uint64_t packets = 0, bytes = 0;
  uint32_t line = 0;
  bool rewritten = false;
  const std::string* text = nullptr;  // its canonical text once computed or rewritten (texts_)
};

struct Working {
  std::string name;
  bool builtin = false;
  std::string policy;
  uint64_t packets = 0, bytes = 0;  // the policy counters
  bool declared = false;            // a policy line of this input names it
  std::vector<Item> items;
};

class Planner {
 public:
  Planner(const dialect::RestoreTable& parsed, const CurrentTable& current, const Options& opts,
          commit::TablePlan& out, TableOutcome& outcome, ParseError& err)
      : parsed_(parsed), current_(current), opts_(opts), out_(out), outcome_(outcome), err_(err) {}

  bool run() { return steps() && finish(); }

  // The table the steps leave, as a read gives it (docs/wire.md "Read"): chains in the
  // kernel's order, rules as canonical texts with their counters.
  bool result(std::string& wire, std::vector<uint64_t>& counters) {
    if (!steps()) return false;
    wire = "table\t" + parsed_.name + "\t" + (opts_.family == Family::ipv4 ? "ipv4" : "ipv6") + "\n";
    counters.clear();
    auto chain = [&](Working& w) {
      wire += "chain\t" + w.name + "\t";
      if (w.builtin) {
        wire += w.policy + "\t" + std::to_string(w.packets) + "\t" + std::to_string(w.bytes);
      } else {
        wire += "-\t" + std::to_string(references(w.name));
      }
      wire += "\t" + std::to_string(w.items.size()) + "\n";
      for (Item& it : w.items) {
        wire += text_of(it);
        wire += '\n';
        const bool own = it.has_counters || it.origin < 0;
        const CurrentRule* cr = own ? nullptr : &current_.chains[it.origin].rules[it.old];
        counters.push_back(own ? it.packets : cr->packets);
        counters.push_back(own ? it.bytes : cr->bytes);
      }
    };
    for (std::string_view b : *builtins_) chain(*find(b));
    for (auto& [name, c] : chains_) if (!c.builtin) chain(c);
    return true;
  }

 private:
  bool steps() {
    builtins_ = dialect::builtin_chains(parsed_.name);
    if (!builtins_) return fail(parsed_.line, "can't initialize table `" + parsed_.name + "': Table does not exist", parsed_.name);
    tool_ = opts_.family == Family::ipv4 ? "iptables-restore" : "ip6tables-restore";
    start();
    // Room for each chain's appends up front: a 20,000-rule chain grown by doubling touches
    // twice the memory, and fresh pages are what a large restore spends its time on.
    for (const dialect::Step& step : parsed_.steps) {
      if (!step.is_chain && step.command.op == Op::kAppend) appends_[step.command.chain]++;
    }
    for (auto& [name, w] : chains_) reserve(w);
    for (const dialect::Step& step : parsed_.steps) {
      if (!(step.is_chain ? declare(step) : command(step))) return false;
    }
    return true;
  }

  void reserve(Working& w) {
    auto it = appends_.find(w.name);
    if (it != appends_.end()) w.items.reserve(w.items.size() + it->second);
  }

  bool fail(size_t line, std::string message, std::string token = {}) {
    err_.line = line;
    err_.message = std::move(message);
    err_.token = std::move(token);
    return false;
  }
  bool failed(size_t line, const std::string& why, std::string token = {}) {
    return fail(line, std::string(tool_) + ": line " + std::to_string(line) + " failed: " + why, std::move(token));
  }
  bool is_builtin(std::string_view name) const {
    return std::find(builtins_->begin(), builtins_->end(), name) != builtins_->end();
  }
  Working* find(std::string_view name) {
    auto it = chains_.find(name);
    return it == chains_.end() ? nullptr : &it->second;
  }
  Working* need(size_t line, const std::string& name) {
    Working* c = find(name);
    if (!c) failed(line, "chain `" + name + "' does not exist", name);
    return c;
  }

  // The table before the first step: as read with -n, else its built-in chains, empty.
  void start() {
    if (opts_.noflush && current_.exists) {
      for (size_t ci = 0; ci < current_.chains.size(); ci++) {
        const CurrentChain& cc = current_.chains[ci];
        Working& w = chains_[cc.name];
        w.name = cc.name;
        w.builtin = cc.builtin;
        if (cc.builtin) {
          w.policy = cc.policy;
          // Observed with iptables-legacy-restore -n 1.8.9: without -c the built-in policies'
          // counters come back zero, while rule counters survive.
          if (opts_.counters) w.packets = cc.packets, w.bytes = cc.bytes;
        }
        w.items.resize(cc.rules.size());
        for (uint32_t i = 0; i < cc.rules.size(); i++) {
          w.items[i].origin = static_cast<int32_t>(ci);
          w.items[i].old = i;
        }
      }
    }
    for (std::string_view b : *builtins_) {
      Working& w = chains_[std::string(b)];
      if (!w.name.empty()) continue;
      w.name = std::string(b);
      w.builtin = true;
      const CurrentChain* cc = current_.exists ? current_.find(b) : nullptr;
      w.policy = cc && !opts_.flush_remakes_table ? cc->policy : "ACCEPT";
    }
  }

  std::string_view text_of(Item& it) {
    if (it.text) return *it.text;
    if (it.origin >= 0) return current_.chains[it.origin].rules[it.old].text;
    std::string& t = texts_.emplace_back();
    dialect::save_rule(*it.rule, opts_.family, t);
    if (!t.empty() && t[0] == ' ') t.erase(0, 1);
    it.text = &t;
    return t;
  }

  // The chain a rule jumps to (-j/-g CHAIN), or empty.
  std::string_view jump_of(Item& it) {
    if (it.origin < 0 || it.text) {
      if (it.rule && (it.rule->target_kind == dialect::TargetKind::kJump || it.rule->target_kind == dialect::TargetKind::kGoto)) {
        return it.rule->target_name;
      }
      if (it.rule) return {};
    }
    // An old rule: its text ends in `-j CHAIN` or `-g CHAIN` when it jumps.
    std::string_view t = text_of(it);
    size_t sp = t.rfind(' ');
    if (sp == std::string_view::npos || sp < 2) return {};
    std::string_view flag = sp == 2 ? t.substr(0, 3) : t.substr(sp - 3, 4);
    if (flag != "-j " && flag != "-g " && flag != " -j " && flag != " -g ") return {};
    std::string_view name = t.substr(sp + 1);
    return chains_.count(name) ? name : std::string_view();
  }

  size_t references(std::string_view name) {
    size_t refs = 0;
    for (auto& [_, c] : chains_) {
      for (Item& it : c.items) refs += jump_of(it) == name;
    }
    return refs;
  }

  bool check_jump(size_t line, const dialect::Rule& rule) {
    if (rule.target_kind != dialect::TargetKind::kJump && rule.target_kind != dialect::TargetKind::kGoto) return true;
    const std::string& to = rule.target_name;
    if (!find(to)) {
      return fail(line, "Couldn't load target `" + to +
                            "': No such file or directory (no chain and no target iptkit understands has that name)", to);
    }
    if (is_builtin(to)) return failed(line, "cannot jump to the built-in chain `" + to + "'", to);
    return true;
  }

  Item new_item(const dialect::Step& step) {
    Item it;
    it.rule = &step.command.rule;
    it.line = static_cast<uint32_t>(step.line);
    if (step.command.rule.has_counters) {
      it.has_counters = true;
      it.packets = step.command.rule.packets;
      it.bytes = step.command.rule.bytes;
    }
    return it;
  }

  bool declare(const dialect::Step& step) {
    const dialect::ChainDeclaration& d = *step.chain;
    if (is_builtin(d.name)) {
      Working& c = chains_[d.name];
      if (!d.policy.empty()) {
        c.policy = d.policy;
        c.declared = true;
        // iptables-restore always passes counters with a policy: zero unless -c gave them.
        c.packets = opts_.counters && d.has_counters ? d.packets : 0;
        c.bytes = opts_.counters && d.has_counters ? d.bytes : 0;
      }
      return true;
    }
    if (Working* c = find(d.name)) {
      if (!(opts_.noflush && current_.exists)) return failed(step.line, "error creating chain '" + d.name + "': File exists", d.name);
      c->items.clear();
      return true;
    }
    Working& c = chains_[d.name];
    c.name = d.name;
    reserve(c);
    return true;
  }

  bool command(const dialect::Step& step) {
    const dialect::Command& cmd = step.command;
    const size_t line = step.line;
    switch (cmd.op) {
      case Op::kAppend: {
        Working* c = need(line, cmd.chain);
        if (!c || !check_jump(line, cmd.rule)) return false;
        c->items.push_back(new_item(step));
        return true;
      }
      case Op::kInsert: {
        Working* c = need(line, cmd.chain);
        if (!c) return false;
        if (cmd.index > c->items.size() + 1) {
          return failed(line, "Index of insertion too big (" + std::to_string(cmd.index) + " in a chain of " +
                                  std::to_string(c->items.size()) + ")");
        }
        if (!check_jump(line, cmd.rule)) return false;
        c->items.insert(c->items.begin() + (cmd.index - 1), new_item(step));
        return true;
      }
      case Op::kReplace: {
        Working* c = need(line, cmd.chain);
        if (!c) return false;
        if (cmd.index > c->items.size()) {
          return failed(line, "Index of replacement too big (" + std::to_string(cmd.index) + " in a chain of " +
                                  std::to_string(c->items.size()) + ")");
        }
        if (!check_jump(line, cmd.rule)) return false;
        c->items[cmd.index - 1] = new_item(step);
        return true;
      }
      case Op::kDelete:
      case Op::kCheck: {
        Working* c = need(line, cmd.chain);
        if (!c) return false;
        std::string want;
        dialect::save_rule(cmd.rule, opts_.family, want);
        if (!want.empty() && want[0] == ' ') want.erase(0, 1);
        size_t at = 0;
        while (at < c->items.size() && text_of(c->items[at]) != want) at++;
        if (at == c->items.size()) return failed(line, "Bad rule (does a matching rule exist in that chain?)");
        if (cmd.op == Op::kDelete) c->items.erase(c->items.begin() + at);
        return true;
      }
      case Op::kDeleteNum: {
        Working* c = need(line, cmd.chain);
        if (!c) return false;
        if (cmd.index > c->items.size()) {
          return failed(line, "Index of deletion too big (" + std::to_string(cmd.index) + " in a chain of " +
                                  std::to_string(c->items.size()) + ")");
        }
        c->items.erase(c->items.begin() + (cmd.index - 1));
        return true;
      }
      case Op::kNewChain: {
        if (find(cmd.chain)) return failed(line, "Chain already exists: " + cmd.chain, cmd.chain);
        Working& c = chains_[cmd.chain];
        c.name = cmd.chain;
        reserve(c);
        return true;
      }
      case Op::kDeleteChain: {
        std::vector<std::string> names;
        if (!cmd.chain.empty()) {
          names.push_back(cmd.chain);
        } else {
          for (auto& [name, c] : chains_) if (!c.builtin) names.push_back(name);
        }
        for (const std::string& name : names) {
          Working* c = need(line, name);
          if (!c) return false;
          if (c->builtin) return failed(line, "cannot delete the built-in chain " + name, name);
          if (!c->items.empty()) {
            return failed(line, "Directory not empty: chain " + name + " still holds " + std::to_string(c->items.size()) +
                                    " rule(s)", name);
          }
          if (size_t refs = references(name)) {
            return failed(line, "Too many links: chain " + name + " is still referenced by " + std::to_string(refs) +
                                    " rule(s)", name);
          }
          chains_.erase(name);
        }
        return true;
      }
      case Op::kFlush: {
        if (!cmd.chain.empty()) {
          Working* c = need(line, cmd.chain);
          if (!c) return false;
          c->items.clear();
        } else {
          for (auto& [_, c] : chains_) c.items.clear();
        }
        return true;
      }
      case Op::kZero: {
        auto zero = [&](Working& c) {
          for (Item& it : c.items) {
            it.has_counters = true;
            it.packets = it.bytes = 0;
            if (it.origin >= 0) it.rewritten = true;
          }
          c.packets = c.bytes = 0;
        };
        if (!cmd.chain.empty()) {
          Working* c = need(line, cmd.chain);
          if (!c) return false;
          zero(*c);
        } else {
          for (auto& [_, c] : chains_) zero(c);
        }
        return true;
      }
      case Op::kPolicy: {
        Working* c = need(line, cmd.chain);
        if (!c) return false;
        if (!c->builtin) return failed(line, "Bad built-in chain name: " + cmd.chain, cmd.chain);
        c->policy = cmd.policy;
        c->declared = true;
        return true;
      }
      case Op::kRename: {
        Working* c = need(line, cmd.chain);
        if (!c) return false;
        if (c->builtin) return failed(line, "cannot rename the built-in chain " + cmd.chain, cmd.chain);
        if (find(cmd.new_name)) return failed(line, "File exists: chain " + cmd.new_name, cmd.new_name);
        // Rules that jump to it now jump to the new name: their texts change.
        for (auto& [_, other] : chains_) {
          for (Item& it : other.items) {
            if (jump_of(it) != cmd.chain) continue;
            if (it.origin >= 0 && !it.text) {
              std::string_view t = text_of(it);
              it.text = &texts_.emplace_back(std::string(t.substr(0, t.size() - cmd.chain.size())) + cmd.new_name);
              it.rewritten = true;
              it.rule = nullptr;
            } else if (it.rule) {
              dialect::Rule& copy = out_.owned.emplace_back(*it.rule);
              copy.target_name = cmd.new_name;
              it.rule = &copy;
              it.text = nullptr;
            } else {
              it.text = &texts_.emplace_back(it.text->substr(0, it.text->size() - cmd.chain.size()) + cmd.new_name);
            }
          }
        }
        Working moved = std::move(*c);
        chains_.erase(cmd.chain);
        moved.name = cmd.new_name;
        chains_[cmd.new_name] = std::move(moved);
        return true;
      }
    }
    return true;
  }

  // An old rule that cannot be kept where it is: re-sent as new, parsed back from its text.
  bool materialize(Item& it) {
    if (it.rule) return true;
    std::string_view text = text_of(it);
    if (!text.empty() && text[0] == '#') {
      return fail(parsed_.commit_line, "table " + parsed_.name + ": a rule written by nft cannot be moved or rewritten (" +
                                           std::string(text) + ")");
    }
    dialect::Rule& r = out_.owned.emplace_back();
    ParseError perr;
    if (!dialect::parse_rule(text, opts_.family, r, perr, nullptr, /*opaque_ok=*/true)) {
      return fail(parsed_.commit_line, "table " + parsed_.name + ": cannot re-send the rule `" + std::string(text) + "': " + perr.message);
    }
    if (it.origin >= 0 && !it.has_counters) {
      const CurrentRule& cr = current_.chains[it.origin].rules[it.old];
      it.has_counters = true;
      it.packets = cr.packets;
      it.bytes = cr.bytes;
    }
    it.rule = &r;
    return true;
  }

  bool add_new(commit::ChainPlan& cp, Item& it) {
    if (!materialize(it)) return false;
    cp.items.push_back(commit::Item{false, 0, out_.rules.size()});
    out_.rules.push_back(commit::NewRule{it.rule, it.has_counters ? it.packets : 0, it.has_counters ? it.bytes : 0, it.line});
    outcome_.added++;
    return true;
  }
  void add_keep(commit::ChainPlan& cp, const CurrentChain& cc, uint32_t i) {
    cp.items.push_back(commit::Item{true, opts_.keeps_are_handles ? cc.rules[i].handle : i, 0});
    cp.keeps++;
    outcome_.kept++;
  }

  // The rules of chain `w`, planned against its current rules `cc` (null: not in the kernel).
  bool plan_rules(Working& w, const CurrentChain* cc, commit::ChainPlan& cp) {
    const int32_t origin = cc ? static_cast<int32_t>(cc - current_.chains.data()) : -1;
    auto keepable = [&](const Item& it) { return it.origin >= 0 && it.origin == origin && !it.rewritten; };
    if (!cc || cc->rules.empty()) {
      for (Item& it : w.items) if (!add_new(cp, it)) return false;
      return true;
    }
    std::vector<bool> covered(cc->rules.size(), false);
    bool any_new = false;
    for (const Item& it : w.items) {
      if (keepable(it)) covered[it.old] = true;
      else any_new = true;
    }
    bool uncovered = false, foreign_uncovered = false;
    for (size_t i = 0; i < cc->rules.size(); i++) {
      if (covered[i]) continue;
      uncovered = true;
      foreign_uncovered |= cc->rules[i].foreign();
    }
    const bool around_foreign = !opts_.counters && foreign_uncovered;
    if (!around_foreign && (opts_.counters || !any_new || !uncovered)) {
      for (Item& it : w.items) {
        if (keepable(it)) add_keep(cp, *cc, it.old);
        else if (!add_new(cp, it)) return false;
      }
      return true;
    }
    // A chain rewritten (flushed and refilled, or rules replaced): keep every rule whose
    // text stays, in order, so that its counters survive.
    return order_chain(*cc, want_texts(w), around_foreign, keep_fn(cp, *cc), [&](size_t j) { return add_new(cp, w.items[j]); });
  }

  std::vector<std::string_view> want_texts(Working& w) {
    std::vector<std::string_view> want(w.items.size());
    for (size_t j = 0; j < want.size(); j++) want[j] = text_of(w.items[j]);
    return want;
  }
  std::function<void(uint32_t)> keep_fn(commit::ChainPlan& cp, const CurrentChain& cc) {
    return [this, &cp, &cc](uint32_t i) { add_keep(cp, cc, i); };
  }

  bool finish() {
    out_.name = parsed_.name;
    out_.line_word = "line";
    out_.commit_line = parsed_.commit_line;
    size_t items = 0;
    for (auto& [_, c] : chains_) items += c.items.size();
    out_.rules.reserve(items);
    bool& unchanged = outcome_.unchanged;
    for (const CurrentChain& cc : current_.chains) {
      outcome_.before += cc.rules.size();
      // User chains the steps deleted (or, without -n, never declared again) go.
      if (!cc.builtin && !find(cc.name)) unchanged = false;
    }
    if (!current_.exists) unchanged = false;
    std::vector<Working*> order;
    for (std::string_view b : *builtins_) order.push_back(find(b));
    for (auto& [name, c] : chains_) if (!c.builtin) order.push_back(&c);
    const bool counters_given = opts_.set_policy_counters || opts_.counters || opts_.flush_remakes_table;
    for (Working* w : order) {
      const CurrentChain* cc = current_.exists ? current_.find(w->name) : nullptr;
      if (opts_.flush_remakes_table && w->builtin && w->items.empty() && !w->declared) {
        // Not made again: a commit without it deletes it (it reads as ACCEPT [0:0] either way).
        if (cc) unchanged = false;
        continue;
      }
      // nf_tables creates a built-in chain only when something needs it; one it does not
      // have reads as ACCEPT with zero counters, as iptables-nft-save shows it.
      const bool absent_builtin = opts_.keeps_are_handles && w->builtin && current_.exists && !cc;
      commit::ChainPlan& cp = out_.chains.emplace_back();
      cp.name = w->name;
      cp.items.reserve(w->items.size() + (cc ? cc->rules.size() : 0));
      if (!plan_rules(*w, cc, cp)) return false;
      if (w->builtin) {
        const std::string cur_policy = cc ? cc->policy : "ACCEPT";
        const uint64_t cur_p = cc ? cc->packets : 0, cur_b = cc ? cc->bytes : 0;
        const bool policy_changed = w->policy != cur_policy;
        const bool counters_changed = counters_given && (w->packets != cur_p || w->bytes != cur_b);
        if (policy_changed || counters_changed || (!cc && !absent_builtin)) {
          cp.policy = w->policy;
          if (counters_given) {
            cp.has_counters = true;
            cp.packets = w->packets;
            cp.bytes = w->bytes;
          }
          unchanged = false;
        }
      }
      if (cc) {
        cp.has_was = true;
        cp.was = cc->rules.size();
      } else if (!absent_builtin) {
        unchanged = false;
      }
      if (unchanged) {
        bool same = cp.items.size() == (cc ? cc->rules.size() : 0);
        for (size_t i = 0; same && i < cp.items.size(); i++) {
          same = cp.items[i].keep && (opts_.keeps_are_handles ? cp.items[i].at == cc->rules[i].handle : cp.items[i].at == i);
        }
        if (!same) unchanged = false;
      }
      // nf_tables: a built-in chain the kernel does not have stays uncreated unless something
      // is put in it (as iptables-nft-restore leaves it).
      const bool not_there = opts_.keeps_are_handles && w->builtin && !cc;
      if (not_there && cp.items.empty() && (cp.policy.empty() || (cp.policy == "ACCEPT" && !cp.has_counters))) {
        out_.chains.pop_back();
      }
    }
    return true;
  }

  const dialect::RestoreTable& parsed_;
  const CurrentTable& current_;
  const Options& opts_;
  commit::TablePlan& out_;
  TableOutcome& outcome_;
  ParseError& err_;
  const std::vector<std::string_view>* builtins_ = nullptr;
  const char* tool_ = "";
  std::map<std::string, Working, std::less<>> chains_;
  std::deque<std::string> texts_;
  std::map<std::string_view, size_t> appends_;  // -A lines per chain
};

}  // namespace

// For each desired position, the current index kept there or -1: a longest common
// subsequence by Hunt–Szymanski (an LIS over matching pairs; about one pair per rule, since
// rule sets rarely hold duplicates). O(n log n).
std::vector<int64_t> keep_plan(const std::vector<std::string_view>& current, const std::vector<std::string_view>& desired) {
  std::unordered_map<std::string_view, std::vector<uint32_t>> positions;
  positions.reserve(current.size() * 2);
  for (uint32_t i = 0; i < current.size(); i++) positions[current[i]].push_back(i);
  std::vector<uint32_t> pair_j, pair_i;
  for (uint32_t j = 0; j < desired.size(); j++) {
    auto it = positions.find(desired[j]);
    if (it == positions.end()) continue;
    for (size_t x = it->second.size(); x-- > 0;) {
      pair_j.push_back(j);
      pair_i.push_back(it->second[x]);
    }
  }
  std::vector<size_t> tails;
  std::vector<int64_t> prev(pair_j.size(), -1);
  for (size_t p = 0; p < pair_j.size(); p++) {
    uint32_t i = pair_i[p];
    size_t lo = 0, hi = tails.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (pair_i[tails[mid]] < i) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[p] = static_cast<int64_t>(tails[lo - 1]);
    if (lo == tails.size()) tails.push_back(p);
    else tails[lo] = p;
  }
  std::vector<int64_t> result(desired.size(), -1);
  int64_t p = tails.empty() ? -1 : static_cast<int64_t>(tails.back());
  while (p >= 0) {
    result[pair_j[p]] = pair_i[p];
    p = prev[p];
  }
  return result;
}

bool order_chain(const CurrentChain& cc, const std::vector<std::string_view>& want, bool around_foreign,
                 const std::function<void(uint32_t)>& keep, const std::function<bool(size_t)>& add) {
  if (!around_foreign) {
    // The common case of a re-apply: the chain is already as wanted, and no hashing is needed.
    bool same = cc.rules.size() == want.size();
    for (size_t i = 0; same && i < want.size(); i++) same = cc.rules[i].text == want[i];
    if (same) {
      for (size_t i = 0; i < want.size(); i++) keep(static_cast<uint32_t>(i));
      return true;
    }
    std::vector<std::string_view> cur(cc.rules.size());
    for (size_t i = 0; i < cur.size(); i++) cur[i] = cc.rules[i].text;
    std::vector<int64_t> plan = keep_plan(cur, want);
    for (size_t j = 0; j < want.size(); j++) {
      if (plan[j] >= 0) keep(static_cast<uint32_t>(plan[j]));
      else if (!add(j)) return false;
    }
    return true;
  }
  // The foreign rules stay where they are; the other current rules are matched against the
  // wanted ones (LCS); new rules go next to the kept rule before them (or before the first
  // kept one, or at the top).
  std::vector<uint32_t> owned;
  std::vector<std::string_view> cur;
  for (uint32_t i = 0; i < cc.rules.size(); i++) {
    if (cc.rules[i].foreign()) continue;
    owned.push_back(i);
    cur.push_back(cc.rules[i].text);
  }
  std::vector<int64_t> plan = keep_plan(cur, want);
  std::vector<bool> kept(cc.rules.size(), false);
  for (int64_t k : plan) if (k >= 0) kept[owned[k]] = true;
  std::vector<std::vector<size_t>> before(cc.rules.size()), after(cc.rules.size());
  std::vector<size_t> top;
  int64_t first_kept = -1;
  for (size_t j = 0; j < plan.size() && first_kept < 0; j++) if (plan[j] >= 0) first_kept = plan[j];
  std::vector<size_t>* anchor = nullptr;
  for (size_t j = 0; j < want.size(); j++) {
    if (plan[j] >= 0) {
      anchor = &after[owned[plan[j]]];
      continue;
    }
    if (!anchor) anchor = first_kept >= 0 ? &before[owned[first_kept]] : &top;
    anchor->push_back(j);
  }
  for (size_t j : top) if (!add(j)) return false;
  for (uint32_t i = 0; i < cc.rules.size(); i++) {
    if (!cc.rules[i].foreign() && !kept[i]) continue;
    for (size_t j : before[i]) if (!add(j)) return false;
    keep(i);
    for (size_t j : after[i]) if (!add(j)) return false;
  }
  return true;
}

bool carries_counters(const std::vector<dialect::RestoreTable>& parsed) {
  for (const auto& t : parsed) {
    for (const auto& s : t.steps) {
      if (!s.is_chain && s.command.rule.has_counters) return true;
    }
  }
  return false;
}

void merge_repeated(std::vector<dialect::RestoreTable>& parsed, bool noflush) {
  for (size_t i = 0; i < parsed.size(); i++) {
    for (size_t j = i + 1; j < parsed.size();) {
      if (parsed[j].name != parsed[i].name) {
        j++;
        continue;
      }
      dialect::RestoreTable& into = parsed[i];
      if (!noflush) {
        // Without -n, each `*table` starts by flushing the table and deleting its user chains.
        for (Op op : {Op::kFlush, Op::kDeleteChain}) {
          dialect::Step& s = into.steps.emplace_back();
          s.line = parsed[j].line;
          s.command.op = op;
        }
      }
      for (dialect::Step& s : parsed[j].steps) into.steps.push_back(std::move(s));
      into.commit_line = parsed[j].commit_line;
      parsed.erase(parsed.begin() + static_cast<std::ptrdiff_t>(j));
    }
  }
}

bool plan_restore(const std::vector<dialect::RestoreTable>& parsed, const std::vector<CurrentTable>& current,
                  const Options& opts, std::vector<commit::TablePlan>& out, std::vector<TableOutcome>& outcome,
                  ParseError& err) {
  out.clear();
  out.resize(parsed.size());
  outcome.assign(parsed.size(), TableOutcome{});
  for (size_t i = 0; i < parsed.size(); i++) {
    if (!Planner(parsed[i], current[i], opts, out[i], outcome[i], err).run()) return false;
  }
  return true;
}

bool restore_result(const dialect::RestoreTable& parsed, const CurrentTable& current, const Options& opts,
                    std::string& wire, std::vector<uint64_t>& counters, ParseError& err) {
  commit::TablePlan scratch;
  TableOutcome outcome;
  return Planner(parsed, current, opts, scratch, outcome, err).result(wire, counters);
}

bool plan_append(const std::vector<dialect::RestoreTable>& parsed, std::vector<commit::TablePlan>& out) {
  out.clear();
  for (const auto& t : parsed) {
    for (const auto& s : t.steps) {
      if (s.is_chain || s.command.op != Op::kAppend) return false;
    }
  }
  for (const auto& t : parsed) {
    commit::TablePlan& p = out.emplace_back();
    p.name = t.name;
    p.append = true;
    p.line_word = "line";
    p.commit_line = t.commit_line;
    std::map<std::string_view, size_t> index;
    p.rules.reserve(t.steps.size());
    for (const auto& s : t.steps) {
      auto [it, fresh] = index.emplace(s.command.chain, p.chains.size());
      if (fresh) p.chains.emplace_back().name = s.command.chain;
      const dialect::Rule& r = s.command.rule;
      p.chains[it->second].items.push_back(commit::Item{false, 0, p.rules.size()});
      p.rules.push_back(commit::NewRule{&r, r.has_counters ? r.packets : 0, r.has_counters ? r.bytes : 0, s.line});
    }
    if (p.chains.empty()) out.pop_back();
  }
  // Nothing to append (`*filter COMMIT`, given once or twice, with -n): no commit at all, so no
  // generation-0 commit that nf_tables would refuse as a conflict; the general path reads, finds
  // nothing changes, and commits nothing.
  return !out.empty();
}

}  // namespace iptkit::restore
