// The `addrtype` match, revision 1 (xt_addrtype.h, struct xt_addrtype_info_v1).
//
// Fields, every one always present, in this order:
//   source=N         source address types, XT_ADDRTYPE_* bits (UNSPEC=1 UNICAST=2 LOCAL=4
//                    BROADCAST=8 ANYCAST=16 MULTICAST=32 BLACKHOLE=64 UNREACHABLE=128
//                    PROHIBIT=256 THROW=512 NAT=1024 XRESOLVE=2048)
//   dest=N           destination address types, same bits
//   flags=N          XT_ADDRTYPE_INVERT_SOURCE=1 INVERT_DEST=2 LIMIT_IFACE_IN=4 LIMIT_IFACE_OUT=8
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_addrtype.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_addrtype_info_v1 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  out.u64("source", m.source);
  out.u64("dest", m.dest);
  out.u64("flags", m.flags);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t source = 0, dest = 0, flags = 0;
  if (!get_u64(in, "source", 0xffff, source, err) || !get_u64(in, "dest", 0xffff, dest, err) ||
      !get_u64(in, "flags", 0xffffffff, flags, err)) {
    return false;
  }
  xt_addrtype_info_v1 m{};
  m.source = static_cast<uint16_t>(source);
  m.dest = static_cast<uint16_t>(dest);
  m.flags = static_cast<uint32_t>(flags);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"addrtype", 1, false, 0, XT_ALIGN(sizeof(xt_addrtype_info_v1)), sizeof(xt_addrtype_info_v1),
                  decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
