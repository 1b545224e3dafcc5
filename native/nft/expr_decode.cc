#include "expr_decode.h"

#include <arpa/inet.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_limit.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <netinet/in.h>

#include <cstring>

#include "../common/wire.h"
#include "native_match.h"

namespace iptkit {
namespace nft {

namespace {

// What a register holds since the last load, as iptables-nft's own parser tracks it.
struct Reg {
  enum Kind { kNone, kMeta, kPayload } kind = kNone;
  uint32_t key = 0;                      // meta key
  uint32_t base = 0, offset = 0, len = 0;  // payload
  bool bitwise = false;
  uint8_t mask[16] = {};
  uint32_t mask_len = 0;
};

struct Addr {
  bool set = false;
  uint8_t addr[16] = {};
  uint8_t mask[16] = {};
};

struct PendingMatch {
  std::string name;
  uint8_t revision = 0;
  std::vector<uint8_t> data;
  NativeKind native = NativeKind::kNone;
  // Which parts of a native tcp/udp match are already set: a second one is not iptables-nft's.
  bool sport = false, dport = false, flags = false;
};

class Decoder {
 public:
  Decoder(Family family, std::vector<std::string>& jumps) : family_(family), jumps_(jumps) {}

  bool run(const nftnl_rule* r);
  void write(const nftnl_rule* r, std::string& out) const;
  std::string why;

 private:
  bool fail(std::string reason) {
    if (why.empty()) why = std::move(reason);
    return false;
  }
  bool expr(nftnl_expr* e);
  bool on_meta(nftnl_expr* e);
  bool on_payload(nftnl_expr* e);
  bool on_bitwise(nftnl_expr* e);
  bool on_cmp(nftnl_expr* e);
  bool on_range(nftnl_expr* e);
  bool on_immediate(nftnl_expr* e);
  bool on_xt(nftnl_expr* e, bool is_target);
  bool on_limit(nftnl_expr* e);
  bool cmp_meta(Reg& reg, uint32_t op, const uint8_t* data, uint32_t len);
  bool cmp_network(Reg& reg, uint32_t op, const uint8_t* data, uint32_t len);
  bool cmp_transport(Reg& reg, uint32_t op, const uint8_t* data, uint32_t len);
  bool set_ports(Reg& reg, uint32_t op, uint16_t lo, uint16_t hi, bool range);
  bool iface(const uint8_t* data, uint32_t len, uint32_t op, std::string& name, uint8_t invbit);
  bool matching_phase(const char* what) {
    if (phase_ != 0) return fail(std::string(what) + " after the counter or verdict");
    return true;
  }
  Reg* reg(uint32_t n) {
    if (n >= 32) return nullptr;  // NFT_REG32_15 is the last 32-bit register (index 23)
    return &regs_[n];
  }
  PendingMatch* native(NativeKind kind);
  bool release(Reg& g);

  Family family_;
  std::vector<std::string>& jumps_;
  Reg regs_[32];
  int phase_ = 0;  // 0: ip fields and matches; 1: after the counter; 2: after the verdict
  bool have_counter_ = false;
  uint64_t pkts_ = 0, bytes_ = 0;
  Addr src_, dst_;
  std::string in_, out_;
  bool have_proto_ = false;
  uint8_t proto_ = 0;
  uint8_t inv_ = 0;
  bool frag_ = false;
  bool goto_ = false;
  std::vector<PendingMatch> matches_;
  enum { kNoAction, kVerdict, kJump, kTarget } action_ = kNoAction;
  std::string verdict_, chain_;
  PendingMatch target_;
};

bool Decoder::run(const nftnl_rule* r) {
  struct Ctx {
    Decoder* d;
    bool ok = true;
  } ctx{this};
  // nftnl_expr_foreach takes a non-const rule but does not modify it.
  nftnl_expr_foreach(const_cast<nftnl_rule*>(r), [](nftnl_expr* e, void* data) -> int {
    auto* c = static_cast<Ctx*>(data);
    if (!c->d->expr(e)) c->ok = false;
    return 0;  // keep going: the jumps of a foreign rule count too
  }, &ctx);
  if (!ctx.ok) return false;
  for (Reg& g : regs_) {
    if (!release(g)) return false;
  }
  return true;
}

// A register about to be overwritten (or left at the end) must have been compared, except for
// the lone iifname/oifname load iptables-nft writes for `-i +` / `-o +`.
bool Decoder::release(Reg& g) {
  if (g.kind == Reg::kMeta && !g.bitwise && (g.key == NFT_META_IIFNAME || g.key == NFT_META_OIFNAME)) {
    std::string& name = g.key == NFT_META_IIFNAME ? in_ : out_;
    if (!name.empty()) return fail("interface matched twice");
    name = "+";
  } else if (g.kind != Reg::kNone) {
    return fail("a loaded register is never compared");
  }
  g = Reg{};
  return true;
}

PendingMatch* Decoder::native(NativeKind kind) {
  // The pieces of one native match are contiguous in iptables-nft's encoding.
  if (!matches_.empty() && matches_.back().native == kind) return &matches_.back();
  for (const auto& m : matches_) {
    if (m.native == kind) return nullptr;
  }
  PendingMatch m;
  m.native = kind;
  native_match_init(kind, m.name, m.revision, m.data);
  matches_.push_back(std::move(m));
  return &matches_.back();
}

bool Decoder::expr(nftnl_expr* e) {
  const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
  if (!name) return fail("expression without a name");
  if (!strcmp(name, "immediate")) return on_immediate(e);
  if (phase_ == 2) return fail(std::string(name) + " after the verdict");
  if (!strcmp(name, "meta")) return on_meta(e);
  if (!strcmp(name, "payload")) return on_payload(e);
  if (!strcmp(name, "bitwise")) return on_bitwise(e);
  if (!strcmp(name, "cmp")) return on_cmp(e);
  if (!strcmp(name, "range")) return on_range(e);
  if (!strcmp(name, "match")) return on_xt(e, false);
  if (!strcmp(name, "target")) return on_xt(e, true);
  if (!strcmp(name, "limit")) return on_limit(e);
  if (!strcmp(name, "counter")) {
    if (have_counter_) return fail("two counters");
    have_counter_ = true;
    phase_ = 1;
    pkts_ = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
    bytes_ = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
    return true;
  }
  return fail(std::string("expression ") + name + " is not one iptables-nft writes");
}

bool Decoder::on_meta(nftnl_expr* e) {
  if (nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG)) return fail("meta set");
  if (!matching_phase("meta")) return false;
  Reg* g = reg(nftnl_expr_get_u32(e, NFTNL_EXPR_META_DREG));
  if (!g) return fail("meta register");
  if (!release(*g)) return false;
  g->kind = Reg::kMeta;
  g->key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
  return true;
}

bool Decoder::on_payload(nftnl_expr* e) {
  if (nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG)) return fail("payload write");
  if (!matching_phase("payload")) return false;
  Reg* g = reg(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG));
  if (!g) return fail("payload register");
  if (!release(*g)) return false;
  g->kind = Reg::kPayload;
  g->base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
  g->offset = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
  g->len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
  return true;
}

bool Decoder::on_bitwise(nftnl_expr* e) {
  if (!matching_phase("bitwise")) return false;
  if (nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_OP) && nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_OP) != NFT_BITWISE_BOOL) {
    return fail("bitwise shift");
  }
  Reg* s = reg(nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_SREG));
  Reg* d = reg(nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_DREG));
  if (!s || !d || s->kind == Reg::kNone || s->bitwise) return fail("bitwise on an empty register");
  uint32_t mlen = 0, xlen = 0;
  const auto* mask = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &mlen));
  const auto* x = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_BITWISE_XOR, &xlen));
  uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_LEN);
  if (!mask || !x || mlen < len || xlen < len || len > 16 || len == 0) return fail("bitwise data");
  for (uint32_t i = 0; i < len; i++) {
    if (x[i] != 0) return fail("bitwise xor");
  }
  Reg copy = *s;
  if (d != s) *s = Reg{};
  *d = copy;
  d->bitwise = true;
  d->mask_len = len;
  std::memcpy(d->mask, mask, len);
  return true;
}

bool Decoder::iface(const uint8_t* data, uint32_t len, uint32_t op, std::string& name, uint8_t invbit) {
  if (!name.empty()) return fail("interface matched twice");
  if (len == 0 || len > IFNAMSIZ) return fail("interface name length");
  if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return fail("interface comparison");
  static const char kInvalid[] = "INVAL/D";  // iptables-nft's `! -i +`: no name is ever equal to it
  if (len == sizeof kInvalid && !memcmp(data, kInvalid, len) && op == NFT_CMP_EQ) {
    name = "+";
    inv_ |= invbit;
    return true;
  }
  if (data[len - 1] == '\0') {
    size_t n = strnlen(reinterpret_cast<const char*>(data), len);
    if (n + 1 != len || n == 0) return fail("interface name with an inner NUL");
    name.assign(reinterpret_cast<const char*>(data), n);
  } else {
    if (memchr(data, 0, len)) return fail("interface prefix with a NUL");
    name.assign(reinterpret_cast<const char*>(data), len);
    name += '+';
  }
  if (op == NFT_CMP_NEQ) inv_ |= invbit;
  return true;
}

bool Decoder::cmp_meta(Reg& g, uint32_t op, const uint8_t* data, uint32_t len) {
  switch (g.key) {
    case NFT_META_IIFNAME:
      if (g.bitwise) return fail("masked iifname");
      return iface(data, len, op, in_, IPT_INV_VIA_IN);
    case NFT_META_OIFNAME:
      if (g.bitwise) return fail("masked oifname");
      return iface(data, len, op, out_, IPT_INV_VIA_OUT);
    case NFT_META_L4PROTO:
      if (g.bitwise || len != 1 || have_proto_) return fail("l4proto");
      if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return fail("l4proto comparison");
      if (!matches_.empty()) return fail("l4proto after a match");
      have_proto_ = true;
      proto_ = data[0];
      if (op == NFT_CMP_NEQ) inv_ |= XT_INV_PROTO;
      return true;
    case NFT_META_MARK: {
      if (len != 4 || (op != NFT_CMP_EQ && op != NFT_CMP_NEQ)) return fail("mark comparison");
      if (g.bitwise && g.mask_len != 4) return fail("mark mask");
      xt_mark_mtinfo1 m{};
      std::memcpy(&m.mark, data, 4);  // meta mark is in host order, as is the struct
      if (g.bitwise) std::memcpy(&m.mask, g.mask, 4);
      else m.mask = 0xffffffffu;
      m.invert = op == NFT_CMP_NEQ;
      PendingMatch pm;
      pm.native = NativeKind::kMark;
      native_match_init(NativeKind::kMark, pm.name, pm.revision, pm.data);
      std::memcpy(pm.data.data(), &m, sizeof m);
      matches_.push_back(std::move(pm));
      return true;
    }
    default:
      return fail("meta key " + std::to_string(g.key));
  }
}

bool Decoder::cmp_network(Reg& g, uint32_t op, const uint8_t* data, uint32_t len) {
  const bool v6 = family_ == Family::ipv6;
  const uint32_t alen = v6 ? 16 : 4;
  const uint32_t soff = v6 ? 8 : 12, doff = v6 ? 24 : 16;
  if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return fail("network header comparison");
  if (g.offset == soff || g.offset == doff) {
    Addr& a = g.offset == soff ? src_ : dst_;
    if (a.set) return fail("address matched twice");
    if (len != g.len || len == 0 || len > alen) return fail("address length");
    if (g.bitwise) {
      if (g.len != alen || g.mask_len != alen) return fail("address mask length");
      std::memcpy(a.mask, g.mask, alen);
    } else {
      std::memset(a.mask, 0xff, len);
    }
    std::memcpy(a.addr, data, len);
    a.set = true;
    if (op == NFT_CMP_NEQ) inv_ |= g.offset == soff ? IPT_INV_SRCIP : IPT_INV_DSTIP;
    return true;
  }
  // The protocol from the header, as iptables-nft before meta l4proto wrote it.
  if (g.offset == (v6 ? 6u : 9u) && g.len == 1 && len == 1 && !g.bitwise) {
    if (have_proto_ || !matches_.empty()) return fail("protocol");
    have_proto_ = true;
    proto_ = data[0];
    if (op == NFT_CMP_NEQ) inv_ |= XT_INV_PROTO;
    return true;
  }
  if (!v6 && g.offset == 6 && g.len == 2 && len == 2 && g.bitwise && g.mask_len == 2 && g.mask[0] == 0x1f &&
      g.mask[1] == 0xff && data[0] == 0 && data[1] == 0) {
    if (frag_) return fail("fragment matched twice");
    frag_ = true;
    if (op == NFT_CMP_EQ) inv_ |= IPT_INV_FRAG;
    return true;
  }
  return fail("network header offset " + std::to_string(g.offset));
}

bool Decoder::set_ports(Reg& g, uint32_t op, uint16_t lo, uint16_t hi, bool range) {
  NativeKind kind = proto_ == IPPROTO_TCP ? NativeKind::kTcp : NativeKind::kUdp;
  PendingMatch* m = native(kind);
  if (!m) return fail("tcp/udp pieces apart");
  bool src = g.offset == 0;
  bool& seen = src ? m->sport : m->dport;
  if (seen) return fail("port matched twice");
  seen = true;
  bool invert = false;
  if (range) {
    if (op == NFT_RANGE_NEQ) invert = true;
    else if (op != NFT_RANGE_EQ) return fail("range op");
  } else {
    switch (op) {
      case NFT_CMP_EQ: hi = lo; break;
      case NFT_CMP_NEQ: hi = lo; invert = true; break;
      // iptables-nft writes 0:HI as `<= HI`, and its inversion as `> HI`.
      case NFT_CMP_LTE: hi = lo; lo = 0; break;
      case NFT_CMP_GT: hi = lo; lo = 0; invert = true; break;
      default: return fail("port comparison");
    }
  }
  native_set_ports(kind, m->data, src, lo, hi, invert);
  return true;
}

bool Decoder::cmp_transport(Reg& g, uint32_t op, const uint8_t* data, uint32_t len) {
  if (!have_proto_ || (inv_ & XT_INV_PROTO) || (proto_ != IPPROTO_TCP && proto_ != IPPROTO_UDP)) {
    return fail("transport header without -p tcp or -p udp");
  }
  if (g.offset == 13 && g.len == 1 && len == 1 && proto_ == IPPROTO_TCP) {
    if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return fail("tcp flags comparison");
    PendingMatch* m = native(NativeKind::kTcp);
    if (!m || m->flags) return fail("tcp flags");
    m->flags = true;
    uint8_t mask = g.bitwise ? g.mask[0] : 0xff;
    native_set_tcp_flags(m->data, mask, data[0], op == NFT_CMP_NEQ);
    return true;
  }
  if (g.bitwise) return fail("masked port");
  if (g.offset == 0 && g.len == 4 && len == 4) {
    // Both ports in one load when they are single and inverted alike.
    if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return fail("port pair comparison");
    uint16_t sp = static_cast<uint16_t>(data[0] << 8 | data[1]);
    uint16_t dp = static_cast<uint16_t>(data[2] << 8 | data[3]);
    Reg s = g, d = g;
    d.offset = 2;
    return set_ports(s, op, sp, sp, false) && set_ports(d, op, dp, dp, false);
  }
  if ((g.offset == 0 || g.offset == 2) && g.len == 2 && len == 2) {
    uint16_t p = static_cast<uint16_t>(data[0] << 8 | data[1]);
    return set_ports(g, op, p, p, false);
  }
  return fail("transport header offset " + std::to_string(g.offset));
}

bool Decoder::on_cmp(nftnl_expr* e) {
  if (!matching_phase("cmp")) return false;
  Reg* g = reg(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_SREG));
  if (!g || g->kind == Reg::kNone) return fail("cmp on an empty register");
  uint32_t len = 0;
  const auto* data = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len));
  uint32_t op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
  if (!data) return fail("cmp without data");
  Reg cur = *g;
  *g = Reg{};  // consumed: iptables-nft loads afresh for every comparison
  if (cur.kind == Reg::kMeta) return cmp_meta(cur, op, data, len);
  if (cur.base == NFT_PAYLOAD_NETWORK_HEADER) return cmp_network(cur, op, data, len);
  if (cur.base == NFT_PAYLOAD_TRANSPORT_HEADER) return cmp_transport(cur, op, data, len);
  return fail("payload base " + std::to_string(cur.base));
}

bool Decoder::on_range(nftnl_expr* e) {
  if (!matching_phase("range")) return false;
  Reg* g = reg(nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_SREG));
  if (!g || g->kind != Reg::kPayload) return fail("range on an empty register");
  Reg cur = *g;
  *g = Reg{};
  uint32_t flen = 0, tlen = 0;
  const auto* from = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_RANGE_FROM_DATA, &flen));
  const auto* to = static_cast<const uint8_t*>(nftnl_expr_get(e, NFTNL_EXPR_RANGE_TO_DATA, &tlen));
  if (!from || !to || flen != 2 || tlen != 2 || cur.len != 2 || cur.bitwise ||
      cur.base != NFT_PAYLOAD_TRANSPORT_HEADER || (cur.offset != 0 && cur.offset != 2)) {
    return fail("range that is not a port range");
  }
  if (!have_proto_ || (inv_ & XT_INV_PROTO) || (proto_ != IPPROTO_TCP && proto_ != IPPROTO_UDP)) {
    return fail("port range without -p tcp or -p udp");
  }
  return set_ports(cur, nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_OP), static_cast<uint16_t>(from[0] << 8 | from[1]),
                   static_cast<uint16_t>(to[0] << 8 | to[1]), true);
}

bool Decoder::on_limit(nftnl_expr* e) {
  if (!matching_phase("limit")) return false;
  if (nftnl_expr_get_u32(e, NFTNL_EXPR_LIMIT_TYPE) != NFT_LIMIT_PKTS) return fail("byte limit");
  if (nftnl_expr_get_u32(e, NFTNL_EXPR_LIMIT_FLAGS) != 0) return fail("inverted limit");
  uint64_t rate = nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_RATE);
  uint64_t unit = nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_UNIT);
  if (rate == 0) return fail("limit rate 0");
  PendingMatch pm;
  pm.native = NativeKind::kLimit;
  native_match_init(NativeKind::kLimit, pm.name, pm.revision, pm.data);
  native_set_limit(pm.data, static_cast<uint32_t>(XT_LIMIT_SCALE * unit / rate),
                   nftnl_expr_get_u32(e, NFTNL_EXPR_LIMIT_BURST));
  matches_.push_back(std::move(pm));
  return true;
}

bool Decoder::on_immediate(nftnl_expr* e) {
  if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_DATA)) return fail("immediate data");
  int32_t verdict = static_cast<int32_t>(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT));
  if (verdict == NFT_JUMP || verdict == NFT_GOTO) {
    const char* c = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);
    if (c) jumps_.emplace_back(c);
  }
  if (phase_ == 2) return fail("two verdicts");
  phase_ = 2;
  switch (verdict) {
    case NF_ACCEPT: action_ = kVerdict; verdict_ = "ACCEPT"; return true;
    case NF_DROP: action_ = kVerdict; verdict_ = "DROP"; return true;
    case NFT_RETURN: action_ = kVerdict; verdict_ = "RETURN"; return true;
    case NFT_JUMP:
    case NFT_GOTO: {
      const char* c = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);
      if (!c) return fail("jump without a chain");
      action_ = kJump;
      chain_ = c;
      goto_ = verdict == NFT_GOTO;
      return true;
    }
    default:
      return fail("verdict " + std::to_string(verdict));
  }
}

bool Decoder::on_xt(nftnl_expr* e, bool is_target) {
  const uint16_t kname = is_target ? uint16_t{NFTNL_EXPR_TG_NAME} : uint16_t{NFTNL_EXPR_MT_NAME};
  const uint16_t kinfo = is_target ? uint16_t{NFTNL_EXPR_TG_INFO} : uint16_t{NFTNL_EXPR_MT_INFO};
  const uint16_t krev = is_target ? uint16_t{NFTNL_EXPR_TG_REV} : uint16_t{NFTNL_EXPR_MT_REV};
  const char* name = nftnl_expr_get_str(e, kname);
  uint32_t len = 0;
  const auto* info = static_cast<const uint8_t*>(nftnl_expr_get(e, kinfo, &len));
  if (!name) return fail("xt extension without a name");
  PendingMatch m;
  m.name = name;
  m.revision = static_cast<uint8_t>(nftnl_expr_get_u32(e, krev));
  if (info) m.data.assign(info, info + len);
  if (is_target) {
    if (phase_ == 2) return fail("two targets");
    phase_ = 2;
    action_ = kTarget;
    target_ = std::move(m);
    return true;
  }
  if (!matching_phase("match")) return false;
  matches_.push_back(std::move(m));
  return true;
}

void put_addr(FieldWriter& fw, const char* key, Family family, const Addr& a) {
  char abuf[INET6_ADDRSTRLEN], mbuf[INET6_ADDRSTRLEN];
  int af = family == Family::ipv6 ? AF_INET6 : AF_INET;
  inet_ntop(af, a.addr, abuf, sizeof abuf);
  inet_ntop(af, a.mask, mbuf, sizeof mbuf);
  fw.str(key, std::string(abuf) + "/" + mbuf);
}

void put_xt(std::string& out, const char* kind, const PendingMatch& m, bool is_target, Family family) {
  out += kind;
  out += '\t';
  wire_escape(out, m.name);
  out += '\t';
  out += std::to_string(m.revision);
  FieldWriter fw(out);
  const Codec* c = find_codec(m.name, m.revision, is_target, family);
  if (c && m.data.size() == c->size) {
    c->decode(m.data.data(), m.data.size(), family, fw);
  } else {
    fw.bytes_hex("raw", m.data.data(), m.data.size());
  }
  out += '\n';
}

void Decoder::write(const nftnl_rule* r, std::string& out) const {
  out += "rule";
  FieldWriter fw(out);
  fw.u64("handle", nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE));
  fw.u64("pkts", pkts_);
  fw.u64("bytes", bytes_);
  if (src_.set) put_addr(fw, "src", family_, src_);
  if (dst_.set) put_addr(fw, "dst", family_, dst_);
  if (!in_.empty()) fw.str("in", in_);
  if (!out_.empty()) fw.str("out", out_);
  if (have_proto_) fw.u64("proto", proto_);
  if (inv_) fw.u64("inv", inv_);
  if (frag_) fw.u64("frag", 1);
  if (goto_) fw.u64("goto", 1);
  out += '\n';
  for (const auto& m : matches_) put_xt(out, "match", m, false, family_);
  // iptables-nft shows a comment in the rule's userdata as `-m comment`, after the matches.
  if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
    uint32_t ulen = 0;
    const void* udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ulen);
    const nftnl_udata* comment = nullptr;
    nftnl_udata_parse(udata, ulen, [](const nftnl_udata* attr, void* data) -> int {
      // Type 0 is the comment both nft and iptables-nft write (UDATA_TYPE_COMMENT).
      if (nftnl_udata_type(attr) == 0) *static_cast<const nftnl_udata**>(data) = attr;
      return 0;
    }, &comment);
    if (comment && nftnl_udata_len(comment) > 0) {
      const auto* text = static_cast<const char*>(nftnl_udata_get(comment));
      size_t n = strnlen(text, nftnl_udata_len(comment));
      PendingMatch pm;
      pm.name = "comment";
      pm.revision = 0;
      pm.data.assign(XT_ALIGN(sizeof(xt_comment_info)), 0);
      std::memcpy(pm.data.data(), text, n < XT_MAX_COMMENT_LEN - 1 ? n : XT_MAX_COMMENT_LEN - 1);
      put_xt(out, "match", pm, false, family_);
    }
  }
  switch (action_) {
    case kNoAction: break;
    case kVerdict: out += "verdict\t" + verdict_ + "\n"; break;
    case kJump:
      out += "jump\t";
      wire_escape(out, chain_);
      out += '\n';
      break;
    case kTarget: put_xt(out, "target", target_, true, family_); break;
  }
}

}  // namespace

bool decode_rule(const nftnl_rule* r, Family family, std::string& out, std::string& why,
                 std::vector<std::string>& jumps) {
  Decoder d(family, jumps);
  if (!d.run(r)) {
    why = d.why;
    return false;
  }
  d.write(r, out);
  return true;
}

void write_foreign(const nftnl_rule* r, std::string& out) {
  std::string text(4096, '\0');
  for (;;) {
    int n = nftnl_rule_snprintf(text.data(), text.size(), r, NFTNL_OUTPUT_DEFAULT, 0);
    if (n < 0) {
      text.clear();
      break;
    }
    if (static_cast<size_t>(n) < text.size()) {
      text.resize(n);
      break;
    }
    text.resize(static_cast<size_t>(n) + 1);
  }
  // One line: libnftnl puts each expression on its own.
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  out += "foreign";
  FieldWriter fw(out);
  fw.u64("handle", nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE));
  fw.str("text", text);
  out += '\n';
}

}  // namespace nft
}  // namespace iptkit
