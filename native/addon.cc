// The module's entry: plain functions; the kernel ones return a Promise (see binding.d.ts).
#include <napi.h>

#include "common/lock.h"
#include "dialect/js.h"
#include "legacy/legacy.h"
#include "nft/nft.h"
#include "restore/run.h"
#include "rtnl/rtnl.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("legacyTableNames", Napi::Function::New(env, iptkit::LegacyTableNames, "legacyTableNames"));
  exports.Set("legacyRead", Napi::Function::New(env, iptkit::LegacyRead, "legacyRead"));
  exports.Set("legacyCommit", Napi::Function::New(env, iptkit::LegacyCommit, "legacyCommit"));
  exports.Set("lockAcquire", Napi::Function::New(env, iptkit::LockAcquire, "lockAcquire"));
  exports.Set("lockRelease", Napi::Function::New(env, iptkit::LockRelease, "lockRelease"));
  exports.Set("nftRead", Napi::Function::New(env, iptkit::NftRead, "nftRead"));
  exports.Set("nftCommit", Napi::Function::New(env, iptkit::NftCommit, "nftCommit"));
  exports.Set("restore", Napi::Function::New(env, iptkit::Restore, "restore"));
  exports.Set("restoreResult", Napi::Function::New(env, iptkit::RestoreResult, "restoreResult"));
  exports.Set("rtnlLinks", Napi::Function::New(env, iptkit::RtnlLinks, "rtnlLinks"));
  iptkit::register_dialect(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(iptkit, Init)
