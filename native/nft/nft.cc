// The two N-API entry points of the nf_tables back end: argument checks on the main thread,
// the netlink work on a pool thread inside the requested network namespace.
#include "nft.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "../restore/held.h"
#include "../common/netns.h"
#include "../common/worker.h"
#include "commit.h"
#include "read.h"
#include "rule_sink.h"
#include "socket.h"

namespace iptkit {

// `--backend auto`: whether the family's iptables tables hold anything (read.h holds_rules).
Napi::Value NftTableNames(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  using Names = std::vector<std::string>;
  return PromiseWorker<Names>::Run(
      info.Env(),
      [=](Names& names) -> OpError {
        NetnsGuard guard(netns);
        if (guard.error()) return guard.error();
        return nft::table_names(v6, names);
      },
      [](Napi::Env env, Names& names) -> Napi::Value { return string_array_js(env, names); });
}

Napi::Value NftHoldsRules(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  return PromiseWorker<bool>::Run(
      info.Env(),
      [=](bool& holds) -> OpError {
        NetnsGuard guard(netns);
        if (guard.error()) return guard.error();
        return nft::holds_rules(v6, holds);
      },
      [](Napi::Env env, bool& holds) -> Napi::Value { return Napi::Boolean::New(env, holds); });
}

// The namespace's ruleset generation (NFT_MSG_GETGEN): every committed batch moves it.
Napi::Value NftGeneration(const Napi::CallbackInfo& info) {
  std::string netns = arg_netns(info, 0);
  struct Gen {
    uint32_t generation = 0;
    uint64_t netns = 0;
  };
  auto js = [](Napi::Env env, Gen& gen) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("generation", Napi::Number::New(env, gen.generation));
    o.Set("netns", Napi::String::New(env, std::to_string(gen.netns)));
    return o;
  };
  // With a socket left idle in the namespace by an earlier operation, asked right here: the
  // kernel answers NFT_MSG_GETGEN within the send, under RCU (never waiting for a writer), in
  // microseconds, where the worker thread's round trip took 0.1-0.25 ms (and a DockerHost
  // port operation asks three times). Otherwise a worker opens a socket in the namespace.
  {
    struct stat st {};
    nft::NlSocket sock;
    Gen gen;
    if (stat(netns.empty() ? "/proc/self/ns/net" : netns.c_str(), &st) == 0 && sock.open_idle(st.st_ino) &&
        sock.get_gen(gen.generation) == 0) {
      gen.netns = sock.netns_cookie();
      Napi::Promise::Deferred done = Napi::Promise::Deferred::New(info.Env());
      done.Resolve(js(info.Env(), gen));
      return done.Promise();
    }
  }
  return PromiseWorker<Gen>::Run(
      info.Env(),
      [=](Gen& gen) -> OpError {
        NetnsGuard guard(netns);
        if (guard.error()) return guard.error();
        nft::NlSocket sock;
        if (int err = sock.open()) return make_error(err, "read", std::string("cannot open a netfilter netlink socket: ") + strerror(err));
        if (int err = sock.get_gen(gen.generation)) return make_error(err, "read", std::string("NFT_MSG_GETGEN: ") + strerror(err));
        gen.netns = sock.netns_cookie();
        return {};
      },
      js);
}

Napi::Value NftRead(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  bool all = info.Length() <= 2 || info[2].IsNull() || info[2].IsUndefined();
  std::vector<std::string> only;
  if (!all) only = arg_string_array(info, 2, "tables");
  return PromiseWorker<nft::ReadResult>::Run(
      info.Env(),
      [=](nft::ReadResult& result) -> OpError {
        NetnsGuard guard(netns);
        if (guard.error()) return guard.error();
        return nft::read_tables(v6, all ? nullptr : &only, result);
      },
      [](Napi::Env env, nft::ReadResult& result) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("generation", Napi::Number::New(env, result.generation));
        o.Set("netns", Napi::String::New(env, std::to_string(result.netns)));
        Napi::Array tables = Napi::Array::New(env, result.tables.size());
        for (size_t i = 0; i < result.tables.size(); i++) {
          const nft::TableRead& t = result.tables[i];
          Napi::Object table = Napi::Object::New(env);
          table.Set("wire", Napi::String::New(env, t.wire));
          Napi::BigUint64Array counters = Napi::BigUint64Array::New(env, t.counters.size());
          if (!t.counters.empty()) std::memcpy(counters.Data(), t.counters.data(), t.counters.size() * sizeof(uint64_t));
          table.Set("counters", counters);
          // Handles count up from 1 and stay far below 2^53: exact as doubles.
          Napi::Float64Array handles = Napi::Float64Array::New(env, t.handles.size());
          for (size_t k = 0; k < t.handles.size(); k++) handles[k] = static_cast<double>(t.handles[k]);
          table.Set("handles", handles);
          tables.Set(i, table);
        }
        o.Set("tables", tables);
        return o;
      });
}

Napi::Value NftCommit(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  if (info.Length() <= 2 || !info[2].IsNumber()) throw Napi::TypeError::New(info.Env(), "generation must be a number");
  double g = info[2].As<Napi::Number>().DoubleValue();
  if (!(g >= 0 && g <= 4294967295.0) || g != static_cast<double>(static_cast<uint32_t>(g))) {
    throw Napi::RangeError::New(info.Env(), "generation must be an integer in 0..2^32-1");
  }
  uint32_t generation = static_cast<uint32_t>(g);
  auto tables = std::make_shared<std::vector<commit::WireText>>(commit::WireText::from_js(info, 3, "tables"));
  const int64_t footprint = commit::commit_footprint(*tables);
  auto held = restore::arg_held(info, 4);
  const bool echo = info.Length() > 5 && info[5].IsBoolean() && info[5].As<Napi::Boolean>().Value();
  struct Result {
    std::vector<restore::HeldOutcome> outcomes;
    nft::CommitEcho echo;
  };
  return PromiseWorker<Result>::Run(
      info.Env(),
      [=](Result& result) -> OpError {
        auto& outcomes = result.outcomes;
        // In the namespace from the parse on: a rule's ipset names resolve in its kernel.
        NetnsGuard guard(netns);
        if (guard.error()) return guard.error();
        std::vector<commit::TablePlan> plans;
        if (OpError err = restore::plan_wires(*tables, v6 ? Family::ipv6 : Family::ipv4, held.get(), true, plans, outcomes,
                                                  v6 ? nft::payload_sink_v6 : nft::payload_sink_v4)) {
          return err;
        }
        if (plans.empty()) return {};
        return nft::commit_tables(v6, generation, plans, echo ? &result.echo : nullptr);
      },
      [](Napi::Env env, Result& result) -> Napi::Value {
        Napi::Array a = restore::outcomes_js(env, result.outcomes).As<Napi::Array>();
        if (!result.echo.known) return a;
        // The tables as committed: each committed table's new rules' handles, in plan order,
        // and the generation the commit made (see CommitEcho).
        size_t k = 0;
        for (uint32_t i = 0; i < result.outcomes.size(); i++) {
          if (result.outcomes[i].unchanged) continue;
          const auto& hs = result.echo.handles[k++];
          Napi::Float64Array handles = Napi::Float64Array::New(env, hs.size());
          for (size_t j = 0; j < hs.size(); j++) handles[j] = static_cast<double>(hs[j]);
          Napi::Object echo = Napi::Object::New(env);
          echo.Set("generation", Napi::Number::New(env, result.echo.generation));
          echo.Set("netns", Napi::String::New(env, std::to_string(result.echo.netns)));
          echo.Set("handles", handles);
          a.Get(i).As<Napi::Object>().Set("echo", echo);
        }
        return a;
      },
      footprint);
}

}  // namespace iptkit
