// nftRead: the iptables-nft tables of one family, dumped over netlink at one generation and
// written as docs/wire.md strings with their counters and handles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/error.h"

namespace iptkit {
namespace nft {

// One table as docs/wire.md's Read gives it: the frame with each rule's canonical text, and
// beside it each rule's counters (two per rule) and handle, in the order of the text.
struct TableRead {
  std::string wire;
  std::vector<uint64_t> counters;
  std::vector<uint64_t> handles;
};

struct ReadResult {
  uint32_t generation = 0;
  uint64_t netns = 0;  // the namespace's cookie (SO_NETNS_COOKIE), 0 when unknown
  std::vector<TableRead> tables;
};

// `only` null: every iptables-nft table that exists. Runs in the calling thread's namespace.
OpError read_tables(bool v6, const std::vector<std::string>* only, ReadResult& out);

// The iptables-nft tables of the family that exist, in read_tables' order; nothing is dumped
// but the table list (a read of every table costs a rule dump, seconds at 300,000 rules).
OpError table_names(bool v6, std::vector<std::string>& out);

// Whether the family's iptables tables hold anything: a rule, a user-defined chain or a base
// chain whose policy is not ACCEPT (what `--backend auto` asks). Stops at the first it finds:
// no rule is decoded, and a rule dump ends after its first message.
OpError holds_rules(bool v6, bool& holds);

}  // namespace nft
}  // namespace iptkit
