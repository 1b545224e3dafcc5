// The native restore (see run.h).
#include "run.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <random>
#include <thread>

#include "../common/lock.h"
#include "../dialect/js.h"
#include "../common/netns.h"
#include "../common/parallel.h"
#include "../common/prefault.h"
#include "../common/warm_thread.h"
#include "../common/worker.h"
#include "../legacy/backend.h"
#include "../nft/commit.h"
#include "plan.h"
#include "read.h"

namespace iptkit {
namespace {

struct Request {
  bool nft = false;
  bool v6 = false;
  std::string netns;
  ScratchString text;
  bool noflush = false, counters = false, test = false;
  std::string table;
  std::string lock_path;
  int64_t lock_timeout_ms = 10000;
  int max_retries = 32;
};

struct Outcome {
  bool parse_failed = false;
  dialect::ParseError parse_error;
  bool none = false;
  bool append_only = false;
  size_t attempts = 1, added = 0, kept = 0, deleted = 0;
  std::vector<std::string> changed;
};

// A short random pause before a retry, growing with the attempt, so that tries do not fall
// into lockstep with another writer's rhythm.
void backoff(int attempt) {
  static thread_local std::minstd_rand rng(std::random_device{}());
  int ceiling = std::min(20, attempt) * 1000;
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % static_cast<unsigned>(ceiling + 1)));
}

class Fd {
 public:
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int fd = -1;
};

// The tables the input names, as they are now.
OpError read_current(const Request& req, const std::vector<dialect::RestoreTable>& parsed,
                     std::vector<restore::CurrentTable>& current, uint32_t& generation) {
  std::vector<std::string> names;
  names.reserve(parsed.size());
  for (const auto& t : parsed) names.push_back(t.name);
  return restore::read_current(req.nft, req.v6, names, current, generation);
}

OpError commit(const Request& req, uint32_t generation, std::vector<commit::TablePlan>& plans) {
  if (!req.nft) return req.v6 ? legacy::commit_v6(plans) : legacy::commit_v4(plans);
  return nft::commit_tables(req.v6, generation, plans);
}

bool retryable(const Request& req, const OpError& e) {
  if (req.nft) return e.err == ERESTART || e.err == EINTR || e.err == EAGAIN;
  return e.err == ESTALE || e.err == EAGAIN;
}

OpError run(const Request& req, Outcome& out) {
  const Family family = req.v6 ? Family::ipv6 : Family::ipv4;
  // The calling thread's malloc arena: have what a restore takes of it (its steps' commands,
  // plans; the big buffers are scratch blocks) faulted in at once rather than page by page.
  // 12 bytes a byte of input measured best (10,000 ports, after a fork: 0 → 88 ms, 3 → 76,
  // 12 → 70), more than it needs: populating is cheaper than the faults of what it misses.
  constexpr size_t kMemoryPerInputByte = 12;
  prefault_arena(std::min(req.text.size() * kMemoryPerInputByte, size_t{128} << 20));
  // In the namespace from the parse on: a rule's ipset names resolve in its kernel.
  NetnsGuard ns(req.netns);
  if (ns.error()) return ns.error();
  std::vector<dialect::RestoreTable> parsed;
  dialect::RestoreOptions ropts;
  const Pieces pieces;
  ropts.pieces = &pieces;
  ropts.counters = req.counters;
  ropts.only_table = req.table;
  if (!dialect::parse_restore(req.text, family, ropts, parsed, out.parse_error)) {
    out.parse_failed = true;
    return {};
  }
  restore::merge_repeated(parsed, req.noflush);
  if (parsed.empty()) {
    out.none = true;
    return {};
  }
  restore::Options opts;
  opts.family = family;
  opts.noflush = req.noflush;
  opts.counters = req.counters || restore::carries_counters(parsed);
  // iptables-legacy-restore zeroes (or, with -c, sets) the policy counters of every table it
  // commits; iptables-nft-restore leaves them counting. Do what the back end's tool does.
  opts.set_policy_counters = !req.nft;
  opts.keeps_are_handles = req.nft;
  opts.flush_remakes_table = req.nft && !req.noflush;

  Fd lock;
  std::unique_lock<std::mutex> iptc;
  if (!req.nft) {
    if (OpError err = xtables_lock(req.lock_path, req.lock_timeout_ms, 10, lock.fd)) return err;
    iptc = std::unique_lock<std::mutex>(legacy::table_mutex());
    if (OpError err = legacy::recover_pending(req.v6, true)) return err;  // a killed commit's record
  }

  std::vector<commit::TablePlan> plans;
  // -n of nothing but -A lines: the rules go at the ends of their chains, which needs no read.
  // A missing chain (ENOENT) leaves it to the general path, which names the line.
  if (req.noflush && !req.test && restore::plan_append(parsed, plans)) {
    for (int attempt = 1;; attempt++) {
      OpError err = commit(req, 0, plans);
      if (!err) {
        out.append_only = true;
        for (const auto& p : plans) {
          out.changed.push_back(p.name);
          out.added += p.rules.size();
        }
        return {};
      }
      if (err.err == ENOENT) break;
      // nft: the dump that checks the chains exist was interrupted by another writer's commit.
      if (!(req.nft && (err.err == EINTR || err.err == EAGAIN)) || attempt > req.max_retries) return err;
    }
  }

  std::vector<restore::CurrentTable> current;
  std::vector<restore::TableOutcome> outcome;
  for (int attempt = 1;; attempt++) {
    uint32_t generation = 0;
    OpError err = read_current(req, parsed, current, generation);
    if (!err) {
      if (!restore::plan_restore(parsed, current, opts, plans, outcome, out.parse_error)) {
        out.parse_failed = true;
        return {};
      }
      if (req.test) return {};
      std::vector<commit::TablePlan> changed;
      for (size_t i = 0; i < plans.size(); i++) {
        if (!outcome[i].unchanged) changed.push_back(std::move(plans[i]));
      }
      if (!changed.empty()) err = commit(req, generation, changed);
      if (!err) {
        out.attempts = static_cast<size_t>(attempt);
        size_t before = 0;
        for (size_t i = 0; i < outcome.size(); i++) {
          out.added += outcome[i].added;
          out.kept += outcome[i].kept;
          before += outcome[i].before;
          if (!outcome[i].unchanged) out.changed.push_back(parsed[i].name);
        }
        out.deleted = before - out.kept;
        return {};
      }
    }
    if (!retryable(req, err)) return err;
    if (attempt > req.max_retries) {
      err.message = "the ruleset kept changing under the commit: gave up after " + std::to_string(attempt) +
                    " attempts (" + err.message + ")";
      err.op = "conflict";
      return err;
    }
    backoff(attempt);
  }
}

bool bool_field(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

}  // namespace

Napi::Value RestoreResult(const Napi::CallbackInfo& info) {
  dialect::OfflineNames offline;  // no kernel is asked here
  Napi::Env env = info.Env();
  const bool v6 = arg_family_v6(info, 0);
  std::string text = arg_string(info, 1, "text");
  if (info.Length() <= 3 || !info[2].IsObject() || !info[3].IsArray()) {
    throw Napi::TypeError::New(env, "restoreResult(family, text, options, current[])");
  }
  Napi::Object o = info[2].As<Napi::Object>();
  restore::Options opts;
  opts.family = v6 ? Family::ipv6 : Family::ipv4;
  opts.noflush = bool_field(o, "noflush");
  dialect::RestoreOptions ropts;
  ropts.counters = bool_field(o, "counters");
  if (o.Get("table").IsString()) ropts.only_table = o.Get("table").As<Napi::String>().Utf8Value();
  std::vector<dialect::RestoreTable> parsed;
  dialect::ParseError err;
  if (!dialect::parse_restore(text, opts.family, ropts, parsed, err)) throw_parse(env, err);
  restore::merge_repeated(parsed, opts.noflush);
  opts.counters = ropts.counters || restore::carries_counters(parsed);
  Napi::Array cur = info[3].As<Napi::Array>();
  Napi::Array out = Napi::Array::New(env, parsed.size());
  for (size_t i = 0; i < parsed.size(); i++) {
    restore::CurrentTable current;
    current.name = parsed[i].name;
    for (uint32_t k = 0; k < cur.Length(); k++) {
      Napi::Object t = cur.Get(k).As<Napi::Object>();
      std::string wire = t.Get("wire").As<Napi::String>().Utf8Value();
      if (wire.compare(0, 6 + current.name.size() + 1, "table\t" + current.name + "\t") != 0) continue;
      Napi::BigUint64Array c = t.Get("counters").As<Napi::BigUint64Array>();
      std::vector<uint64_t> counters(c.Data(), c.Data() + c.ElementLength());
      if (OpError e = restore::current_from_read(std::move(wire), counters, {}, current)) throw Napi::Error::New(env, e.message);
    }
    std::string wire;
    std::vector<uint64_t> counters;
    if (!restore::restore_result(parsed[i], current, opts, wire, counters, err)) throw_parse(env, err);
    Napi::Object t = Napi::Object::New(env);
    t.Set("wire", wire);
    Napi::BigUint64Array c = Napi::BigUint64Array::New(env, counters.size());
    if (!counters.empty()) memcpy(c.Data(), counters.data(), counters.size() * sizeof(uint64_t));
    t.Set("counters", c);
    t.Set("handles", env.Null());
    out.Set(static_cast<uint32_t>(i), t);
  }
  return out;
}

Napi::Value Restore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Request req;
  req.nft = arg_backend_nft(info, 0);
  req.v6 = arg_family_v6(info, 1);
  req.netns = arg_netns(info, 2);
  req.text = arg_text(info, 3, "text");
  if (info.Length() <= 4 || !info[4].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
  Napi::Object o = info[4].As<Napi::Object>();
  req.noflush = bool_field(o, "noflush");
  req.counters = bool_field(o, "counters");
  req.test = bool_field(o, "test");
  if (o.Get("table").IsString()) req.table = o.Get("table").As<Napi::String>().Utf8Value();
  if (o.Get("lockPath").IsString()) req.lock_path = o.Get("lockPath").As<Napi::String>().Utf8Value();
  if (o.Get("lockTimeoutMs").IsNumber()) req.lock_timeout_ms = o.Get("lockTimeoutMs").As<Napi::Number>().Int64Value();
  if (o.Get("maxRetries").IsNumber()) req.max_retries = o.Get("maxRetries").As<Napi::Number>().Int32Value();
  if (!req.nft && req.lock_path.empty()) throw Napi::TypeError::New(env, "options.lockPath is required for legacy");
  return PromiseWorker<Outcome>::Run(
      env,
      [req = std::move(req)](Outcome& out) -> OpError {
        OpError err;
        WarmThread::run([&] { err = run(req, out); });
        return err;
      },
      [](Napi::Env env, Outcome& out) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        if (out.parse_failed) {
          Napi::Object e = Napi::Object::New(env);
          e.Set("message", out.parse_error.message);
          if (out.parse_error.line) e.Set("line", Napi::Number::New(env, static_cast<double>(out.parse_error.line)));
          if (!out.parse_error.token.empty()) e.Set("token", out.parse_error.token);
          if (!out.parse_error.expected.empty()) e.Set("expected", out.parse_error.expected);
          o.Set("parseError", e);
          return o;
        }
        if (out.none) {
          o.Set("none", true);
          return o;
        }
        Napi::Array changed = Napi::Array::New(env, out.changed.size());
        for (uint32_t i = 0; i < out.changed.size(); i++) changed.Set(i, out.changed[i]);
        o.Set("changed", changed);
        o.Set("attempts", Napi::Number::New(env, static_cast<double>(out.attempts)));
        o.Set("added", Napi::Number::New(env, static_cast<double>(out.added)));
        o.Set("deleted", Napi::Number::New(env, static_cast<double>(out.deleted)));
        o.Set("kept", Napi::Number::New(env, static_cast<double>(out.kept)));
        if (out.append_only) o.Set("appendOnly", true);
        return o;
      });
}

}  // namespace iptkit
