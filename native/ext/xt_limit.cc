// The `limit` match (xt_limit.h, struct xt_rateinfo, revision 0). Only avg and burst belong
// to userspace; the rest of the struct (prev, credit, credit_cap, cost, master) is the
// kernel's own state, so usersize stops at `prev` and those bytes are never decoded.
//
// Fields, every one always present, in this order:
//   avg=N            average time between packets, in 1/XT_LIMIT_SCALE (1/10000) seconds
//   burst=N          bucket size in packets
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_limit.h>

#include <cstddef>
#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_rateinfo m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  out.u64("avg", m.avg);
  out.u64("burst", m.burst);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t avg = 0, burst = 0;
  if (!get_u64(in, "avg", 0xffffffff, avg, err) || !get_u64(in, "burst", 0xffffffff, burst, err)) return false;
  xt_rateinfo m{};
  m.avg = static_cast<uint32_t>(avg);
  m.burst = static_cast<uint32_t>(burst);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"limit", 0, false, 0, XT_ALIGN(sizeof(xt_rateinfo)), offsetof(xt_rateinfo, prev), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
