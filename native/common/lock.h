// The xtables lock: the flock(2) on /run/xtables.lock (or $XTABLES_LOCKFILE) that every
// `iptables -w` takes, so that iptkit and iptables never replace a table under each other.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "error.h"

namespace iptkit {

// Takes the lock, polling every `interval_ms` for up to `timeout_ms`: `fd` holds it until closed.
OpError xtables_lock(const std::string& path, int64_t timeout_ms, int64_t interval_ms, int& fd);

Napi::Value LockAcquire(const Napi::CallbackInfo& info);  // (path, timeoutMs, intervalMs) → Promise<fd>
Napi::Value LockRelease(const Napi::CallbackInfo& info);  // (fd) → undefined

}  // namespace iptkit
