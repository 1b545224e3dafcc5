// The MASQUERADE target, revision 0 in both families but with two structs: IPv4
// (ipt_MASQUERADE) takes struct nf_nat_ipv4_multi_range_compat, IPv6 (ip6t_MASQUERADE)
// struct nf_nat_range. iptables 1.8.9 writes revision 0 in both.
//
// Fields (schema in nf_nat_range.h): flags=N min_addr=ADDR max_addr=ADDR min_proto=PORT
// max_proto=PORT [rangesize=N (IPv4, when not 1)]. MASQUERADE uses only flags and the ports
// (--to-ports); the addresses are carried so that decode→encode is byte-identical.
#include "codec.h"
#include "nf_nat_range.h"

namespace iptkit {
namespace {

IPTKIT_NAT_CODEC(masquerade4, "MASQUERADE", 0, static_cast<int>(Family::ipv4), nat::Layout::compat,
                 nf_nat_ipv4_multi_range_compat);
IPTKIT_NAT_CODEC(masquerade6, "MASQUERADE", 0, static_cast<int>(Family::ipv6), nat::Layout::range, nf_nat_range);

}  // namespace
}  // namespace iptkit
