#include "native_match.h"

#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_limit.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <cstring>

namespace iptkit {
namespace nft {

void native_match_init(NativeKind kind, std::string& name, uint8_t& revision, std::vector<uint8_t>& data) {
  revision = 0;
  switch (kind) {
    case NativeKind::kTcp: {
      name = "tcp";
      xt_tcp t{};
      t.spts[1] = t.dpts[1] = 0xffff;
      data.assign(XT_ALIGN(sizeof t), 0);
      std::memcpy(data.data(), &t, sizeof t);
      return;
    }
    case NativeKind::kUdp: {
      name = "udp";
      xt_udp u{};
      u.spts[1] = u.dpts[1] = 0xffff;
      data.assign(XT_ALIGN(sizeof u), 0);
      std::memcpy(data.data(), &u, sizeof u);
      return;
    }
    case NativeKind::kMark:
      name = "mark";
      revision = 1;  // xt_mark_mtinfo1: what iptables' `-m mark` uses and add_nft_mark assumes
      data.assign(XT_ALIGN(sizeof(xt_mark_mtinfo1)), 0);
      return;
    case NativeKind::kLimit:
      name = "limit";
      data.assign(XT_ALIGN(sizeof(xt_rateinfo)), 0);
      return;
    case NativeKind::kNone:
      break;
  }
  name.clear();
  data.clear();
}

void native_set_ports(NativeKind kind, std::vector<uint8_t>& data, bool source, uint16_t lo, uint16_t hi, bool invert) {
  if (kind == NativeKind::kTcp) {
    xt_tcp t;
    std::memcpy(&t, data.data(), sizeof t);
    uint16_t* p = source ? t.spts : t.dpts;
    p[0] = lo;
    p[1] = hi;
    if (invert) t.invflags |= source ? XT_TCP_INV_SRCPT : XT_TCP_INV_DSTPT;
    std::memcpy(data.data(), &t, sizeof t);
  } else {
    xt_udp u;
    std::memcpy(&u, data.data(), sizeof u);
    uint16_t* p = source ? u.spts : u.dpts;
    p[0] = lo;
    p[1] = hi;
    if (invert) u.invflags |= source ? XT_UDP_INV_SRCPT : XT_UDP_INV_DSTPT;
    std::memcpy(data.data(), &u, sizeof u);
  }
}

void native_set_tcp_flags(std::vector<uint8_t>& data, uint8_t mask, uint8_t cmp, bool invert) {
  xt_tcp t;
  std::memcpy(&t, data.data(), sizeof t);
  t.flg_mask = mask;
  t.flg_cmp = cmp;
  if (invert) t.invflags |= XT_TCP_INV_FLAGS;
  std::memcpy(data.data(), &t, sizeof t);
}

void native_set_limit(std::vector<uint8_t>& data, uint32_t avg, uint32_t burst) {
  xt_rateinfo r{};
  r.avg = avg;
  r.burst = burst;
  std::memcpy(data.data(), &r, sizeof r);
}

}  // namespace nft
}  // namespace iptkit
