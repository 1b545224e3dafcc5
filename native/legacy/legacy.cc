// Placeholder: the libiptc back end lands in the next commit.
#include "legacy.h"

#include <cerrno>

#include "../common/worker.h"

namespace iptkit {
namespace {
Napi::Value not_yet(const Napi::CallbackInfo& info, const char* op) {
  return PromiseWorker<int>::Run(
      info.Env(), [op](int&) { return make_error(ENOSYS, op, "the legacy back end is not built yet"); },
      [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); });
}
}  // namespace
Napi::Value LegacyTableNames(const Napi::CallbackInfo& info) { return not_yet(info, "tables"); }
Napi::Value LegacyRead(const Napi::CallbackInfo& info) { return not_yet(info, "read"); }
Napi::Value LegacyCommit(const Napi::CallbackInfo& info) { return not_yet(info, "commit"); }
}  // namespace iptkit
