// The SNAT and DNAT targets (kernel module xt_nat): revision 0 (IPv4 only, struct
// nf_nat_ipv4_multi_range_compat), revision 1 (struct nf_nat_range) and revision 2 (struct
// nf_nat_range2, which adds base_proto for DNAT's shifted port maps).
//
// iptables 1.8.9 writes: IPv4 SNAT rev 0, IPv4 DNAT rev 2, IPv6 SNAT rev 1, IPv6 DNAT rev 2.
// Every revision is decoded and encoded so that rules written by other versions survive.
//
// Fields (schema in nf_nat_range.h, shared with MASQUERADE and REDIRECT):
//   flags=N min_addr=ADDR max_addr=ADDR min_proto=PORT max_proto=PORT
//   [base_proto=PORT]   revision 2 only, always present there
//   [rangesize=N]       revision 0 only, when not 1
#include "codec.h"
#include "nf_nat_range.h"

namespace iptkit {
namespace {

constexpr int kIPv4 = static_cast<int>(Family::ipv4);

IPTKIT_NAT_CODEC(snat0, "SNAT", 0, kIPv4, nat::Layout::compat, nf_nat_ipv4_multi_range_compat);
IPTKIT_NAT_CODEC(dnat0, "DNAT", 0, kIPv4, nat::Layout::compat, nf_nat_ipv4_multi_range_compat);
IPTKIT_NAT_CODEC(snat1, "SNAT", 1, 0, nat::Layout::range, nf_nat_range);
IPTKIT_NAT_CODEC(dnat1, "DNAT", 1, 0, nat::Layout::range, nf_nat_range);
IPTKIT_NAT_CODEC(snat2, "SNAT", 2, 0, nat::Layout::range2, nf_nat_range2);
IPTKIT_NAT_CODEC(dnat2, "DNAT", 2, 0, nat::Layout::range2, nf_nat_range2);

}  // namespace
}  // namespace iptkit
