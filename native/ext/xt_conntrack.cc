// The `conntrack` match, revision 3 (xt_conntrack.h, struct xt_conntrack_mtinfo3). `-m state`
// is written by iptables 1.8.9 as this same struct with XT_CONNTRACK_STATE_ALIAS set.
//
// Fields, in this order; the first two are always present, each other group is present when
// its match_flags bit is set or its bytes are not zero:
//   match_flags=N    XT_CONNTRACK_STATE=1 PROTO=2 ORIGSRC=4 ORIGDST=8 REPLSRC=16 REPLDST=32
//                    STATUS=64 EXPIRES=128 ORIGSRC_PORT=256 ORIGDST_PORT=512 REPLSRC_PORT=1024
//                    REPLDST_PORT=2048 DIRECTION=4096 STATE_ALIAS=8192
//   invert_flags=N   same bits
//   state_mask=N                 STATE: XT_CONNTRACK_STATE_INVALID=1, ESTABLISHED=2,
//                                RELATED=4, NEW=8, SNAT=64, DNAT=128, UNTRACKED=256
//   l4proto=N                    PROTO
//   origsrc_addr=A origsrc_mask=M    ORIGSRC (inet form of the family; IPv4 may add
//   origdst_addr=A origdst_mask=M    ORIGDST   `<key>_tail=HEX` for bytes 4..15, see
//   replsrc_addr=A replsrc_mask=M    REPLSRC   match_fields.h)
//   repldst_addr=A repldst_mask=M    REPLDST
//   status_mask=N                STATUS: IPS_EXPECTED=1 SEEN_REPLY=2 ASSURED=4 CONFIRMED=8
//   expires_min=N expires_max=N  EXPIRES (seconds)
//   origsrc_port=N origsrc_port_high=N   ORIGSRC_PORT (host byte order in revision 3)
//   origdst_port=N origdst_port_high=N   ORIGDST_PORT
//   replsrc_port=N replsrc_port_high=N   REPLSRC_PORT
//   repldst_port=N repldst_port_high=N   REPLDST_PORT
// DIRECTION has no data: the flag alone is --ctdir ORIGINAL, flag + invert is REPLY.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_conntrack.h>

#include <cstring>

#include "codec.h"
#include "match_fields.h"

namespace iptkit {
namespace {

using Info = xt_conntrack_mtinfo3;

struct AddrGroup {
  uint16_t flag;
  const char* addr_key;
  const char* mask_key;
  nf_inet_addr Info::*addr;
  nf_inet_addr Info::*mask;
};
const AddrGroup kAddrs[] = {
    {XT_CONNTRACK_ORIGSRC, "origsrc_addr", "origsrc_mask", &Info::origsrc_addr, &Info::origsrc_mask},
    {XT_CONNTRACK_ORIGDST, "origdst_addr", "origdst_mask", &Info::origdst_addr, &Info::origdst_mask},
    {XT_CONNTRACK_REPLSRC, "replsrc_addr", "replsrc_mask", &Info::replsrc_addr, &Info::replsrc_mask},
    {XT_CONNTRACK_REPLDST, "repldst_addr", "repldst_mask", &Info::repldst_addr, &Info::repldst_mask},
};

struct PortGroup {
  uint16_t flag;
  const char* lo_key;
  const char* hi_key;
  uint16_t Info::*lo;
  uint16_t Info::*hi;
};
const PortGroup kPorts[] = {
    {XT_CONNTRACK_ORIGSRC_PORT, "origsrc_port", "origsrc_port_high", &Info::origsrc_port, &Info::origsrc_port_high},
    {XT_CONNTRACK_ORIGDST_PORT, "origdst_port", "origdst_port_high", &Info::origdst_port, &Info::origdst_port_high},
    {XT_CONNTRACK_REPLSRC_PORT, "replsrc_port", "replsrc_port_high", &Info::replsrc_port, &Info::replsrc_port_high},
    {XT_CONNTRACK_REPLDST_PORT, "repldst_port", "repldst_port_high", &Info::repldst_port, &Info::repldst_port_high},
};

void decode(const void* data, size_t len, Family family, FieldWriter& out) {
  Info m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  out.u64("match_flags", m.match_flags);
  out.u64("invert_flags", m.invert_flags);
  if ((m.match_flags & XT_CONNTRACK_STATE) || m.state_mask) out.u64("state_mask", m.state_mask);
  if ((m.match_flags & XT_CONNTRACK_PROTO) || m.l4proto) out.u64("l4proto", m.l4proto);
  for (const AddrGroup& g : kAddrs) {
    if ((m.match_flags & g.flag) || !all_zero(&(m.*g.addr), sizeof(nf_inet_addr)) ||
        !all_zero(&(m.*g.mask), sizeof(nf_inet_addr))) {
      put_inet_addr(out, g.addr_key, family, m.*g.addr);
      put_inet_addr(out, g.mask_key, family, m.*g.mask);
    }
  }
  if ((m.match_flags & XT_CONNTRACK_STATUS) || m.status_mask) out.u64("status_mask", m.status_mask);
  if ((m.match_flags & XT_CONNTRACK_EXPIRES) || m.expires_min || m.expires_max) {
    out.u64("expires_min", m.expires_min);
    out.u64("expires_max", m.expires_max);
  }
  for (const PortGroup& g : kPorts) {
    if ((m.match_flags & g.flag) || m.*g.lo || m.*g.hi) {
      out.u64(g.lo_key, m.*g.lo);
      out.u64(g.hi_key, m.*g.hi);
    }
  }
}

bool get_u16(const Fields& in, const char* key, uint16_t& out, std::string& err) {
  uint64_t v = out;
  if (!get_u64(in, key, 0xffff, v, err)) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

bool encode(const Fields& in, Family family, void* data, std::string& err) {
  Info m{};
  uint64_t emin = 0, emax = 0;
  if (!get_u16(in, "match_flags", m.match_flags, err) || !get_u16(in, "invert_flags", m.invert_flags, err) ||
      !get_u16(in, "state_mask", m.state_mask, err) || !get_u16(in, "l4proto", m.l4proto, err) ||
      !get_u16(in, "status_mask", m.status_mask, err) || !get_u64(in, "expires_min", 0xffffffff, emin, err) ||
      !get_u64(in, "expires_max", 0xffffffff, emax, err)) {
    return false;
  }
  m.expires_min = static_cast<uint32_t>(emin);
  m.expires_max = static_cast<uint32_t>(emax);
  for (const AddrGroup& g : kAddrs) {
    if (!get_inet_addr(in, g.addr_key, family, m.*g.addr, err) ||
        !get_inet_addr(in, g.mask_key, family, m.*g.mask, err)) {
      return false;
    }
  }
  for (const PortGroup& g : kPorts) {
    if (!get_u16(in, g.lo_key, m.*g.lo, err) || !get_u16(in, g.hi_key, m.*g.hi, err)) return false;
  }
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"conntrack", 3, false, 0, XT_ALIGN(sizeof(Info)), sizeof(Info), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
