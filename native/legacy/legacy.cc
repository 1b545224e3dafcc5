// The legacy back end's N-API entry points: arguments are converted on the main thread, the
// work runs on the pool under one process-wide mutex (one legacy operation at a time: they share
// the spare commit arenas, and two big commits' memory would add up) inside the requested
// network namespace. A read crosses back as its wire string
// and its rules' counters in a BigUint64Array; a commit takes one wire string per table
// (docs/wire.md).
#include "legacy.h"

#include <algorithm>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../common/netns.h"
#include "../common/warm_thread.h"
#include "../common/worker.h"
#include "../restore/held.h"
#include "backend.h"

namespace iptkit {

// The names the kernel lists in /proc/net/ip_tables_names, as this thread (in its netns) sees them.
OpError legacy::table_names(bool v6, std::vector<std::string>& out) {
  const char* path = v6 ? "/proc/thread-self/net/ip6_tables_names" : "/proc/thread-self/net/ip_tables_names";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return {};  // the ip_tables module is not loaded: no tables
    return make_error(err, "read", std::string("cannot open ") + path + ": " + strerror(err));
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return make_error(err, "read", std::string("cannot read ") + path + ": " + strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) out.emplace_back(text, pos, nl - pos);
    pos = nl + 1;
  }
  return {};
}

namespace {

// A read's result: the wire and its rules' counters (docs/wire.md, "Read").
struct ReadResult {
  std::string wire;
  std::vector<uint64_t> counters;
  bool ascii = false;
  bool digested = false;
  uint64_t digest = 0;
};

// Read buffers kept from one read to the next: a 30,000-rule table is megabytes of wire and
// counters, and every fresh page of them costs a page fault. Two cover a read in flight while
// the previous one is turned into JS values; a buffer grown past kKeepBytes is let go.
class ReadBuffers {
 public:
  ReadResult take() {
    std::lock_guard<std::mutex> lock(m_);
    if (free_.empty()) return {};
    ReadResult r = std::move(free_.back());
    free_.pop_back();
    return r;
  }
  void give(ReadResult&& r) {
    if (r.wire.capacity() + r.counters.capacity() * sizeof(uint64_t) > kKeepBytes) return;
    r.wire.clear();
    r.counters.clear();
    std::lock_guard<std::mutex> lock(m_);
    if (free_.size() < 2) free_.push_back(std::move(r));
  }

 private:
  static constexpr size_t kKeepBytes = 32u << 20;
  std::mutex m_;
  std::vector<ReadResult> free_;
};

ReadBuffers& read_buffers() {
  static ReadBuffers b;
  return b;
}

bool is_ascii(const std::string& s) {
  const char* p = s.data();
  size_t n = s.size(), i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, sizeof w);
    if (w & 0x8080808080808080ull) return false;
  }
  for (; i < n; i++) {
    if (static_cast<unsigned char>(p[i]) & 0x80) return false;
  }
  return true;
}

// The wire is ASCII but for what rules hold (a comment's UTF-8): latin1 skips the UTF-8
// decoding of megabytes when nothing needs it.
napi_value wire_string(napi_env env, const std::string& s, bool ascii) {
  napi_value v;
  napi_status st = ascii ? napi_create_string_latin1(env, s.data(), s.size(), &v)
                         : napi_create_string_utf8(env, s.data(), s.size(), &v);
  NAPI_THROW_IF_FAILED(env, st, nullptr);
  return v;
}

napi_value counters_array(napi_env env, const std::vector<uint64_t>& counters) {
  const size_t bytes = counters.size() * sizeof(uint64_t);
  void* data = nullptr;
  napi_value buffer, array;
  napi_status st = napi_create_arraybuffer(env, bytes, &data, &buffer);
  NAPI_THROW_IF_FAILED(env, st, nullptr);
  if (bytes) memcpy(data, counters.data(), bytes);
  st = napi_create_typedarray(env, napi_biguint64_array, counters.size(), buffer, 0, &array);
  NAPI_THROW_IF_FAILED(env, st, nullptr);
  return array;
}

}  // namespace

std::mutex& legacy::table_mutex() {
  static std::mutex m;
  return m;
}

Napi::Value LegacyTableNames(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  using Names = std::vector<std::string>;
  return PromiseWorker<Names>::Run(
      info.Env(),
      [v6, netns](Names& names) -> OpError {
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        return legacy::table_names(v6, names);
      },
      [](Napi::Env env, Names& names) -> Napi::Value { return string_array_js(env, names); });
}

// `--backend auto`: whether any table the kernel already has holds something. Tables are not
// created by asking (init of a table the kernel lacks would load it), and no rule is printed.
Napi::Value LegacyHoldsRules(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  return PromiseWorker<bool>::Run(
      info.Env(),
      [v6, netns](bool& holds) -> OpError {
        std::lock_guard<std::mutex> lock(legacy::table_mutex());
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        std::vector<std::string> names;
        if (OpError err = legacy::table_names(v6, names)) return err;
        for (const auto& t : names) {
          if (OpError err = v6 ? legacy::holds_rules_v6(t, holds) : legacy::holds_rules_v4(t, holds)) return err;
          if (holds) break;
        }
        return {};
      },
      [](Napi::Env env, bool& holds) -> Napi::Value { return Napi::Boolean::New(env, holds); });
}

namespace {

// A table's digest as legacyFingerprint writes it: 16 lowercase hex digits.
std::string digest_hex(uint64_t digest) {
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(digest));
  return hex;
}

// Per table its name and a digest (table.h table_fingerprint), or "absent". Only the tables the
// kernel lists are asked for: asking for another would make it (an empty one).
OpError fingerprint_tables(bool v6, const std::string& netns, const std::vector<std::string>& tables, std::string& out) {
  NetnsGuard ns(netns);
  if (ns.error()) return ns.error();
  std::vector<std::string> present;
  if (OpError err = legacy::table_names(v6, present)) return err;
  for (const auto& t : tables) {
    bool exists = false;
    uint64_t digest = 0;
    if (std::find(present.begin(), present.end(), t) != present.end()) {
      if (OpError err = v6 ? legacy::fingerprint_v6(t, exists, digest) : legacy::fingerprint_v4(t, exists, digest)) return err;
    }
    out += t + "=" + (exists ? digest_hex(digest) : std::string("absent")) + ";";
  }
  return {};
}

}  // namespace

// What the tables hold, as one string: equal exactly when no rule, chain or policy of them
// changed. On the warm thread (common/warm_thread.h): the copy of the tables comes from the
// arena the commit before it used and left mapped, not from a pool thread's fresh one.
Napi::Value LegacyFingerprint(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  std::vector<std::string> tables = arg_string_array(info, 2, "tables");
  return PromiseWorker<std::string>::Run(
      info.Env(),
      [v6, netns, tables](std::string& out) -> OpError {
        OpError result;
        WarmThread::run([&] { result = fingerprint_tables(v6, netns, tables, out); });
        return result;
      },
      [](Napi::Env env, std::string& out) -> Napi::Value { return Napi::String::New(env, out); });
}

Napi::Value LegacyRead(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  std::string table = arg_string(info, 2, "table");
  // `digest`: also the table's digest (legacyFingerprint's part) of the very copy read.
  const bool digest = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  return PromiseWorker<ReadResult>::Run(
      info.Env(),
      [v6, netns, table, digest](ReadResult& out) -> OpError {
        out = read_buffers().take();
        std::lock_guard<std::mutex> lock(legacy::table_mutex());
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        if (OpError err = legacy::recover_pending(v6, false)) return err;
        OpError err =
            v6 ? legacy::read_v6(table, out.wire, out.counters, digest ? &out.digest : nullptr)
               : legacy::read_v4(table, out.wire, out.counters, digest ? &out.digest : nullptr);
        out.digested = digest;
        out.ascii = is_ascii(out.wire);
        return err;
      },
      [](Napi::Env env, ReadResult& out) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("wire", Napi::Value(env, wire_string(env, out.wire, out.ascii)));
        o.Set("counters", Napi::Value(env, counters_array(env, out.counters)));
        o.Set("handles", env.Null());
        if (out.digested) {
          o.Set("digest", digest_hex(out.digest));
        }
        read_buffers().give(std::move(out));
        return o;
      });
}

Napi::Value LegacyCommit(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  auto wires = std::make_shared<std::vector<commit::WireText>>(commit::WireText::from_js(info, 2, "tables"));
  const int64_t footprint = commit::commit_footprint(*wires);
  auto held = restore::arg_held(info, 3);
  // `expect`: a fingerprint (legacyFingerprint's form) the tables must still have, for a commit
  // planned on kept tables; the outcomes then carry each committed table's digest after it.
  std::optional<legacy::TableDigests> check;
  if (info.Length() > 4 && info[4].IsString()) {
    check.emplace();
    const std::string fp = info[4].As<Napi::String>().Utf8Value();
    for (size_t at = 0; at < fp.size();) {
      const size_t eq = fp.find('=', at), end = fp.find(';', at);
      if (eq == std::string::npos || end == std::string::npos || eq > end || end - eq - 1 != 16) {
        throw Napi::RangeError::New(info.Env(), "expect: not a fingerprint of present tables");
      }
      uint64_t d = 0;
      for (size_t k = eq + 1; k < end; k++) {
        const char c = fp[k];
        const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) throw Napi::RangeError::New(info.Env(), "expect: not a fingerprint of present tables");
        d = d << 4 | static_cast<uint64_t>(v);
      }
      check->expect.emplace_back(fp.substr(at, eq - at), d);
      at = end + 1;
    }
  }
  struct Result {
    std::vector<restore::HeldOutcome> outcomes;
    std::optional<legacy::TableDigests> digests;
    std::vector<std::string> committed;  // the committed tables' names, in the outcomes' order
  };
  return PromiseWorker<Result>::Run(
      info.Env(),
      [v6, netns, held, wires, check](Result& r) -> OpError {
        auto& outcomes = r.outcomes;
        r.digests = check;
        // On the warm thread (common/warm_thread.h), as a restore: the commit's megabytes come
        // from one malloc arena that keeps them, and the fingerprint after it reuses them.
        OpError result;
        WarmThread::run([&] {
          result = [&]() -> OpError {
            std::lock_guard<std::mutex> lock(legacy::table_mutex());
            NetnsGuard ns(netns);
            if (ns.error()) return ns.error();
            if (OpError err = legacy::recover_pending(v6, false)) return err;
            std::vector<commit::TablePlan> plans;
            if (OpError err = restore::plan_wires(*wires, v6 ? Family::ipv6 : Family::ipv4, held.get(), false, plans, outcomes,
                                                  v6 ? legacy::entry_sink_v6 : legacy::entry_sink_v4)) {
              return err;
            }
            if (plans.empty()) return {};
            for (const auto& p : plans) r.committed.push_back(p.name);
            legacy::TableDigests* digests = r.digests ? &*r.digests : nullptr;
            return v6 ? legacy::commit_v6(plans, digests) : legacy::commit_v4(plans, digests);
          }();
        });
        return result;
      },
      [](Napi::Env env, Result& r) -> Napi::Value {
        Napi::Array a = restore::outcomes_js(env, r.outcomes).As<Napi::Array>();
        if (!r.digests) return a;
        size_t k = 0;
        for (uint32_t i = 0; i < r.outcomes.size(); i++) {
          if (r.outcomes[i].unchanged || k >= r.committed.size()) continue;
          const std::string& name = r.committed[k++];
          for (const auto& [t, d] : r.digests->after) {
            if (t != name) continue;
            a.Get(i).As<Napi::Object>().Set("digest", digest_hex(d));
          }
        }
        return a;
      },
      footprint);
}

Napi::Value LegacyRecover(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  std::string lock_path;
  int64_t timeout_ms = 10000;
  if (info.Length() > 2 && info[2].IsString()) lock_path = info[2].As<Napi::String>().Utf8Value();
  if (info.Length() > 3 && info[3].IsNumber()) timeout_ms = info[3].As<Napi::Number>().Int64Value();
  return PromiseWorker<legacy::Recovery>::Run(
      info.Env(),
      [v6, netns, lock_path, timeout_ms](legacy::Recovery& out) -> OpError {
        std::lock_guard<std::mutex> lock(legacy::table_mutex());
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        return legacy::recover_pending(v6, false, lock_path, timeout_ms, true, out);
      },
      [](Napi::Env env, legacy::Recovery& out) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("family", out.family);
        o.Set("found", out.found);
        o.Set("path", out.path);
        if (out.found) o.Set("outcome", out.outcome);
        Napi::Array tables = Napi::Array::New(env, out.tables.size());
        for (uint32_t i = 0; i < out.tables.size(); i++) {
          Napi::Object t = Napi::Object::New(env);
          t.Set("name", out.tables[i].name);
          t.Set("state", out.tables[i].state);
          t.Set("action", out.tables[i].action);
          tables.Set(i, t);
        }
        o.Set("tables", tables);
        return o;
      });
}

}  // namespace iptkit
