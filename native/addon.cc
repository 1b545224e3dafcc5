// The module's entry: plain functions; the kernel ones return a Promise (see src/native-binding.ts).
#include <malloc.h>
#include <napi.h>

#include <cstdlib>
#include <cstring>

#include "common/lock.h"
#include "common/netns_js.h"
#include "common/scratch.h"
#include "dialect/js.h"
#include "ipset/ipset.h"
#include "legacy/legacy.h"
#include "nft/nft.h"
#include "nft/objects_napi.h"
#include "restore/held.h"
#include "restore/run.h"
#include "save/save.h"
#include "rtnl/rtnl.h"

namespace {

// A large commit lives on megabytes of short-lived memory (steps, plans, entries, batches),
// and on a VM a page fault costs ~20 µs: given back to the kernel after each commit (glibc's
// default trims above 128 KiB), the memory of the next one is faulted in afresh, which took
// more time than parsing, planning and committing together. So freed memory up to 64 MiB
// stays mapped for the next commit, and blocks below 32 MiB come from the heap, where it can
// be reused. Left alone when the user tunes malloc (GLIBC_TUNABLES) or IPTKIT_MALLOC=default.
void tune_malloc() {
  const char* tunables = getenv("GLIBC_TUNABLES");
  const char* opt = getenv("IPTKIT_MALLOC");
  if ((tunables && strstr(tunables, "glibc.malloc.")) || (opt && strcmp(opt, "default") == 0)) return;
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tune_malloc();
  exports.Set("legacyTableNames", Napi::Function::New(env, iptkit::LegacyTableNames, "legacyTableNames"));
  exports.Set("legacyRead", Napi::Function::New(env, iptkit::LegacyRead, "legacyRead"));
  exports.Set("legacyHoldsRules", Napi::Function::New(env, iptkit::LegacyHoldsRules, "legacyHoldsRules"));
  exports.Set("legacyFingerprint", Napi::Function::New(env, iptkit::LegacyFingerprint, "legacyFingerprint"));
  exports.Set("legacyCommit", Napi::Function::New(env, iptkit::LegacyCommit, "legacyCommit"));
  exports.Set("legacyRecover", Napi::Function::New(env, iptkit::LegacyRecover, "legacyRecover"));
  exports.Set("lockAcquire", Napi::Function::New(env, iptkit::LockAcquire, "lockAcquire"));
  exports.Set("lockRelease", Napi::Function::New(env, iptkit::LockRelease, "lockRelease"));
  exports.Set("netnsCookie", Napi::Function::New(env, iptkit::NetnsCookie, "netnsCookie"));
  exports.Set("nftRead", Napi::Function::New(env, iptkit::NftRead, "nftRead"));
  exports.Set("nftTableNames", Napi::Function::New(env, iptkit::NftTableNames, "nftTableNames"));
  exports.Set("nftHoldsRules", Napi::Function::New(env, iptkit::NftHoldsRules, "nftHoldsRules"));
  exports.Set("nftGeneration", Napi::Function::New(env, iptkit::NftGeneration, "nftGeneration"));
  exports.Set("nftCommit", Napi::Function::New(env, iptkit::NftCommit, "nftCommit"));
  exports.Set("nftObjectsRead", Napi::Function::New(env, iptkit::NftObjectsRead, "nftObjectsRead"));
  exports.Set("nftObjectsCommit", Napi::Function::New(env, iptkit::NftObjectsCommit, "nftObjectsCommit"));
  exports.Set("restore", Napi::Function::New(env, iptkit::Restore, "restore"));
  exports.Set("readHolding", Napi::Function::New(env, iptkit::restore::ReadHolding, "readHolding"));
  exports.Set("save", Napi::Function::New(env, iptkit::Save, "save"));
  exports.Set("restoreResult", Napi::Function::New(env, iptkit::RestoreResult, "restoreResult"));
  exports.Set("scratchBytes", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    const iptkit::ScratchBytes b = iptkit::scratch_bytes();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("kept", Napi::Number::New(info.Env(), static_cast<double>(b.kept)));
    o.Set("lent", Napi::Number::New(info.Env(), static_cast<double>(b.lent)));
    return o;
  }, "scratchBytes"));
  exports.Set("rtnlLinks", Napi::Function::New(env, iptkit::RtnlLinks, "rtnlLinks"));
  exports.Set("ipsetEnsure", Napi::Function::New(env, iptkit::IpsetEnsure, "ipsetEnsure"));
  exports.Set("ipsetList", Napi::Function::New(env, iptkit::IpsetList, "ipsetList"));
  iptkit::register_dialect(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(iptkit, Init)
