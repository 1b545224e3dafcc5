// A read that holds chains natively, and the planning of those chains (see held.h).
#include "held.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "../common/netns.h"
#include "../common/parallel.h"
#include "../commit/wire.h"
#include "../common/worker.h"
#include "../dialect/parse.h"
#include "../dialect/print.h"
#include "../legacy/backend.h"
#include "plan.h"
#include "read.h"

namespace iptkit::restore {
namespace {

// Marks the External a readHolding gives, so that a commit takes no other.
constexpr napi_type_tag kHeldTag = {0x6970746b69744865ull, 0x6c64526561640001ull};

using HeldPtr = std::shared_ptr<const HeldRead>;

// The interfaces (`-i`, `-o`, inverted or not) a canonical rule text names: it begins
// `[! ]-s X [! ]-d X [! ]-i X [! ]-o X`, each part there or not.
void interfaces_of(std::string_view t, std::set<std::string, std::less<>>& out) {
  size_t pos = 0;
  for (const char* flag : {"-s ", "-d ", "-i ", "-o "}) {
    size_t at = pos;
    if (t.compare(at, 2, "! ") == 0) at += 2;
    if (t.compare(at, 3, flag) != 0) continue;
    at += 3;
    size_t end = t.find(' ', at);
    if (end == std::string_view::npos) end = t.size();
    if (flag[1] == 'i' || flag[1] == 'o') out.emplace(t.substr(at, end - at));
    pos = end < t.size() ? end + 1 : end;
  }
}

struct HeldChainInfo {
  std::string table, chain;
  size_t rules = 0;
  std::vector<std::string> interfaces;
};

struct TableOut {
  std::string wire;
  std::vector<uint64_t> counters, handles;
};

struct ReadOut {
  uint32_t generation = 0;
  std::vector<TableOut> tables;
  std::vector<HeldChainInfo> held;
  std::shared_ptr<HeldRead> read;
};

// The read's wire without the held chains' rules (their records say 0 rules), with the
// counters and handles of the rules that stay.
void without_held(const CurrentTable& t, const std::vector<std::string>& hold, bool nft, TableOut& out,
                  std::vector<HeldChainInfo>& held) {
  std::string_view wire = t.wire;
  size_t pos = 0;
  auto next_line = [&]() {
    size_t nl = wire.find('\n', pos);
    if (nl == std::string_view::npos) nl = wire.size();
    std::string_view line = wire.substr(pos, nl - pos);
    pos = nl + 1;
    return line;
  };
  out.wire.reserve(wire.size());
  out.wire += next_line();
  out.wire += '\n';
  for (const CurrentChain& c : t.chains) {
    std::string_view record = next_line();
    const bool holding = std::find(hold.begin(), hold.end(), c.name) != hold.end();
    if (holding) {
      out.wire += record.substr(0, record.rfind('\t') + 1);
      out.wire += "0\n";
      HeldChainInfo& h = held.emplace_back();
      h.table = t.name;
      h.chain = c.name;
      h.rules = c.rules.size();
      std::set<std::string, std::less<>> names;
      for (const CurrentRule& r : c.rules) {
        if (!r.foreign()) interfaces_of(r.text, names);
      }
      h.interfaces.assign(names.begin(), names.end());
      for (size_t i = 0; i < c.rules.size(); i++) next_line();
      continue;
    }
    out.wire += record;
    out.wire += '\n';
    for (const CurrentRule& r : c.rules) {
      out.wire += next_line();
      out.wire += '\n';
      out.counters.push_back(r.packets);
      out.counters.push_back(r.bytes);
      if (nft) out.handles.push_back(r.handle);
    }
  }
}

OpError bad_text(const commit::TablePlan& plan, const commit::ChainPlan& cp, size_t j, const std::string& why) {
  constexpr size_t kShown = 200;
  std::string_view text = cp.lines[j];
  std::string shown(text.substr(0, kShown));
  if (text.size() > kShown) shown += "…";
  return make_error(EINVAL, "commit",
                    "table " + plan.name + " wire line " + std::to_string(cp.line + 1 + j) + " (chain " + cp.name +
                        "): rule `" + shown + "': " + why,
                    plan.name, cp.name);
}

}  // namespace

OpError plan_held(commit::TablePlan& plan, const CurrentTable* current, Family family, bool keeps_are_handles,
                  HeldOutcome& out, commit::WireText* wire) {
  out = HeldOutcome{};
  // A new chain's rules are parsed a batch at a time into Rules used again for the next batch:
  // the sink must have taken each before.
  if (!plan.sink) return make_error(EINVAL, "commit", "internal: table " + plan.name + " has no rule sink", plan.name);
  if (current && !current->exists) current = nullptr;
  // At most one new rule a text: reserved at once, not doubled (the outgrown copies would stay
  // in the arena through the commit's peak).
  size_t texts = 0;
  for (const commit::ChainPlan& cp : plan.chains) texts += cp.lines.size();
  plan.rules.reserve(plan.rules.size() + texts);
  bool any = false;
  for (commit::ChainPlan& cp : plan.chains) {
    if (!cp.has_lines) continue;
    any = true;
    const CurrentChain* cc = current ? current->find(cp.name) : nullptr;
    OpError err;
    // Text `j` parsed into `r`, or why not: a text that does not parse, or that iptables-save
    // prints otherwise (held chains are compared by text: it would never match the kernel's
    // rule and be rewritten on every commit).
    auto parse = [&](size_t j, dialect::Rule& r, std::string& why) {
      std::string_view text = cp.lines[j];
      if (text.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
        why = "a line break or NUL cannot be part of a rule";
        return false;
      }
      dialect::ParseError perr;
      if (!dialect::parse_rule(text, family, r, perr, nullptr, /*opaque_ok=*/true)) {
        why = perr.message.empty() ? std::string("cannot parse the rule") : perr.message;
        if (!perr.token.empty() && why.find(perr.token) == std::string::npos) why += " (at '" + perr.token + "')";
        return false;
      }
      std::string saved;
      dialect::save_rule(r, family, saved);
      std::string_view canon = saved;
      if (!canon.empty() && canon[0] == ' ') canon.remove_prefix(1);
      if (canon != text) {
        why = "not in canonical form (iptables-save prints it as `" + std::string(canon) + "`)";
        return false;
      }
      return true;
    };
    // Rule `r` (text j, parsed) made the chain's next item: a new rule.
    auto adopt = [&](size_t j, const dialect::Rule& r) {
      commit::NewRule nr{nullptr, 0, 0, cp.line + 1 + j};
      std::string why;
      if (!plan.adopt(r, cp.name, nr, why)) {
        err = bad_text(plan, cp, j, why);
        return false;
      }
      cp.items.push_back(commit::Item{false, 0, plan.rules.size()});
      plan.rules.push_back(nr);
      out.added++;
      return true;
    };
    auto add = [&](size_t j) {
      dialect::Rule& r = plan.next_rule();
      std::string why;
      if (!parse(j, r, why)) {
        err = bad_text(plan, cp, j, why);
        return false;
      }
      return adopt(j, r);
    };
    cp.items.reserve(cp.lines.size());
    if (!cc) {
      // A new chain (a first apply): every text is a new rule. The texts are parsed and
      // checked a batch at a time in pieces on the machine's cores (common/parallel.h), then
      // handed to the sink in order; a batch bounds the Rules held at once. The first bad
      // text in order is the one named, as on one thread.
      constexpr size_t kBatch = 8192, kPerPiece = 1024;
      const Pieces pieces;
      std::vector<dialect::Rule> rules(std::min(kBatch, cp.lines.size()));
      std::vector<std::string> why(rules.size());
      std::vector<uint8_t> ok(rules.size());
      for (size_t from = 0; from < cp.lines.size(); from += kBatch) {
        const size_t n = std::min(kBatch, cp.lines.size() - from);
        pieces.run(n, kPerPiece, [&](size_t, size_t begin, size_t end) {
          for (size_t k = begin; k < end; k++) {
            ok[k] = parse(from + k, rules[k], why[k]);
          }
        });
        for (size_t k = 0; k < n; k++) {
          if (!ok[k]) return bad_text(plan, cp, from + k, why[k]);
          if (!adopt(from + k, rules[k])) return err;
        }
        // The chains' texts lie in the wire in the order they are planned, after every rule
        // record the parse took: nothing before this batch's last text is read again.
        if (wire) wire->release_before(cp.lines[from + n - 1].data());
      }
      continue;
    }
    cp.has_was = true;
    cp.was = cc->rules.size();
    bool foreign = false;
    for (const CurrentRule& r : cc->rules) foreign = foreign || r.foreign();
    auto keep = [&](uint32_t i) {
      cp.items.push_back(commit::Item{true, keeps_are_handles ? cc->rules[i].handle : i, 0});
      cp.keeps++;
      out.kept++;
    };
    if (!order_chain(*cc, cp.lines, foreign, keep, add)) return err;
  }
  if (!any || !current) return {};
  // Unchanged: every chain of the table is in the plan as it was read, nothing else is.
  bool same = plan.chains.size() == current->chains.size();
  for (size_t k = 0; same && k < plan.chains.size(); k++) {
    const commit::ChainPlan& cp = plan.chains[k];
    const CurrentChain* cc = current->find(cp.name);
    same = cc && cp.policy.empty() && cp.items.size() == cc->rules.size();
    for (size_t i = 0; same && i < cp.items.size(); i++) {
      // A keep by position (keeprun) names the rule at that position as read.
      const commit::Item& it = cp.items[i];
      same = it.keep && it.at == (keeps_are_handles && !it.position ? cc->rules[i].handle : i);
    }
  }
  out.unchanged = same;
  return {};
}

OpError plan_wires(std::vector<commit::WireText>& wires, Family family, const HeldRead* held, bool keeps_are_handles,
                   std::vector<commit::TablePlan>& plans, std::vector<HeldOutcome>& outcomes, SinkFactory sink) {
  plans.clear();
  outcomes.assign(wires.size(), HeldOutcome{});
  for (size_t i = 0; i < wires.size(); i++) {
    commit::TablePlan plan;
    plan.sink = sink();
    if (OpError err = commit::parse_wire(wires[i].view(), family, plan)) return err;
    bool lines = false;
    for (const commit::ChainPlan& cp : plan.chains) lines = lines || cp.has_lines;
    if (lines && !held) {
      return make_error(EINVAL, "commit", "table " + plan.name + ": a lines= chain needs the held read it was planned on", plan.name);
    }
    if (lines) {
      if (OpError err = plan_held(plan, held->find(plan.name), family, keeps_are_handles, outcomes[i], &wires[i])) return err;
    }
    for (commit::ChainPlan& c : plan.chains) std::vector<std::string_view>().swap(c.lines);
    wires[i] = commit::WireText{};
    if (!outcomes[i].unchanged) plans.push_back(std::move(plan));
  }
  return {};
}

Napi::Value outcomes_js(Napi::Env env, const std::vector<HeldOutcome>& outcomes) {
  Napi::Array a = Napi::Array::New(env, outcomes.size());
  for (uint32_t i = 0; i < outcomes.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("committed", !outcomes[i].unchanged);
    o.Set("added", Napi::Number::New(env, static_cast<double>(outcomes[i].added)));
    o.Set("kept", Napi::Number::New(env, static_cast<double>(outcomes[i].kept)));
    a.Set(i, o);
  }
  return a;
}

std::shared_ptr<const HeldRead> arg_held(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  napi_env env = info.Env();
  bool tagged = false;
  if (!info[i].IsExternal() || napi_check_object_type_tag(env, info[i], &kHeldTag, &tagged) != napi_ok || !tagged) {
    throw Napi::TypeError::New(info.Env(), "held must be what readHolding gave");
  }
  return *info[i].As<Napi::External<HeldPtr>>().Data();
}

Napi::Value ReadHolding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool nft = arg_backend_nft(info, 0);
  const bool v6 = arg_family_v6(info, 1);
  std::string netns = arg_netns(info, 2);
  std::vector<std::string> names = arg_string_array(info, 3, "tables");
  if (info.Length() <= 4 || !info[4].IsArray() || info[4].As<Napi::Array>().Length() != names.size()) {
    throw Napi::TypeError::New(env, "hold must be an array of chain-name arrays, one per table");
  }
  std::vector<std::vector<std::string>> hold(names.size());
  Napi::Array h = info[4].As<Napi::Array>();
  for (uint32_t k = 0; k < names.size(); k++) {
    Napi::Value v = h.Get(k);
    if (!v.IsArray()) throw Napi::TypeError::New(env, "hold[" + std::to_string(k) + "] must be an array of chain names");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t c = 0; c < a.Length(); c++) {
      if (!a.Get(c).IsString()) throw Napi::TypeError::New(env, "hold[" + std::to_string(k) + "] must be an array of chain names");
      hold[k].push_back(a.Get(c).As<Napi::String>().Utf8Value());
    }
  }
  return PromiseWorker<ReadOut>::Run(
      env,
      [=](ReadOut& out) -> OpError {
        auto read = std::make_shared<HeldRead>();
        read->nft = nft;
        read->v6 = v6;
        std::vector<CurrentTable> current;
        {
          NetnsGuard ns(netns);
          if (ns.error()) return ns.error();
          std::unique_lock<std::mutex> iptc;
          if (!nft) {
            iptc = std::unique_lock<std::mutex>(legacy::table_mutex());
            if (OpError err = legacy::recover_pending(v6, false)) return err;  // a killed commit's record
          }
          if (OpError err = read_current(nft, v6, names, current, out.generation)) return err;
        }
        for (size_t k = 0; k < current.size(); k++) {
          const bool exists = current[k].exists;
          if (exists) without_held(current[k], hold[k], nft, out.tables.emplace_back(), out.held);
          // A held chain not there yet (nft: nor its table) is held too: its rules are all
          // new, sent as lines=.
          for (const std::string& name : hold[k]) {
            if (exists && current[k].find(name)) continue;
            HeldChainInfo& h = out.held.emplace_back();
            h.table = current[k].name;
            h.chain = name;
          }
          if (exists) read->tables.push_back(std::move(current[k]));
        }
        out.read = std::move(read);
        return {};
      },
      [nft](Napi::Env env, ReadOut& out) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("generation", Napi::Number::New(env, out.generation));
        Napi::Array tables = Napi::Array::New(env, out.tables.size());
        for (uint32_t k = 0; k < out.tables.size(); k++) {
          const TableOut& t = out.tables[k];
          Napi::Object table = Napi::Object::New(env);
          table.Set("wire", Napi::String::New(env, t.wire));
          Napi::BigUint64Array counters = Napi::BigUint64Array::New(env, t.counters.size());
          if (!t.counters.empty()) std::memcpy(counters.Data(), t.counters.data(), t.counters.size() * sizeof(uint64_t));
          table.Set("counters", counters);
          if (nft) {
            // Handles count up from 1 and stay far below 2^53: exact as doubles.
            Napi::Float64Array handles = Napi::Float64Array::New(env, t.handles.size());
            for (size_t i = 0; i < t.handles.size(); i++) handles[i] = static_cast<double>(t.handles[i]);
            table.Set("handles", handles);
          } else {
            table.Set("handles", env.Null());
          }
          tables.Set(k, table);
        }
        o.Set("tables", tables);
        Napi::Array chains = Napi::Array::New(env, out.held.size());
        for (uint32_t k = 0; k < out.held.size(); k++) {
          const HeldChainInfo& c = out.held[k];
          Napi::Object x = Napi::Object::New(env);
          x.Set("table", c.table);
          x.Set("chain", c.chain);
          x.Set("rules", Napi::Number::New(env, static_cast<double>(c.rules)));
          Napi::Array names = Napi::Array::New(env, c.interfaces.size());
          for (uint32_t i = 0; i < c.interfaces.size(); i++) names.Set(i, c.interfaces[i]);
          x.Set("interfaces", names);
          chains.Set(k, x);
        }
        o.Set("chains", chains);
        auto ext = Napi::External<HeldPtr>::New(env, new HeldPtr(std::move(out.read)),
                                                [](Napi::Env, HeldPtr* p) { delete p; });
        NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &kHeldTag), Napi::Value());
        o.Set("held", ext);
        return o;
      });
}

}  // namespace iptkit::restore
