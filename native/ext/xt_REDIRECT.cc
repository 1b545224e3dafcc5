// The REDIRECT target, revision 0 in both families but with two structs: IPv4
// (ipt_REDIRECT) takes struct nf_nat_ipv4_multi_range_compat, IPv6 (ip6t_REDIRECT)
// struct nf_nat_range. iptables 1.8.9 writes revision 0 in both.
//
// Fields (schema in nf_nat_range.h): flags=N min_addr=ADDR max_addr=ADDR min_proto=PORT
// max_proto=PORT [rangesize=N (IPv4, when not 1)]. REDIRECT uses only flags and the ports
// (--to-ports); the addresses are carried so that decode→encode is byte-identical.
#include "codec.h"
#include "nf_nat_range.h"

namespace iptkit {
namespace {

template <nat::Layout L>
void decode(const void* data, size_t len, Family family, FieldWriter& out) {
  nat::decode(L, data, len, family, out);
}

template <nat::Layout L>
bool encode(const Fields& in, Family family, void* data, std::string& err) {
  return nat::encode(L, in, family, data, err);
}

const Codec redirect4{"REDIRECT",
                        0,
                        true,
                        static_cast<int>(Family::ipv4),
                        XT_ALIGN(sizeof(nf_nat_ipv4_multi_range_compat)),
                        XT_ALIGN(sizeof(nf_nat_ipv4_multi_range_compat)),
                        decode<nat::Layout::compat>,
                        encode<nat::Layout::compat>};
IPTKIT_REGISTER_CODEC(redirect4);

const Codec redirect6{"REDIRECT",
                        0,
                        true,
                        static_cast<int>(Family::ipv6),
                        XT_ALIGN(sizeof(nf_nat_range)),
                        XT_ALIGN(sizeof(nf_nat_range)),
                        decode<nat::Layout::range>,
                        encode<nat::Layout::range>};
IPTKIT_REGISTER_CODEC(redirect6);

}  // namespace
}  // namespace iptkit
