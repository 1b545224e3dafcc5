// The legacy (x_tables) back end over libiptc/libip6tc: list the tables, read one table into
// the wire, commit several tables all or nothing. All libiptc use is serialised (it is not
// thread-safe), and runs inside the requested network namespace.
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
