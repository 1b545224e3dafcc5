// The NAT range structs shared by the SNAT/DNAT (xt_nat), MASQUERADE and REDIRECT codecs:
// struct nf_nat_ipv4_multi_range_compat (IPv4 revision 0), struct nf_nat_range (revision 1,
// and IPv6 MASQUERADE/REDIRECT revision 0) and struct nf_nat_range2 (revision 2), all from
// linux/netfilter/nf_nat.h.
//
// Every NAT codec writes the same fields, named after struct nf_nat_range2, so TypeScript
// handles all revisions with one schema:
//   flags=N            NF_NAT_RANGE_* bits (MAP_IPS=1 PROTO_SPECIFIED=2 PROTO_RANDOM=4
//                      PERSISTENT=8 PROTO_RANDOM_FULLY=16 PROTO_OFFSET=32)
//   min_addr=ADDR      inet_ntop form of the family (compat: range[0].min_ip)
//   max_addr=ADDR      (compat: range[0].max_ip)
//   min_proto=PORT     host-order decimal of the __be16 in union nf_conntrack_man_proto
//   max_proto=PORT
//   base_proto=PORT    nf_nat_range2 only (DNAT --to-destination a:lo-hi/base)
//   rangesize=N        compat only, and only when it is not 1 (iptables always writes 1)
// Every field is always present except rangesize, so a rule read back compares equal to the
// same rule built from text.
#pragma once

#include <arpa/inet.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>

#include <cstring>
#include <string>

#include "codec.h"

namespace iptkit {
namespace nat {

enum class Layout { compat, range, range2 };

inline size_t struct_size(Layout l) {
  switch (l) {
    case Layout::compat: return sizeof(nf_nat_ipv4_multi_range_compat);
    case Layout::range: return sizeof(nf_nat_range);
    case Layout::range2: return sizeof(nf_nat_range2);
  }
  return 0;
}

// The ports are __be16 whatever the protocol (tcp.port, udp.port, icmp.id, gre.key).
inline uint16_t proto_value(const nf_conntrack_man_proto& p) { return ntohs(p.all); }
inline void set_proto(nf_conntrack_man_proto& p, uint64_t v) { p.all = htons(static_cast<uint16_t>(v)); }

inline void decode(Layout layout, const void* data, size_t len, Family family, FieldWriter& out) {
  // Read into a zeroed nf_nat_range2: a short data area decodes as zeros instead of overreading.
  unsigned char buf[sizeof(nf_nat_range2) > sizeof(nf_nat_ipv4_multi_range_compat) ? sizeof(nf_nat_range2)
                                                                                  : sizeof(nf_nat_ipv4_multi_range_compat)]{};
  std::memcpy(buf, data, len < struct_size(layout) ? len : struct_size(layout));
  if (layout == Layout::compat) {
    nf_nat_ipv4_multi_range_compat mr;
    std::memcpy(&mr, buf, sizeof mr);
    const nf_nat_ipv4_range& r = mr.range[0];
    out.u64("flags", r.flags);
    out.inet("min_addr", Family::ipv4, &r.min_ip);
    out.inet("max_addr", Family::ipv4, &r.max_ip);
    out.u64("min_proto", proto_value(r.min));
    out.u64("max_proto", proto_value(r.max));
    if (mr.rangesize != 1) out.u64("rangesize", mr.rangesize);
    return;
  }
  nf_nat_range2 r;
  std::memcpy(&r, buf, sizeof r);
  out.u64("flags", r.flags);
  out.inet("min_addr", family, &r.min_addr);
  out.inet("max_addr", family, &r.max_addr);
  out.u64("min_proto", proto_value(r.min_proto));
  out.u64("max_proto", proto_value(r.max_proto));
  if (layout == Layout::range2) out.u64("base_proto", proto_value(r.base_proto));
}

inline bool encode(Layout layout, const Fields& in, Family family, void* data, std::string& err) {
  uint64_t flags = 0, min_proto = 0, max_proto = 0, base_proto = 0, rangesize = 1;
  nf_inet_addr min_addr{}, max_addr{};
  Family addr_family = layout == Layout::compat ? Family::ipv4 : family;
  if (!get_u64(in, "flags", 0xffffffffu, flags, err) || !get_inet(in, "min_addr", addr_family, &min_addr, err) ||
      !get_inet(in, "max_addr", addr_family, &max_addr, err) || !get_u64(in, "min_proto", 0xffff, min_proto, err) ||
      !get_u64(in, "max_proto", 0xffff, max_proto, err)) {
    return false;
  }
  if (layout == Layout::range2 && !get_u64(in, "base_proto", 0xffff, base_proto, err)) return false;
  if (layout == Layout::compat) {
    if (!get_u64(in, "rangesize", 0xffffffffu, rangesize, err)) return false;
    nf_nat_ipv4_multi_range_compat mr{};
    mr.rangesize = static_cast<unsigned int>(rangesize);
    mr.range[0].flags = static_cast<unsigned int>(flags);
    mr.range[0].min_ip = min_addr.ip;
    mr.range[0].max_ip = max_addr.ip;
    set_proto(mr.range[0].min, min_proto);
    set_proto(mr.range[0].max, max_proto);
    std::memcpy(data, &mr, sizeof mr);
    return true;
  }
  nf_nat_range2 r{};
  r.flags = static_cast<unsigned int>(flags);
  r.min_addr = min_addr;
  r.max_addr = max_addr;
  set_proto(r.min_proto, min_proto);
  set_proto(r.max_proto, max_proto);
  set_proto(r.base_proto, base_proto);
  std::memcpy(data, &r, struct_size(layout));
  return true;
}

// The Codec entry points for one layout (a Codec holds plain function pointers).
template <Layout L>
void decode_as(const void* data, size_t len, Family family, FieldWriter& out) {
  decode(L, data, len, family, out);
}

template <Layout L>
bool encode_as(const Fields& in, Family family, void* data, std::string& err) {
  return encode(L, in, family, data, err);
}

}  // namespace nat
}  // namespace iptkit

// Defines and registers the codec `var` of a NAT-range target: its kernel name, revision,
// family (0 for both), layout and the struct the kernel sizes it by.
#define IPTKIT_NAT_CODEC(var, name, rev, family, layout, type)                                            \
  const ::iptkit::Codec var{name,                                                                          \
                            rev,                                                                           \
                            true,                                                                          \
                            family,                                                                        \
                            XT_ALIGN(sizeof(type)),                                                        \
                            XT_ALIGN(sizeof(type)),                                                        \
                            ::iptkit::nat::decode_as<layout>,                                              \
                            ::iptkit::nat::encode_as<layout>};                                             \
  IPTKIT_REGISTER_CODEC(var)
