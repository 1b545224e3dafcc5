// The SNAT and DNAT targets (kernel module xt_nat): revision 0 (IPv4 only, struct
// nf_nat_ipv4_multi_range_compat), revision 1 (struct nf_nat_range) and revision 2 (struct
// nf_nat_range2, which adds base_proto for DNAT's shifted port maps).
//
// iptables 1.8.9 writes: IPv4 SNAT rev 0, IPv4 DNAT rev 2, IPv6 SNAT rev 1, IPv6 DNAT rev 2.
// Every revision prints, so that rules written by other versions read back as text.
//
// The dialect (libxt_NAT.c): one module per family, as the revisions and layouts differ.
//   -j DNAT --to-destination [ADDR[-ADDR]][:PORT[-PORT[/BASE]]] [--random] [--persistent]
//   -j SNAT --to-source [ADDR[-ADDR]][:PORT[-PORT]] [--random] [--random-fully] [--persistent]
// SNAT takes a /BASE as iptables does, but its structs have no room for it: it reads back /0.
#include "../dialect/extension.h"
#include "nf_nat_range.h"

namespace iptkit {
namespace {

constexpr int kIPv4 = static_cast<int>(Family::ipv4);
constexpr int kIPv6 = static_cast<int>(Family::ipv6);

using dialect::Extension;
using dialect::OptionSpec;

constexpr OptionSpec kDnatOptions[] = {
    {"to-destination", nullptr, true, false, 1},
    {"random", nullptr, false, false, 0},
    {"persistent", nullptr, false, false, 0},
    {nullptr, nullptr, false, false, 0},
};

constexpr OptionSpec kSnatOptions[] = {
    {"to-source", nullptr, true, false, 1},
    {"random", nullptr, false, false, 0},
    {"random-fully", nullptr, false, false, 0},
    {"persistent", nullptr, false, false, 0},
    {nullptr, nullptr, false, false, 0},
};

// iptables 1.8.9 writes DNAT revision 2 (struct nf_nat_range2) in both families; SNAT
// revision 0 (the compat struct) for IPv4 and revision 1 (struct nf_nat_range) for IPv6.
constexpr nat::Target kDnat4{"DNAT", Family::ipv4, 2, kDnatOptions, "--to-destination ", "to:", false, false, 0};
constexpr nat::Target kDnat6{"DNAT", Family::ipv6, 2, kDnatOptions, "--to-destination ", "to:", false, false, 0};
constexpr nat::Target kSnat4{"SNAT", Family::ipv4, 0, kSnatOptions, "--to-source ", "to:", false, false, 0};
constexpr nat::Target kSnat6{"SNAT", Family::ipv6, 1, kSnatOptions, "--to-source ", "to:", false, false, 0};

// Revision 0 exists for IPv4 only; the others print in both families.
const Extension dnat4_ext{"DNAT", nullptr, "DNAT", true, kIPv4, 2, 0b111,
                          nat::size_as<Family::ipv4>, nat::size_as<Family::ipv4>, kDnatOptions,
                          nat::parse_as<&kDnat4>, nullptr, nat::save_as<&kDnat4>, nat::list_as<&kDnat4>};
IPTKIT_REGISTER_EXTENSION(dnat4_ext);
const Extension dnat6_ext{"DNAT", nullptr, "DNAT", true, kIPv6, 2, 0b110,
                          nat::size_as<Family::ipv6>, nat::size_as<Family::ipv6>, kDnatOptions,
                          nat::parse_as<&kDnat6>, nullptr, nat::save_as<&kDnat6>, nat::list_as<&kDnat6>};
IPTKIT_REGISTER_EXTENSION(dnat6_ext);
const Extension snat4_ext{"SNAT", nullptr, "SNAT", true, kIPv4, 0, 0b111,
                          nat::size_as<Family::ipv4>, nat::size_as<Family::ipv4>, kSnatOptions,
                          nat::parse_as<&kSnat4>, nullptr, nat::save_as<&kSnat4>, nat::list_as<&kSnat4>};
IPTKIT_REGISTER_EXTENSION(snat4_ext);
const Extension snat6_ext{"SNAT", nullptr, "SNAT", true, kIPv6, 1, 0b110,
                          nat::size_as<Family::ipv6>, nat::size_as<Family::ipv6>, kSnatOptions,
                          nat::parse_as<&kSnat6>, nullptr, nat::save_as<&kSnat6>, nat::list_as<&kSnat6>};
IPTKIT_REGISTER_EXTENSION(snat6_ext);

}  // namespace
}  // namespace iptkit
