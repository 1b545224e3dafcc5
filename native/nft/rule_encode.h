// Encoding one iptables rule (dialect::Rule, as the dialect parsed it) into the expressions
// iptables-nft 1.8.9 writes for it: native meta/payload/bitwise/cmp for the ip part, native
// expressions for tcp/udp/mark/limit where iptables-nft uses them, compat match/target with
// the struct otherwise, the counter before the verdict, and NFTA_RULE_COMPAT for -p.
#pragma once

#include <libnftnl/rule.h>

#include <cstdint>
#include <string>

#include "../dialect/rule.h"

namespace iptkit {
namespace nft {

// Adds the rule's expressions and compat attributes to `r` (table and chain are the caller's),
// with a counter at `packets`/`bytes`. False with `err` saying why when nf_tables has no form
// for it.
bool encode_rule(const dialect::Rule& rule, uint64_t packets, uint64_t bytes, Family family, nftnl_rule* r,
                 std::string& err);

// A generous upper bound of the netlink payload encode_rule produces for `rule`.
size_t encoded_size_bound(const dialect::Rule& rule);

}  // namespace nft
}  // namespace iptkit
