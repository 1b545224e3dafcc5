// The `mark` match, revision 1 (xt_mark.h, struct xt_mark_mtinfo1).
//
// Fields, every one always present, in this order:
//   mark=0xN         value compared with (skb->mark & mask), hex
//   mask=0xN         hex (0xffffffff when no /mask was given)
//   invert=N         0 or 1
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_mark.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_mark_mtinfo1 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  out.hex("mark", m.mark);
  out.hex("mask", m.mask);
  out.u64("invert", m.invert);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t mark = 0, mask = 0xffffffff, invert = 0;
  if (!get_u64(in, "mark", 0xffffffff, mark, err) || !get_u64(in, "mask", 0xffffffff, mask, err) ||
      !get_u64(in, "invert", 0xff, invert, err)) {
    return false;
  }
  xt_mark_mtinfo1 m{};
  m.mark = static_cast<uint32_t>(mark);
  m.mask = static_cast<uint32_t>(mask);
  m.invert = static_cast<uint8_t>(invert);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"mark", 1, false, 0, XT_ALIGN(sizeof(xt_mark_mtinfo1)), sizeof(xt_mark_mtinfo1), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
