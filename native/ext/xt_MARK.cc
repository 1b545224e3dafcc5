// The MARK target (xt_mark.h, struct xt_mark_tginfo2, revision 2, both families): the
// kernel computes mark = (mark & ~mask) ^ value. Revisions 0 and 1 (unsigned long mark) left
// the kernel long ago and are carried opaque.
//
// Fields, every one always present:
//   mark=0xN     the value XORed in (hex)
//   mask=0xN     the bits cleared first (hex)
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_mark.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_mark_tginfo2 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  out.hex("mark", m.mark);
  out.hex("mask", m.mask);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t mark = 0, mask = 0xffffffffu;
  if (!get_u64(in, "mark", 0xffffffffu, mark, err) || !get_u64(in, "mask", 0xffffffffu, mask, err)) return false;
  xt_mark_tginfo2 m{};
  m.mark = static_cast<uint32_t>(mark);
  m.mask = static_cast<uint32_t>(mask);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"MARK", 2, true, 0, XT_ALIGN(sizeof(xt_mark_tginfo2)), XT_ALIGN(sizeof(xt_mark_tginfo2)),
                  decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
