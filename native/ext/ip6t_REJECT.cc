// The IPv6 REJECT target (ip6t_REJECT.h, struct ip6t_reject_info, revision 0) in the native
// dialect: libip6t_REJECT's reply types (enum ip6t_reject_with) on the REJECT module both
// families share (reject.h). Same kernel name as the IPv4 one (ipt_REJECT.cc), other types.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>

#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "reject.h"

namespace iptkit {
namespace {

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
