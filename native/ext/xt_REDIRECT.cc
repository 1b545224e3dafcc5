// The REDIRECT target, revision 0 in both families but with two structs: IPv4
// (ipt_REDIRECT) takes struct nf_nat_ipv4_multi_range_compat, IPv6 (ip6t_REDIRECT)
// struct nf_nat_range. iptables 1.8.9 writes revision 0 in both.
//
// The dialect (libxt_NAT.c): `-j REDIRECT [--to-ports PORT[-PORT]] [--random]`, one module per
// family (their structs differ). A /BASE after the ports is refused, as iptables' DNAT_fcheck
// does for it.
#include "../dialect/extension.h"
#include "nf_nat_range.h"

namespace iptkit {
namespace {

constexpr dialect::OptionSpec kOptions[] = {
    {"to-ports", nullptr, true, false, 1},
    {"random", nullptr, false, false, 0},
    {nullptr, nullptr, false, false, 0},
};

constexpr nat::Target kRedirect4{"REDIRECT", Family::ipv4, 0, kOptions,
                                 "--to-ports ", "redir ports ", true, true, -1};
constexpr nat::Target kRedirect6{"REDIRECT", Family::ipv6, 0, kOptions,
                                 "--to-ports ", "redir ports ", true, true, -1};

constexpr int kIPv4 = static_cast<int>(Family::ipv4);
constexpr int kIPv6 = static_cast<int>(Family::ipv6);

const dialect::Extension redirect4_ext{"REDIRECT", nullptr, "REDIRECT", true, kIPv4, 0, 0b1,
                                       nat::size_as<Family::ipv4>, nat::size_as<Family::ipv4>, kOptions,
                                       nat::parse_as<&kRedirect4>, nullptr, nat::save_as<&kRedirect4>,
                                       nat::list_as<&kRedirect4>};
IPTKIT_REGISTER_EXTENSION(redirect4_ext);
const dialect::Extension redirect6_ext{"REDIRECT", nullptr, "REDIRECT", true, kIPv6, 0, 0b1,
                                       nat::size_as<Family::ipv6>, nat::size_as<Family::ipv6>, kOptions,
                                       nat::parse_as<&kRedirect6>, nullptr, nat::save_as<&kRedirect6>,
                                       nat::list_as<&kRedirect6>};
IPTKIT_REGISTER_EXTENSION(redirect6_ext);

}  // namespace
}  // namespace iptkit
