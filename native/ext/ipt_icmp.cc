// The IPv4 `icmp` match (netfilter_ipv4/ip_tables.h, struct ipt_icmp, revision 0) in the
// native dialect. This file holds libipt_icmp's words and type names; the module itself is
// icmp.h, shared with ip6t_icmp6.cc.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#include "../dialect/extension.h"
#include "icmp.h"

namespace iptkit {
namespace {

using dialect::IcmpName;
using dialect::OptionSpec;

// libxtables' icmp_codes, in its order: the first entry that fits a type and code range is
// the name -L prints; later duplicates (pong, ping, ttl-exceeded) are input aliases.
const IcmpName icmp_names[] = {
    {"any", 0xff, 0, 0xff},
    {"echo-reply", 0, 0, 0xff},
    {"pong", 0, 0, 0xff},
    {"destination-unreachable", 3, 0, 0xff},
    {"network-unreachable", 3, 0, 0},
    {"host-unreachable", 3, 1, 1},
    {"protocol-unreachable", 3, 2, 2},
    {"port-unreachable", 3, 3, 3},
    {"fragmentation-needed", 3, 4, 4},
    {"source-route-failed", 3, 5, 5},
    {"network-unknown", 3, 6, 6},
    {"host-unknown", 3, 7, 7},
    {"network-prohibited", 3, 9, 9},
    {"host-prohibited", 3, 10, 10},
    {"TOS-network-unreachable", 3, 11, 11},
    {"TOS-host-unreachable", 3, 12, 12},
    {"communication-prohibited", 3, 13, 13},
    {"host-precedence-violation", 3, 14, 14},
    {"precedence-cutoff", 3, 15, 15},
    {"source-quench", 4, 0, 0xff},
    {"redirect", 5, 0, 0xff},
    {"network-redirect", 5, 0, 0},
    {"host-redirect", 5, 1, 1},
    {"TOS-network-redirect", 5, 2, 2},
    {"TOS-host-redirect", 5, 3, 3},
    {"echo-request", 8, 0, 0xff},
    {"ping", 8, 0, 0xff},
    {"router-advertisement", 9, 0, 0xff},
    {"router-solicitation", 10, 0, 0xff},
    {"time-exceeded", 11, 0, 0xff},
    {"ttl-exceeded", 11, 0, 0xff},
    {"ttl-zero-during-transit", 11, 0, 0},
    {"ttl-zero-during-reassembly", 11, 1, 1},
    {"parameter-problem", 12, 0, 0xff},
    {"ip-header-bad", 12, 0, 0},
    {"required-option-missing", 12, 1, 1},
    {"timestamp-request", 13, 0, 0xff},
    {"timestamp-reply", 14, 0, 0xff},
    {"address-mask-request", 17, 0, 0xff},
    {"address-mask-reply", 18, 0, 0xff},
};

const OptionSpec icmp_options[] = {
    {"icmp-type", nullptr, true, true, 0},
    {nullptr},
};

constexpr icmp::Words kWords{"icmp", "icmp-type", "ICMP", "icmp", IPPROTO_ICMP, "icmp", icmp_names,
                             sizeof icmp_names / sizeof icmp_names[0], icmp_options, true};
using Match = icmp::Match<ipt_icmp, IPT_ICMP_INV, kWords>;

const dialect::Extension icmp_extension{
    "icmp", nullptr, "icmp", false, NFPROTO_IPV4, 0, 1u << 0, Match::size, Match::usersize, icmp_options,
    Match::parse, nullptr, Match::save, Match::list,
};
IPTKIT_REGISTER_EXTENSION(icmp_extension);

}  // namespace
}  // namespace iptkit
