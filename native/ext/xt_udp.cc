// The `udp` match (xt_tcpudp.h, struct xt_udp, revision 0).
//
// Fields, every one always present, in this order:
//   spts=LO:HI       source port range (0:65535 when not matched)
//   dpts=LO:HI       destination port range
//   invflags=N       XT_UDP_INV_SRCPT=1 DSTPT=2
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <cstring>

#include "codec.h"
#include "match_fields.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_udp m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  put_range(out, "spts", m.spts[0], m.spts[1]);
  put_range(out, "dpts", m.dpts[0], m.dpts[1]);
  out.u64("invflags", m.invflags);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t slo = 0, shi = 0xffff, dlo = 0, dhi = 0xffff, inv = 0;
  if (!get_range(in, "spts", 0xffff, slo, shi, err) || !get_range(in, "dpts", 0xffff, dlo, dhi, err) ||
      !get_u64(in, "invflags", XT_UDP_INV_MASK, inv, err)) {
    return false;
  }
  xt_udp m{};
  m.spts[0] = static_cast<uint16_t>(slo);
  m.spts[1] = static_cast<uint16_t>(shi);
  m.dpts[0] = static_cast<uint16_t>(dlo);
  m.dpts[1] = static_cast<uint16_t>(dhi);
  m.invflags = static_cast<uint8_t>(inv);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"udp", 0, false, 0, XT_ALIGN(sizeof(xt_udp)), sizeof(xt_udp), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
