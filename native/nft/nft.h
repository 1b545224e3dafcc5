// The nf_tables back end over libmnl + libnftnl, in the form iptables-nft writes.
#pragma once

#include <napi.h>

namespace iptkit {

Napi::Value NftRead(const Napi::CallbackInfo& info);    // (family, netns, tables|null) → {generation, tables}
Napi::Value NftTableNames(const Napi::CallbackInfo& info);  // (family, netns) → the iptables tables there are
Napi::Value NftHoldsRules(const Napi::CallbackInfo& info);  // (family, netns) → boolean
Napi::Value NftGeneration(const Napi::CallbackInfo& info);  // (netns) → the ruleset generation
Napi::Value NftCommit(const Napi::CallbackInfo& info);  // (family, netns, generation, tables[], held, echo)

}  // namespace iptkit
