// Encoding one iptables rule (dialect::Rule, as the dialect parsed it) into the expressions
// iptables-nft 1.8.9 writes for it: native meta/payload/bitwise/cmp for the ip part, native
// expressions for tcp/udp/mark/limit where iptables-nft uses them, compat match/target with
// the struct otherwise, the counter before the verdict, and NFTA_RULE_COMPAT for -p.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <string>

#include "../dialect/rule.h"

namespace iptkit {
namespace nft {

// Appends the rule's NFTA_RULE_EXPRESSIONS and NFTA_RULE_COMPAT to the NEWRULE message `nlh`
// (table and chain are the caller's), with a counter at `packets`/`bytes`; `nlh` has room for
// encoded_size_bound(rule) more bytes, zeroed (libmnl leaves padding as it finds it). False
// with `err` saying why when nf_tables has no form for it.
bool encode_rule(const dialect::Rule& rule, uint64_t packets, uint64_t bytes, Family family, nlmsghdr* nlh,
                 std::string& err);

// A generous upper bound of the netlink payload encode_rule produces for `rule`.
size_t encoded_size_bound(const dialect::Rule& rule);

}  // namespace nft
}  // namespace iptkit
