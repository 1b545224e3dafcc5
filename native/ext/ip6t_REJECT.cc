// The IPv6 REJECT target (ip6t_REJECT.h, struct ip6t_reject_info, revision 0). Same kernel
// name as the IPv4 one (ipt_REJECT.cc), other reply types.
//
// Fields:
//   with=N     enum ip6t_reject_with (IP6T_ICMP6_NO_ROUTE=0, ADM_PROHIBITED=1, NOT_NEIGHBOUR=2,
//              ADDR_UNREACH=3, PORT_UNREACH=4, ECHOREPLY=5, TCP_RESET=6, POLICY_FAIL=7,
//              REJECT_ROUTE=8)
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>

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

// --- the dialect ---------------------------------------------------------------------------
// libip6t_REJECT's reply types in its table order (not-neighbour is not offered); the rest is
// the REJECT module both families share (reject.h).

constexpr reject::RejectType kTypes[] = {
    {"icmp6-no-route", "no-route", IP6T_ICMP6_NO_ROUTE},
    {"icmp6-adm-prohibited", "adm-prohibited", IP6T_ICMP6_ADM_PROHIBITED},
    {"icmp6-addr-unreachable", "addr-unreach", IP6T_ICMP6_ADDR_UNREACH},
    {"icmp6-port-unreachable", "port-unreach", IP6T_ICMP6_PORT_UNREACH},
    {"tcp-reset", "tcp-reset", IP6T_TCP_RESET},
    {"icmp6-policy-fail", "policy-fail", IP6T_ICMP6_POLICY_FAIL},
    {"icmp6-reject-route", "reject-route", IP6T_ICMP6_REJECT_ROUTE},
};
constexpr reject::Table kTable{kTypes, sizeof kTypes / sizeof kTypes[0], IP6T_ICMP6_PORT_UNREACH, IP6T_TCP_RESET};
using Target = reject::Target<ip6t_reject_info, kTable>;

const dialect::Extension extension{"REJECT", nullptr, "REJECT", true, static_cast<int>(Family::ipv6), 0, 0b1,
                                   Target::size, Target::size, reject::kOptions, Target::parse, nullptr,
                                   Target::save, Target::list};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
