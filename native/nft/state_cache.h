// What the last nftRead saw of each table, per network namespace, family and ruleset
// generation: table existence, chains (base chain, policy) and the rule handles of every chain
// in order. nftCommit at the same generation in the same namespace uses it instead of dumping
// again: the batch carries NFTA_GEN_ID, so the kernel refuses it (ERESTART) unless the ruleset
// is still exactly what the read saw, and the handles need no second look.
//
// A namespace is named by its cookie (SO_NETNS_COOKIE), which the kernel never reuses, so a
// deleted namespace whose inode number comes back can never match an old entry.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <linux/netfilter.h>

namespace iptkit {
namespace nft {

struct CurChain {
  bool base = false;
  uint32_t policy = NF_ACCEPT;
  std::vector<uint64_t> handles;  // rule handles in kernel order
};

struct CurTable {
  bool exists = false;
  std::map<std::string, CurChain> chains;
};

struct CachedState {
  uint64_t netns = 0;  // SO_NETNS_COOKIE
  uint16_t family = 0;
  uint32_t generation = 0;
  std::map<std::string, CurTable> tables;  // the tables the read looked at (present or not)
};

// Records `state` (replacing an older one for the same namespace and family). Thread-safe.
void state_cache_put(std::shared_ptr<const CachedState> state);
// The recorded state for exactly this namespace, family and generation, or null. Thread-safe.
std::shared_ptr<const CachedState> state_cache_get(uint64_t netns, uint16_t family, uint32_t generation);

}  // namespace nft
}  // namespace iptkit
