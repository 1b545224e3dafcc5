// iptables-restore input read natively: `*table` lines, `:CHAIN POLICY [p:b]` declarations,
// commands (each parsed by parse_command), `COMMIT`. Nothing here touches the kernel; every
// error names its 1-based input line and the token.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../common/scratch.h"
#include "parse.h"

namespace iptkit {
class Pieces;  // common/parallel.h
namespace dialect {

struct ChainDeclaration {
  std::string name;
  std::string policy;  // empty for `-`
  bool has_counters = false;
  uint64_t packets = 0, bytes = 0;
};

// A declaration or a command, in input order (iptables-restore runs them in that order).
// Declarations are few and commands many: a declaration lives behind a pointer, so that the
// tens of thousands of rule steps of a large input stay small (fresh memory is what a large
// restore spends most of its time on).
struct Step {
  size_t line = 0;
  bool is_chain = false;
  std::unique_ptr<ChainDeclaration> chain;  // is_chain
  Command command;
};

struct RestoreTable {
  std::string name;
  size_t line = 0;         // the `*table` line
  size_t commit_line = 0;
  ScratchVector<Step> steps;
};

struct RestoreOptions {
  bool counters = false;   // -c: `[p:b]` counters of chains and rules count
  std::string only_table;  // -T NAME: the other tables are read and skipped
  // Where the rule lines of a large input are parsed at once (null: all on the calling thread),
  // in pieces of at least `lines_per_piece` lines: below that a helper's wake-up and namespace
  // switch cost more than they save. (The fuzzer cuts every input into one-line pieces.)
  const Pieces* pieces = nullptr;
  size_t lines_per_piece = 2048;
};

bool parse_restore(std::string_view text, Family family, const RestoreOptions& opts, std::vector<RestoreTable>& out,
                   ParseError& err);

// Whether `table` names a table iptables knows, and its built-in chains in hook order.
const std::vector<std::string_view>* builtin_chains(std::string_view table);

}  // namespace dialect
}  // namespace iptkit
