// The `state` match, revision 0 (xt_state.h, struct xt_state_info): what older iptables
// wrote for `-m state`. iptables 1.8.9 writes `-m state` as conntrack revision 3 with
// XT_CONNTRACK_STATE_ALIAS instead (xt_conntrack.cc); this codec reads rules others wrote.
//
// Fields, always present:
//   statemask=N      XT_STATE_INVALID=1 ESTABLISHED=2 RELATED=4 NEW=8 UNTRACKED=16
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_state.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_state_info m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  out.u64("statemask", m.statemask);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t mask = 0;
  if (!get_u64(in, "statemask", 0xffffffff, mask, err)) return false;
  xt_state_info m{};
  m.statemask = static_cast<unsigned int>(mask);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"state", 0, false, 0, XT_ALIGN(sizeof(xt_state_info)), sizeof(xt_state_info), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
