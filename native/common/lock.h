// The xtables lock: the flock(2) on /run/xtables.lock (or $XTABLES_LOCKFILE) that every
// `iptables -w` takes, so that iptkit and iptables never replace a table under each other.
#pragma once

#include <napi.h>

namespace iptkit {

Napi::Value LockAcquire(const Napi::CallbackInfo& info);  // (path, timeoutMs, intervalMs) → Promise<fd>
Napi::Value LockRelease(const Napi::CallbackInfo& info);  // (fd) → undefined

}  // namespace iptkit
