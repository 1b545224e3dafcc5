// ipsets of a namespace made what a caller describes, over the ipset netlink protocol
// (NFNL_SUBSYS_IPSET with libmnl), so that rules naming them (`-m set --match-set NAME …`,
// native/ext/xt_set.cc) can be committed: Docker 28.0.0 keeps its bridges' subnets in
// hash:net sets. No `ipset` tool is run.
#pragma once

#include <napi.h>

namespace iptkit {

// ipsetEnsure(netns: string | null, sets: Array<{ name, type: 'hash:net', family: 'inet' |
// 'inet6', members: string[] }>): Promise<Array<{ name, created, added, deleted }>>
Napi::Value IpsetEnsure(const Napi::CallbackInfo& info);

// ipsetList(netns: string | null, names: string[]): Promise<Array<null | { name, type, family:
// 'inet' | 'inet6', members: string[] }>> (null: no such set in the namespace)
Napi::Value IpsetList(const Napi::CallbackInfo& info);

}  // namespace iptkit
