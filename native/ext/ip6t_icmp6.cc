// The IPv6 `icmp6` match (netfilter_ipv6/ip6_tables.h, struct ip6t_icmp, revision 0) in the
// native dialect; users write it `-m icmp6` or `-m icmpv6`. This file holds libip6t_icmp6's
// words and type names; the module itself is icmp.h, shared with ipt_icmp.cc.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "../dialect/extension.h"
#include "icmp.h"

namespace iptkit {
namespace {

using dialect::IcmpName;
using dialect::OptionSpec;

// libxtables' icmpv6_codes as iptables 1.8.9 has them (no MLD names yet), in its order: the
// first entry that fits a type and code range is the name -L prints; later duplicates are
// input aliases.
const IcmpName icmp6_names[] = {
    {"destination-unreachable", 1, 0, 0xff},
    {"no-route", 1, 0, 0},
    {"communication-prohibited", 1, 1, 1},
    {"beyond-scope", 1, 2, 2},
    {"address-unreachable", 1, 3, 3},
    {"port-unreachable", 1, 4, 4},
    {"failed-policy", 1, 5, 5},
    {"reject-route", 1, 6, 6},
    {"packet-too-big", 2, 0, 0xff},
    {"time-exceeded", 3, 0, 0xff},
    {"ttl-exceeded", 3, 0, 0xff},
    {"ttl-zero-during-transit", 3, 0, 0},
    {"ttl-zero-during-reassembly", 3, 1, 1},
    {"parameter-problem", 4, 0, 0xff},
    {"bad-header", 4, 0, 0},
    {"unknown-header-type", 4, 1, 1},
    {"unknown-option", 4, 2, 2},
    {"echo-request", 128, 0, 0xff},
    {"ping", 128, 0, 0xff},
    {"echo-reply", 129, 0, 0xff},
    {"pong", 129, 0, 0xff},
    {"router-solicitation", 133, 0, 0xff},
    {"router-advertisement", 134, 0, 0xff},
    {"neighbour-solicitation", 135, 0, 0xff},
    {"neighbor-solicitation", 135, 0, 0xff},
    {"neighbour-advertisement", 136, 0, 0xff},
    {"neighbor-advertisement", 136, 0, 0xff},
    {"redirect", 137, 0, 0xff},
};

const OptionSpec icmp6_options[] = {
    {"icmpv6-type", nullptr, true, true, 0},
    {nullptr},
};

constexpr icmp::Words kWords{"icmp6", "icmpv6-type", "ICMPv6", "ipv6-icmp", IPPROTO_ICMPV6, "ipv6-icmp",
                             icmp6_names, sizeof icmp6_names / sizeof icmp6_names[0], icmp6_options, false};
using Match = icmp::Match<ip6t_icmp, IP6T_ICMP_INV, kWords>;

const dialect::Extension icmp6_extension{
    "icmp6", "icmpv6", "icmp6", false, NFPROTO_IPV6, 0, 1u << 0, Match::size, Match::usersize, icmp6_options,
    Match::parse, nullptr, Match::save, Match::list,
};
IPTKIT_REGISTER_EXTENSION(icmp6_extension);

}  // namespace
}  // namespace iptkit
