// The IPv4 REJECT target (ipt_REJECT.h, struct ipt_reject_info, revision 0). The IPv6 twin
// with the same kernel name but other reply types is ip6t_REJECT.cc.
//
// Fields:
//   with=N     enum ipt_reject_with (IPT_ICMP_NET_UNREACHABLE=0 … IPT_ICMP_PORT_UNREACHABLE=3
//              … IPT_TCP_RESET=7, IPT_ICMP_ADMIN_PROHIBITED=8)
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  ipt_reject_info r{};
  std::memcpy(&r, data, len < sizeof r ? len : sizeof r);
  out.u64("with", static_cast<uint32_t>(r.with));
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  // Default as iptables: a bare -j REJECT replies port-unreachable.
  uint64_t with = IPT_ICMP_PORT_UNREACHABLE;
  if (!get_u64(in, "with", 0xffffffffu, with, err)) return false;
  ipt_reject_info r{};
  r.with = static_cast<ipt_reject_with>(with);
  std::memcpy(data, &r, sizeof r);
  return true;
}

const Codec codec{"REJECT",
                  0,
                  true,
                  static_cast<int>(Family::ipv4),
                  XT_ALIGN(sizeof(ipt_reject_info)),
                  XT_ALIGN(sizeof(ipt_reject_info)),
                  decode,
                  encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
