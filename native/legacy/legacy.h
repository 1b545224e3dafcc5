// The legacy (x_tables) back end, over the kernel's IPT_SO_* / IP6T_SO_* socket options: list
// the tables, read one table into the wire, commit several tables all or nothing. One
// operation at a time (backend.h table_mutex), inside the requested network namespace.
#pragma once

#include <napi.h>

namespace iptkit {

Napi::Value LegacyTableNames(const Napi::CallbackInfo& info);  // (family, netns)
Napi::Value LegacyRead(const Napi::CallbackInfo& info);        // (family, netns, table)
Napi::Value LegacyHoldsRules(const Napi::CallbackInfo& info);  // (family, netns) → boolean
Napi::Value LegacyFingerprint(const Napi::CallbackInfo& info); // (family, netns, tables[]) → string
Napi::Value LegacyCommit(const Napi::CallbackInfo& info);      // (family, netns, tables[])
Napi::Value LegacyRecover(const Napi::CallbackInfo& info);     // (family, netns, lockPath?, timeoutMs?)

}  // namespace iptkit
