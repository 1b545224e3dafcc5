// The two dumps every reader of a family's tables starts with, parsed by libnftnl: the names of
// the tables, and the chains (each with its table and name, the rest through the nftnl_chain).
#pragma once

#include <libnftnl/chain.h>

#include <cstdint>
#include <functional>

#include "socket.h"

namespace iptkit {
namespace nft {

// Calls `each` with every table's name. Returns 0 or an errno (NlSocket::dump).
int dump_table_names(NlSocket& sock, uint16_t family, const std::function<void(const char* name)>& each);

// Calls `each` with every chain that names its table and itself; a non-zero return stops the
// dump with that errno. Returns 0 or an errno (NlSocket::dump).
int dump_chains(NlSocket& sock, uint16_t family,
                const std::function<int(const nftnl_chain* chain, const char* table, const char* name)>& each);

}  // namespace nft
}  // namespace iptkit
