// A table as a commit wants it (WantTable): per chain, old rules kept by their index and new
// rules as entries in an arena, with policies, counters and the guards planned on the read.
// Made from a commit plan (table.h build_want) or from a table as read (capture_table, for
// putting it back); laid out over the kernel's table by replace.h.
#pragma once

#include <linux/netfilter/x_tables.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../common/scratch.h"

namespace iptkit::legacy {

// A rule of a wanted chain: an old rule kept by index, or a new entry in the table's arena.
struct WantItem {
  int64_t keep = -1;  // old index, or -1 for a new rule
  size_t off = 0;     // new rule: offset of its entry in WantTable::arena
  int line = 0;       // input line, for messages
};

struct WantChain {
  std::string name;
  int line = 0;
  std::string policy;  // empty: leave the built-in chain's policy (and counters) alone
  bool has_counters = false;
  xt_counters counters{};
  bool has_was = false;
  uint64_t was = 0;
  size_t keeps = 0;
  std::vector<WantItem> items;
};

struct WantJump {
  std::string chain;  // the chain the rule is in
  std::string to;     // the chain it jumps to
  int line = 0;
};

struct WantTable {
  std::string name;
  // append=1: only appends to the listed chains; other chains are left alone (docs/wire.md).
  bool append = false;
  // append=1: extension targets, which must not name a chain of the kernel's table
  // (jump: the rule's chain, to: the target's name, line: its wire line).
  std::vector<WantJump> targets;
  std::vector<WantChain> chains;
  ScratchString arena;  // the new entries, back to back (each size is XT_ALIGNed)
  std::vector<WantJump> jumps;  // checked against the kernel's built-in chains before any change
  const char* line_word = "wire line";  // what WantItem/WantJump lines count (commit::TablePlan)
};

}  // namespace iptkit::legacy
