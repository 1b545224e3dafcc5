// The N-API entry points of native nftables objects (objects.h).
#pragma once

#include <napi.h>

namespace iptkit {

Napi::Value NftObjectsRead(const Napi::CallbackInfo& info);    // (family 'ip'|'ip6', netns, name) → table | null
Napi::Value NftObjectsCommit(const Napi::CallbackInfo& info);  // (netns, table or [tables], 'replace'|'merge')

}  // namespace iptkit
