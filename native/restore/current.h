// A table as the kernel has it, from a read (docs/wire.md, "Read"): its chains with policy and
// counters, and its rules as canonical texts with counters and (nft) handles. What a native
// restore plans against; the texts are views into the read's wire string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../common/error.h"

namespace iptkit::restore {

struct CurrentRule {
  std::string_view text;  // `#\t…` for a rule written by nft directly (always kept)
  uint64_t packets = 0, bytes = 0;
  uint64_t handle = 0;    // nft; legacy rules are kept by position
  bool foreign() const { return !text.empty() && text[0] == '#'; }
};

struct CurrentChain {
  std::string name;
  bool builtin = false;
  std::string policy;  // built-in chains
  uint64_t packets = 0, bytes = 0;
  std::vector<CurrentRule> rules;
};

struct CurrentTable {
  std::string name;
  bool exists = false;  // false: the kernel has no such table (nft), or its module is not loaded
  std::vector<CurrentChain> chains;
  std::string wire;     // what the texts point into
  const CurrentChain* find(std::string_view chain) const {
    for (const CurrentChain& c : chains) if (c.name == chain) return &c;
    return nullptr;
  }
};

// Fills `out` from a read's wire (moved in), counters (two per rule) and handles (one per
// rule, or none). EPROTO if the wire is not what a read writes.
OpError current_from_read(std::string&& wire, const std::vector<uint64_t>& counters,
                          const std::vector<uint64_t>& handles, CurrentTable& out);

}  // namespace iptkit::restore
