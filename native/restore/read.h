// The kernel's tables as CurrentTables: what a restore plans against and what save prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "current.h"

namespace iptkit::restore {

// `names`, as they are now, in that order (a table the kernel does not have: exists false).
// Legacy: a table whose module is not loaded reads as absent (as in iptables-save); the
// caller holds the table mutex. nft: `generation` is the read's. Runs in the calling
// thread's namespace.
OpError read_current(bool nft, bool v6, const std::vector<std::string>& names, std::vector<CurrentTable>& current,
                     uint32_t& generation);

}  // namespace iptkit::restore
