// The kernel's tables as CurrentTables (see read.h).
#include "read.h"

#include <cerrno>

#include "../legacy/backend.h"
#include "../nft/read.h"

namespace iptkit::restore {

OpError read_current(bool nft, bool v6, const std::vector<std::string>& names, std::vector<CurrentTable>& current,
                     uint32_t& generation) {
  current.assign(names.size(), CurrentTable{});
  for (size_t i = 0; i < names.size(); i++) current[i].name = names[i];
  if (!nft) {
    std::vector<uint64_t> counters;
    for (size_t i = 0; i < names.size(); i++) {
      std::string wire;
      OpError err = v6 ? legacy::read_v6(names[i], wire, counters) : legacy::read_v4(names[i], wire, counters);
      if (err && err.err == ENOENT) continue;
      if (err) return err;
      if (OpError e = current_from_read(std::move(wire), counters, {}, current[i])) return e;
    }
    return {};
  }
  nft::ReadResult read;
  if (OpError err = nft::read_tables(v6, &names, read)) {
    if (err.table.empty()) {
      err.table = names.empty() ? std::string() : names[0];
      for (size_t i = 1; i < names.size(); i++) err.table += "," + names[i];
    }
    return err;
  }
  generation = read.generation;
  for (nft::TableRead& t : read.tables) {
    CurrentTable table;
    if (OpError e = current_from_read(std::move(t.wire), t.counters, t.handles, table)) return e;
    for (auto& c : current) {
      if (c.name == table.name) c = std::move(table);
    }
  }
  return {};
}

}  // namespace iptkit::restore
