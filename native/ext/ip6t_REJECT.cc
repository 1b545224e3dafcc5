// The IPv6 REJECT target (ip6t_REJECT.h, struct ip6t_reject_info, revision 0). Same kernel
// name as the IPv4 one (ipt_REJECT.cc), other reply types.
//
// Fields:
//   with=N     enum ip6t_reject_with (IP6T_ICMP6_NO_ROUTE=0, ADM_PROHIBITED=1, NOT_NEIGHBOUR=2,
//              ADDR_UNREACH=3, PORT_UNREACH=4, ECHOREPLY=5, TCP_RESET=6, POLICY_FAIL=7,
//              REJECT_ROUTE=8)
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  ip6t_reject_info r{};
  std::memcpy(&r, data, len < sizeof r ? len : sizeof r);
  out.u64("with", r.with);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t with = IP6T_ICMP6_PORT_UNREACH;
  if (!get_u64(in, "with", 0xffffffffu, with, err)) return false;
  ip6t_reject_info r{};
  r.with = static_cast<uint32_t>(with);
  std::memcpy(data, &r, sizeof r);
  return true;
}

const Codec codec{"REJECT",
                  0,
                  true,
                  static_cast<int>(Family::ipv6),
                  XT_ALIGN(sizeof(ip6t_reject_info)),
                  XT_ALIGN(sizeof(ip6t_reject_info)),
                  decode,
                  encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
