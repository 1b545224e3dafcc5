// The `iprange` match, revision 1 (xt_iprange.h, struct xt_iprange_mtinfo).
//
// Fields, in this order:
//   src_min=A src_max=A    present when IPRANGE_SRC is set or the bytes are not zero
//   dst_min=A dst_max=A    present when IPRANGE_DST is set or the bytes are not zero
//   flags=N                IPRANGE_SRC=1 DST=2 SRC_INV=16 DST_INV=32, always present
// Addresses in the family's inet form (IPv4 may add `<key>_tail=HEX`, see match_fields.h).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_iprange.h>

#include <cstring>

#include "codec.h"
#include "match_fields.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family family, FieldWriter& out) {
  xt_iprange_mtinfo m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  if ((m.flags & IPRANGE_SRC) || !all_zero(&m.src_min, sizeof m.src_min) || !all_zero(&m.src_max, sizeof m.src_max)) {
    put_inet_addr(out, "src_min", family, m.src_min);
    put_inet_addr(out, "src_max", family, m.src_max);
  }
  if ((m.flags & IPRANGE_DST) || !all_zero(&m.dst_min, sizeof m.dst_min) || !all_zero(&m.dst_max, sizeof m.dst_max)) {
    put_inet_addr(out, "dst_min", family, m.dst_min);
    put_inet_addr(out, "dst_max", family, m.dst_max);
  }
  out.u64("flags", m.flags);
}

bool encode(const Fields& in, Family family, void* data, std::string& err) {
  xt_iprange_mtinfo m{};
  uint64_t flags = 0;
  if (!get_inet_addr(in, "src_min", family, m.src_min, err) || !get_inet_addr(in, "src_max", family, m.src_max, err) ||
      !get_inet_addr(in, "dst_min", family, m.dst_min, err) || !get_inet_addr(in, "dst_max", family, m.dst_max, err) ||
      !get_u64(in, "flags", 0xff, flags, err)) {
    return false;
  }
  m.flags = static_cast<uint8_t>(flags);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"iprange", 1, false, 0, XT_ALIGN(sizeof(xt_iprange_mtinfo)), sizeof(xt_iprange_mtinfo), decode,
                  encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
