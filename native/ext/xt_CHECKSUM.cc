// The CHECKSUM target (xt_CHECKSUM.h, struct xt_CHECKSUM_info, revision 0, both families).
//
// Fields:
//   operation=N   XT_CHECKSUM_OP_FILL=1 (--checksum-fill)
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CHECKSUM.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_CHECKSUM_info c{};
  std::memcpy(&c, data, len < sizeof c ? len : sizeof c);
  out.u64("operation", c.operation);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t operation = 0;
  if (!get_u64(in, "operation", 0xff, operation, err)) return false;
  xt_CHECKSUM_info c{};
  c.operation = static_cast<uint8_t>(operation);
  std::memcpy(data, &c, sizeof c);
  return true;
}

const Codec codec{"CHECKSUM", 0, true, 0, XT_ALIGN(sizeof(xt_CHECKSUM_info)), XT_ALIGN(sizeof(xt_CHECKSUM_info)),
                  decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
