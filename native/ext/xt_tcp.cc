// The `tcp` match (xt_tcpudp.h, struct xt_tcp, revision 0).
//
// Fields, every one always present, in this order:
//   spts=LO:HI       source port range (0:65535 when not matched)
//   dpts=LO:HI       destination port range
//   option=N         TCP option kind to look for (0: none)
//   flg_mask=N       TCP flags examined (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32)
//   flg_cmp=N        of those, the ones that must be set
//   invflags=N       XT_TCP_INV_SRCPT=1 DSTPT=2 FLAGS=4 OPTION=8
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <cstring>

#include "codec.h"
#include "match_fields.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_tcp m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  put_range(out, "spts", m.spts[0], m.spts[1]);
  put_range(out, "dpts", m.dpts[0], m.dpts[1]);
  out.u64("option", m.option);
  out.u64("flg_mask", m.flg_mask);
  out.u64("flg_cmp", m.flg_cmp);
  out.u64("invflags", m.invflags);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t slo = 0, shi = 0xffff, dlo = 0, dhi = 0xffff, option = 0, mask = 0, cmp = 0, inv = 0;
  if (!get_range(in, "spts", 0xffff, slo, shi, err) || !get_range(in, "dpts", 0xffff, dlo, dhi, err) ||
      !get_u64(in, "option", 0xff, option, err) || !get_u64(in, "flg_mask", 0xff, mask, err) ||
      !get_u64(in, "flg_cmp", 0xff, cmp, err) || !get_u64(in, "invflags", XT_TCP_INV_MASK, inv, err)) {
    return false;
  }
  xt_tcp m{};
  m.spts[0] = static_cast<uint16_t>(slo);
  m.spts[1] = static_cast<uint16_t>(shi);
  m.dpts[0] = static_cast<uint16_t>(dlo);
  m.dpts[1] = static_cast<uint16_t>(dhi);
  m.option = static_cast<uint8_t>(option);
  m.flg_mask = static_cast<uint8_t>(mask);
  m.flg_cmp = static_cast<uint8_t>(cmp);
  m.invflags = static_cast<uint8_t>(inv);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"tcp", 0, false, 0, XT_ALIGN(sizeof(xt_tcp)), sizeof(xt_tcp), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
