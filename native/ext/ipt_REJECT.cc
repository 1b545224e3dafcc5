// The IPv4 REJECT target (ipt_REJECT.h, struct ipt_reject_info, revision 0). The IPv6 twin
// with the same kernel name but other reply types is ip6t_REJECT.cc.
//
// Fields:
//   with=N     enum ipt_reject_with (IPT_ICMP_NET_UNREACHABLE=0 … IPT_ICMP_PORT_UNREACHABLE=3
//              … IPT_TCP_RESET=7, IPT_ICMP_ADMIN_PROHIBITED=8)
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "codec.h"
#include "reject.h"

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

// --- the dialect ---------------------------------------------------------------------------
// libipt_REJECT's reply types in its table order (echo-reply is not offered); the rest is the
// REJECT module both families share (reject.h).

constexpr reject::RejectType kTypes[] = {
    {"icmp-net-unreachable", "net-unreach", IPT_ICMP_NET_UNREACHABLE},
    {"icmp-host-unreachable", "host-unreach", IPT_ICMP_HOST_UNREACHABLE},
    {"icmp-proto-unreachable", "proto-unreach", IPT_ICMP_PROT_UNREACHABLE},
    {"icmp-port-unreachable", "port-unreach", IPT_ICMP_PORT_UNREACHABLE},
    {"icmp-net-prohibited", "net-prohib", IPT_ICMP_NET_PROHIBITED},
    {"icmp-host-prohibited", "host-prohib", IPT_ICMP_HOST_PROHIBITED},
    {"tcp-reset", "tcp-rst", IPT_TCP_RESET},
    {"icmp-admin-prohibited", "admin-prohib", IPT_ICMP_ADMIN_PROHIBITED},
};
constexpr reject::Table kTable{kTypes, sizeof kTypes / sizeof kTypes[0], IPT_ICMP_PORT_UNREACHABLE, IPT_TCP_RESET};
using Target = reject::Target<ipt_reject_info, kTable>;

const dialect::Extension extension{"REJECT", nullptr, "REJECT", true, static_cast<int>(Family::ipv4), 0, 0b1,
                                   Target::size, Target::size, reject::kOptions, Target::parse, nullptr,
                                   Target::save, Target::list};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
