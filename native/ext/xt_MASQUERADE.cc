// The MASQUERADE target, revision 0 in both families but with two structs: IPv4
// (ipt_MASQUERADE) takes struct nf_nat_ipv4_multi_range_compat, IPv6 (ip6t_MASQUERADE)
// struct nf_nat_range. iptables 1.8.9 writes revision 0 in both.
//
// The dialect (libxt_NAT.c): `-j MASQUERADE [--to-ports PORT[-PORT]] [--random] [--random-fully]`,
// one module per family (their structs differ). A /BASE after the ports is accepted as in
// iptables, but neither struct holds it: it reads back /0.
#include "../dialect/extension.h"
#include "nf_nat_range.h"

namespace iptkit {
namespace {

constexpr dialect::OptionSpec kOptions[] = {
    {"to-ports", nullptr, true, false, 1},
    {"random", nullptr, false, false, 0},
    {"random-fully", nullptr, false, false, 0},
    {nullptr, nullptr, false, false, 0},
};

constexpr nat::Target kMasquerade4{"MASQUERADE", Family::ipv4, 0, kOptions,
                                   "--to-ports ", "masq ports: ", true, false, -1};
constexpr nat::Target kMasquerade6{"MASQUERADE", Family::ipv6, 0, kOptions,
                                   "--to-ports ", "masq ports: ", true, false, -1};

constexpr int kIPv4 = static_cast<int>(Family::ipv4);
constexpr int kIPv6 = static_cast<int>(Family::ipv6);

const dialect::Extension masquerade4_ext{"MASQUERADE", nullptr, "MASQUERADE", true, kIPv4, 0, 0b1,
                                         nat::size_as<Family::ipv4>, nat::size_as<Family::ipv4>, kOptions,
                                         nat::parse_as<&kMasquerade4>, nullptr, nat::save_as<&kMasquerade4>,
                                         nat::list_as<&kMasquerade4>};
IPTKIT_REGISTER_EXTENSION(masquerade4_ext);
const dialect::Extension masquerade6_ext{"MASQUERADE", nullptr, "MASQUERADE", true, kIPv6, 0, 0b1,
                                         nat::size_as<Family::ipv6>, nat::size_as<Family::ipv6>, kOptions,
                                         nat::parse_as<&kMasquerade6>, nullptr, nat::save_as<&kMasquerade6>,
                                         nat::list_as<&kMasquerade6>};
IPTKIT_REGISTER_EXTENSION(masquerade6_ext);

}  // namespace
}  // namespace iptkit
