// The IPv6 `icmp6` match (netfilter_ipv6/ip6_tables.h, struct ip6t_icmp, revision 0); users
// write it `-m icmp6` or `-m icmpv6`.
//
// Fields, every one always present, in this order:
//   type=N           ICMPv6 type
//   code=LO:HI       ICMPv6 code range (0:255 when no code was given)
//   invflags=N       IP6T_ICMP_INV=1
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <cstring>

#include "codec.h"
#include "match_fields.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  ip6t_icmp m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  out.u64("type", m.type);
  put_range(out, "code", m.code[0], m.code[1]);
  out.u64("invflags", m.invflags);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t type = 0, lo = 0, hi = 0xff, inv = 0;
  if (!get_u64(in, "type", 0xff, type, err) || !get_range(in, "code", 0xff, lo, hi, err) ||
      !get_u64(in, "invflags", IP6T_ICMP_INV, inv, err)) {
    return false;
  }
  ip6t_icmp m{};
  m.type = static_cast<uint8_t>(type);
  m.code[0] = static_cast<uint8_t>(lo);
  m.code[1] = static_cast<uint8_t>(hi);
  m.invflags = static_cast<uint8_t>(inv);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"icmp6", 0, false, NFPROTO_IPV6, XT_ALIGN(sizeof(ip6t_icmp)), sizeof(ip6t_icmp), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
