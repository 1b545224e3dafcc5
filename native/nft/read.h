// nftRead: the iptables-nft tables of one family, dumped over netlink at one generation and
// written as docs/wire.md strings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/error.h"

namespace iptkit {
namespace nft {

struct ReadResult {
  uint32_t generation = 0;
  std::vector<std::string> tables;
};

// `only` null: every iptables-nft table that exists. Runs in the calling thread's namespace.
OpError read_tables(bool v6, const std::vector<std::string>* only, ReadResult& out);

}  // namespace nft
}  // namespace iptkit
