// The IPv4 REJECT target (ipt_REJECT.h, struct ipt_reject_info, revision 0) in the native
// dialect: libipt_REJECT's reply types (enum ipt_reject_with) on the REJECT module both
// families share (reject.h). The IPv6 twin with the same kernel name is ip6t_REJECT.cc.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "reject.h"

namespace iptkit {
namespace {

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
