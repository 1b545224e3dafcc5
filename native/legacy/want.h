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
  std::string arena;  // the new entries, back to back (each size is XT_ALIGNed)
  std::vector<WantJump> jumps;  // checked against the kernel's built-in chains before any change
  const char* line_word = "wire line";  // what WantItem/WantJump lines count (commit::TablePlan)
};

// Arenas kept from one commit to the next: a 30,000-rule commit writes megabytes of entries,
// and every fresh page costs a page fault. Callers hold the table mutex, so one commit at a
// time takes and gives them; an arena grown past kKeepArena is let go.
inline std::vector<std::string>& spare_arenas() {
  static std::vector<std::string> spare;
  return spare;
}

inline std::string take_arena() {
  std::vector<std::string>& spare = spare_arenas();
  if (spare.empty()) return {};
  std::string a = std::move(spare.back());
  spare.pop_back();
  return a;
}

inline void give_arena(std::string&& arena) {
  constexpr size_t kKeepArena = 32u << 20, kKeep = 4;
  std::vector<std::string>& spare = spare_arenas();
  // A small one (a moved-from string keeps its inline buffer) is not worth a spare's place.
  if (arena.capacity() < 4096 || arena.capacity() > kKeepArena || spare.size() >= kKeep) return;
  arena.clear();
  spare.push_back(std::move(arena));
}

// Gives the arenas of a commit's tables back when the commit ends, however it ends.
class ArenaReturn {
 public:
  explicit ArenaReturn(std::vector<WantTable>& tables) : tables_(tables) {}
  ~ArenaReturn() {
    for (WantTable& t : tables_) give_arena(std::move(t.arena));
  }
  ArenaReturn(const ArenaReturn&) = delete;
  ArenaReturn& operator=(const ArenaReturn&) = delete;

 private:
  std::vector<WantTable>& tables_;
};

}  // namespace iptkit::legacy
