// The legacy back end's N-API entry points: arguments are converted on the main thread, the
// work runs on the pool under one process-wide mutex (libiptc keeps global state and is not
// thread-safe) inside the requested network namespace, and results cross back as one string
// per table (docs/wire.md).
#include "legacy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../common/netns.h"
#include "../common/worker.h"
#include "backend.h"

namespace iptkit {
namespace {

std::mutex& iptc_mutex() {
  static std::mutex m;
  return m;
}

// The names the kernel lists in /proc/net/ip_tables_names, as this thread (in its netns) sees them.
OpError table_names(bool v6, std::vector<std::string>& out) {
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

}  // namespace

Napi::Value LegacyTableNames(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  using Names = std::vector<std::string>;
  return PromiseWorker<Names>::Run(
      info.Env(),
      [v6, netns](Names& names) -> OpError {
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        return table_names(v6, names);
      },
      [](Napi::Env env, Names& names) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, names.size());
        for (uint32_t i = 0; i < names.size(); i++) a.Set(i, Napi::String::New(env, names[i]));
        return a;
      });
}

Napi::Value LegacyRead(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  std::string table = arg_string(info, 2, "table");
  return PromiseWorker<std::string>::Run(
      info.Env(),
      [v6, netns, table](std::string& out) -> OpError {
        std::lock_guard<std::mutex> lock(iptc_mutex());
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        return v6 ? legacy::read_v6(table, out) : legacy::read_v4(table, out);
      },
      [](Napi::Env env, std::string& out) -> Napi::Value {
        // The wire is ASCII (docs/wire.md escapes every byte >= 0x7f): latin1 skips UTF-8 decoding.
        napi_value s;
        napi_status st = napi_create_string_latin1(env, out.data(), out.size(), &s);
        NAPI_THROW_IF_FAILED(env, st, Napi::Value());
        return Napi::Value(env, s);
      });
}

Napi::Value LegacyCommit(const Napi::CallbackInfo& info) {
  bool v6 = arg_family_v6(info, 0);
  std::string netns = arg_netns(info, 1);
  if (info.Length() <= 2 || !info[2].IsArray()) {
    throw Napi::TypeError::New(info.Env(), "tables must be an array of wire strings");
  }
  Napi::Array arr = info[2].As<Napi::Array>();
  std::vector<std::string> wires;
  wires.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsString()) {
      throw Napi::TypeError::New(info.Env(), "tables[" + std::to_string(i) + "] must be a string");
    }
    wires.push_back(v.As<Napi::String>().Utf8Value());
  }
  return PromiseWorker<bool>::Run(
      info.Env(),
      [v6, netns, wires = std::move(wires)](bool&) -> OpError {
        std::lock_guard<std::mutex> lock(iptc_mutex());
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        return v6 ? legacy::commit_v6(wires) : legacy::commit_v4(wires);
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

}  // namespace iptkit
