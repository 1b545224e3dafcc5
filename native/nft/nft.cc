// Placeholder until the nf_tables back end lands: both calls reject with ENOSYS.
#include "nft.h"

#include <cerrno>

#include "../common/worker.h"

namespace iptkit {

namespace {
Napi::Value not_yet(const Napi::CallbackInfo& info, const char* op) {
  return PromiseWorker<int>::Run(
      info.Env(), [op](int&) { return make_error(ENOSYS, op, "the nf_tables back end is not built yet"); },
      [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); });
}
}  // namespace

Napi::Value NftRead(const Napi::CallbackInfo& info) { return not_yet(info, "read"); }
Napi::Value NftCommit(const Napi::CallbackInfo& info) { return not_yet(info, "commit"); }

}  // namespace iptkit
