#include "expr_decode.h"

#include <arpa/inet.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_limit.h>
#include <linux/netfilter/xt_NFLOG.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>

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

struct PendingMatch {
  std::string name;
  uint8_t revision = 0;
  std::vector<uint8_t> data;
  NativeKind native = NativeKind::kNone;
  // Which parts of a native tcp/udp match are already set: a second one is not iptables-nft's.
  bool sport = false, dport = false, flags = false;
};

// The decoder reads an expression through one of two views with the same getters, named by
// libnftnl's NFTNL_EXPR_* keys and giving the values libnftnl gives: NftnlExpr over a parsed
// nftnl_expr, RawExpr straight over the netlink attributes of a dump (no allocation).
struct NftnlExpr {
  nftnl_expr* e;
  bool is_set(uint16_t k) const { return nftnl_expr_is_set(e, k); }
  uint32_t u32(uint16_t k) const { return nftnl_expr_get_u32(e, k); }
  uint16_t u16(uint16_t k) const { return nftnl_expr_get_u16(e, k); }
  uint64_t u64(uint16_t k) const { return nftnl_expr_get_u64(e, k); }
  const char* str(uint16_t k) const { return nftnl_expr_get_str(e, k); }
  const void* get(uint16_t k, uint32_t* len) const { return nftnl_expr_get(e, k, len); }
};

struct RawExpr {
  enum Type { kMeta, kPayload, kBitwise, kCmp, kRange, kImmediate, kMatch, kTarget, kLimit, kCounter, kLog } type;
  const char* name = nullptr;
  static constexpr int kMaxAttr = 16;
  const nlattr* tb[kMaxAttr] = {};
  // NFTA_IMMEDIATE_DATA, as libnftnl splits it.
  bool imm_value = false, imm_verdict = false;
  uint32_t verdict = 0;
  const char* chain = nullptr;

  // The NFTA_* attribute that holds libnftnl key `k` for this type, or -1.
  int attr(uint16_t k) const {
    switch (type) {
      case kMeta:
        return k == NFTNL_EXPR_META_KEY ? NFTA_META_KEY : k == NFTNL_EXPR_META_DREG ? NFTA_META_DREG
             : k == NFTNL_EXPR_META_SREG ? NFTA_META_SREG : -1;
      case kPayload:
        return k == NFTNL_EXPR_PAYLOAD_DREG ? NFTA_PAYLOAD_DREG : k == NFTNL_EXPR_PAYLOAD_BASE ? NFTA_PAYLOAD_BASE
             : k == NFTNL_EXPR_PAYLOAD_OFFSET ? NFTA_PAYLOAD_OFFSET : k == NFTNL_EXPR_PAYLOAD_LEN ? NFTA_PAYLOAD_LEN
             : k == NFTNL_EXPR_PAYLOAD_SREG ? NFTA_PAYLOAD_SREG : -1;
      case kBitwise:
        return k == NFTNL_EXPR_BITWISE_SREG ? NFTA_BITWISE_SREG : k == NFTNL_EXPR_BITWISE_DREG ? NFTA_BITWISE_DREG
             : k == NFTNL_EXPR_BITWISE_LEN ? NFTA_BITWISE_LEN : k == NFTNL_EXPR_BITWISE_MASK ? NFTA_BITWISE_MASK
             : k == NFTNL_EXPR_BITWISE_XOR ? NFTA_BITWISE_XOR : k == NFTNL_EXPR_BITWISE_OP ? NFTA_BITWISE_OP
             : k == NFTNL_EXPR_BITWISE_DATA ? NFTA_BITWISE_DATA : -1;
      case kCmp:
        return k == NFTNL_EXPR_CMP_SREG ? NFTA_CMP_SREG : k == NFTNL_EXPR_CMP_OP ? NFTA_CMP_OP
             : k == NFTNL_EXPR_CMP_DATA ? NFTA_CMP_DATA : -1;
      case kRange:
        return k == NFTNL_EXPR_RANGE_SREG ? NFTA_RANGE_SREG : k == NFTNL_EXPR_RANGE_OP ? NFTA_RANGE_OP
             : k == NFTNL_EXPR_RANGE_FROM_DATA ? NFTA_RANGE_FROM_DATA : k == NFTNL_EXPR_RANGE_TO_DATA ? NFTA_RANGE_TO_DATA : -1;
      case kImmediate:
        return k == NFTNL_EXPR_IMM_DREG ? NFTA_IMMEDIATE_DREG : -1;
      case kMatch:
        return k == NFTNL_EXPR_MT_NAME ? NFTA_MATCH_NAME : k == NFTNL_EXPR_MT_REV ? NFTA_MATCH_REV
             : k == NFTNL_EXPR_MT_INFO ? NFTA_MATCH_INFO : -1;
      case kTarget:
        return k == NFTNL_EXPR_TG_NAME ? NFTA_TARGET_NAME : k == NFTNL_EXPR_TG_REV ? NFTA_TARGET_REV
             : k == NFTNL_EXPR_TG_INFO ? NFTA_TARGET_INFO : -1;
      case kLimit:
        return k == NFTNL_EXPR_LIMIT_RATE ? NFTA_LIMIT_RATE : k == NFTNL_EXPR_LIMIT_UNIT ? NFTA_LIMIT_UNIT
             : k == NFTNL_EXPR_LIMIT_BURST ? NFTA_LIMIT_BURST : k == NFTNL_EXPR_LIMIT_TYPE ? NFTA_LIMIT_TYPE
             : k == NFTNL_EXPR_LIMIT_FLAGS ? NFTA_LIMIT_FLAGS : -1;
      case kCounter:
        return k == NFTNL_EXPR_CTR_PACKETS ? NFTA_COUNTER_PACKETS : k == NFTNL_EXPR_CTR_BYTES ? NFTA_COUNTER_BYTES : -1;
      case kLog:
        return k == NFTNL_EXPR_LOG_PREFIX ? NFTA_LOG_PREFIX : k == NFTNL_EXPR_LOG_GROUP ? NFTA_LOG_GROUP
             : k == NFTNL_EXPR_LOG_SNAPLEN ? NFTA_LOG_SNAPLEN : k == NFTNL_EXPR_LOG_QTHRESHOLD ? NFTA_LOG_QTHRESHOLD
             : k == NFTNL_EXPR_LOG_LEVEL ? NFTA_LOG_LEVEL : k == NFTNL_EXPR_LOG_FLAGS ? NFTA_LOG_FLAGS : -1;
    }
    return -1;
  }
  const nlattr* at(uint16_t k) const {
    int a = attr(k);
    return a > 0 && a < kMaxAttr ? tb[a] : nullptr;
  }
  bool is_data(uint16_t k) const {
    return (type == kCmp && k == NFTNL_EXPR_CMP_DATA) ||
           (type == kBitwise && (k == NFTNL_EXPR_BITWISE_MASK || k == NFTNL_EXPR_BITWISE_XOR || k == NFTNL_EXPR_BITWISE_DATA)) ||
           (type == kRange && (k == NFTNL_EXPR_RANGE_FROM_DATA || k == NFTNL_EXPR_RANGE_TO_DATA));
  }

  bool is_set(uint16_t k) const {
    if (k == NFTNL_EXPR_NAME) return true;
    if (type == kImmediate) {
      if (k == NFTNL_EXPR_IMM_DATA) return imm_value;
      if (k == NFTNL_EXPR_IMM_VERDICT) return imm_verdict;
      if (k == NFTNL_EXPR_IMM_CHAIN) return chain != nullptr;
    }
    return at(k) != nullptr;
  }
  uint32_t u32(uint16_t k) const {
    if (type == kImmediate && k == NFTNL_EXPR_IMM_VERDICT) return imm_verdict ? verdict : 0;
    const nlattr* a = at(k);
    return a ? ntohl(mnl_attr_get_u32(a)) : 0;
  }
  uint16_t u16(uint16_t k) const {
    const nlattr* a = at(k);
    return a ? ntohs(mnl_attr_get_u16(a)) : 0;
  }
  uint64_t u64(uint16_t k) const {
    const nlattr* a = at(k);
    return a ? be64toh(mnl_attr_get_u64(a)) : 0;
  }
  const char* str(uint16_t k) const {
    if (k == NFTNL_EXPR_NAME) return name;
    if (type == kImmediate && k == NFTNL_EXPR_IMM_CHAIN) return chain;
    const nlattr* a = at(k);
    return a ? mnl_attr_get_str(a) : nullptr;
  }
  const void* get(uint16_t k, uint32_t* len) const {
    const nlattr* a = at(k);
    if (!a) return nullptr;
    if (is_data(k)) a = static_cast<const nlattr*>(mnl_attr_get_payload(a));  // NFTA_DATA_VALUE, checked in parse
    *len = mnl_attr_get_payload_len(a);
    return mnl_attr_get_payload(a);
  }
};

class Decoder {
 public:
  Decoder(Family family, std::vector<std::string>& jumps) : family_(family), jumps_(jumps) {}

  bool run(const nftnl_rule* r);
  bool run(const std::vector<RawExpr>& exprs);
  // The decoded rule, with the userdata comment (if any) as iptables-nft shows it.
  void finish(const void* udata, uint32_t ulen, bool has_udata, dialect::Rule& out);
  std::string why;

 private:
  bool fail(std::string reason) {
    if (why.empty()) why = std::move(reason);
    return false;
  }
  template <class E> bool expr(const E& e);
  template <class E> bool on_meta(const E& e);
  template <class E> bool on_payload(const E& e);
  template <class E> bool on_bitwise(const E& e);
  template <class E> bool on_cmp(const E& e);
  template <class E> bool on_range(const E& e);
  template <class E> bool on_immediate(const E& e);
  template <class E> bool on_xt(const E& e, bool is_target);
  template <class E> bool on_limit(const E& e);
  template <class E> bool on_log(const E& e);
  bool cmp_meta(Reg& reg, uint32_t op, const uint8_t* data, uint32_t len);
  bool cmp_network(Reg& reg, uint32_t op, const uint8_t* data, uint32_t len);
  bool cmp_transport(Reg& reg, uint32_t op, const uint8_t* data, uint32_t len);
  bool set_ports(Reg& reg, uint32_t op, uint16_t lo, uint16_t hi, bool range);
  bool iface(const uint8_t* data, uint32_t len, uint32_t op, bool in);
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
  dialect::IpPart ip_;  // filled in place: names and masks exactly as iptables-nft's parser fills them
  bool src_ = false, dst_ = false, in_ = false, out_ = false;
  bool have_proto_ = false;
  bool goto_ = false;
  std::vector<PendingMatch> matches_;
  enum { kNoAction, kVerdict, kJump, kTarget } action_ = kNoAction;
  const char* verdict_ = nullptr;
  std::string chain_;
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
    if (!c->d->expr(NftnlExpr{e})) c->ok = false;
    return 0;  // keep going: the jumps of a foreign rule count too
  }, &ctx);
  if (!ctx.ok) return false;
  for (Reg& g : regs_) {
    if (!release(g)) return false;
  }
  return true;
}

bool Decoder::run(const std::vector<RawExpr>& exprs) {
  bool ok = true;
  for (const RawExpr& e : exprs) {
    if (!expr(e)) ok = false;
  }
  if (!ok) return false;
  for (Reg& g : regs_) {
    if (!release(g)) return false;
  }
  return true;
}

// A register about to be overwritten (or left at the end) must have been compared, except for
// the lone iifname/oifname load iptables-nft writes for `-i +` / `-o +`.
bool Decoder::release(Reg& g) {
  if (g.kind == Reg::kMeta && !g.bitwise && (g.key == NFT_META_IIFNAME || g.key == NFT_META_OIFNAME)) {
    // `-i +`: the name "+" with an all-zero mask, as xtables_parse_interface leaves it.
    const bool in = g.key == NFT_META_IIFNAME;
    bool& set = in ? in_ : out_;
    if (set) return fail("interface matched twice");
    set = true;
    (in ? ip_.iniface : ip_.outiface)[0] = '+';
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

template <class E>
bool Decoder::expr(const E& e) {
  const char* name = e.str(NFTNL_EXPR_NAME);
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
  if (!strcmp(name, "log")) return on_log(e);
  if (!strcmp(name, "counter")) {
    if (have_counter_) return fail("two counters");
    have_counter_ = true;
    phase_ = 1;
    pkts_ = e.u64(NFTNL_EXPR_CTR_PACKETS);
    bytes_ = e.u64(NFTNL_EXPR_CTR_BYTES);
    return true;
  }
  return fail(std::string("expression ") + name + " is not one iptables-nft writes");
}

template <class E>
bool Decoder::on_meta(const E& e) {
  if (e.is_set(NFTNL_EXPR_META_SREG)) return fail("meta set");
  if (!matching_phase("meta")) return false;
  Reg* g = reg(e.u32(NFTNL_EXPR_META_DREG));
  if (!g) return fail("meta register");
  if (!release(*g)) return false;
  g->kind = Reg::kMeta;
  g->key = e.u32(NFTNL_EXPR_META_KEY);
  return true;
}

template <class E>
bool Decoder::on_payload(const E& e) {
  if (e.is_set(NFTNL_EXPR_PAYLOAD_SREG)) return fail("payload write");
  if (!matching_phase("payload")) return false;
  Reg* g = reg(e.u32(NFTNL_EXPR_PAYLOAD_DREG));
  if (!g) return fail("payload register");
  if (!release(*g)) return false;
  g->kind = Reg::kPayload;
  g->base = e.u32(NFTNL_EXPR_PAYLOAD_BASE);
  g->offset = e.u32(NFTNL_EXPR_PAYLOAD_OFFSET);
  g->len = e.u32(NFTNL_EXPR_PAYLOAD_LEN);
  return true;
}

template <class E>
bool Decoder::on_bitwise(const E& e) {
  if (!matching_phase("bitwise")) return false;
  if (e.is_set(NFTNL_EXPR_BITWISE_OP) && e.u32(NFTNL_EXPR_BITWISE_OP) != NFT_BITWISE_BOOL) {
    return fail("bitwise shift");
  }
  Reg* s = reg(e.u32(NFTNL_EXPR_BITWISE_SREG));
  Reg* d = reg(e.u32(NFTNL_EXPR_BITWISE_DREG));
  if (!s || !d || s->kind == Reg::kNone || s->bitwise) return fail("bitwise on an empty register");
  uint32_t mlen = 0, xlen = 0;
  const auto* mask = static_cast<const uint8_t*>(e.get(NFTNL_EXPR_BITWISE_MASK, &mlen));
  const auto* x = static_cast<const uint8_t*>(e.get(NFTNL_EXPR_BITWISE_XOR, &xlen));
  uint32_t len = e.u32(NFTNL_EXPR_BITWISE_LEN);
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

// iptables-nft's parse_ifname: an exact name compares with its NUL and masks it too; a prefix
// (`eth+`) compares without one, keeps the '+' in the name and masks only the prefix.
bool Decoder::iface(const uint8_t* data, uint32_t len, uint32_t op, bool in) {
  bool& set = in ? in_ : out_;
  char* name = in ? ip_.iniface : ip_.outiface;
  unsigned char* mask = in ? ip_.iniface_mask : ip_.outiface_mask;
  const uint8_t invbit = in ? dialect::kInvIn : dialect::kInvOut;
  if (set) return fail("interface matched twice");
  if (len == 0 || len > IFNAMSIZ) return fail("interface name length");
  if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return fail("interface comparison");
  set = true;
  static const char kInvalid[] = "INVAL/D";  // iptables-nft's `! -i +`: no name is ever equal to it
  if (len == sizeof kInvalid && !memcmp(data, kInvalid, len) && op == NFT_CMP_EQ) {
    name[0] = '+';
    ip_.invflags |= invbit;
    return true;
  }
  if (data[len - 1] == '\0') {
    size_t n = strnlen(reinterpret_cast<const char*>(data), len);
    if (n + 1 != len || n == 0) return fail("interface name with an inner NUL");
    std::memcpy(name, data, len);
    std::memset(mask, 0xff, len);
  } else {
    // The name, its '+' and a NUL must fit in IFNAMSIZ, as iptables' own parser requires.
    if (len + 2 > IFNAMSIZ) return fail("interface prefix length");
    if (memchr(data, 0, len)) return fail("interface prefix with a NUL");
    std::memcpy(name, data, len);
    name[len] = '+';
    std::memset(mask, 0xff, len);
  }
  if (op == NFT_CMP_NEQ) ip_.invflags |= invbit;
  return true;
}

bool Decoder::cmp_meta(Reg& g, uint32_t op, const uint8_t* data, uint32_t len) {
  switch (g.key) {
    case NFT_META_IIFNAME:
      if (g.bitwise) return fail("masked iifname");
      return iface(data, len, op, true);
    case NFT_META_OIFNAME:
      if (g.bitwise) return fail("masked oifname");
      return iface(data, len, op, false);
    case NFT_META_L4PROTO:
      if (g.bitwise || len != 1 || have_proto_) return fail("l4proto");
      if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ) return fail("l4proto comparison");
      if (!matches_.empty()) return fail("l4proto after a match");
      have_proto_ = true;
      ip_.proto = data[0];
      if (op == NFT_CMP_NEQ) ip_.invflags |= dialect::kInvProto;
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
    const bool src = g.offset == soff;
    bool& set = src ? src_ : dst_;
    uint8_t* addr = src ? ip_.src : ip_.dst;
    uint8_t* mask = src ? ip_.smsk : ip_.dmsk;
    if (set) return fail("address matched twice");
    if (len != g.len || len == 0 || len > alen) return fail("address length");
    if (g.bitwise) {
      if (g.len != alen || g.mask_len != alen) return fail("address mask length");
      std::memcpy(mask, g.mask, alen);
    } else {
      std::memset(mask, 0xff, len);  // a prefix of whole bytes: only those were loaded
    }
    std::memcpy(addr, data, len);
    set = true;
    if (op == NFT_CMP_NEQ) ip_.invflags |= src ? dialect::kInvSrc : dialect::kInvDst;
    return true;
  }
  // The protocol from the header, as iptables-nft before meta l4proto wrote it.
  if (g.offset == (v6 ? 6u : 9u) && g.len == 1 && len == 1 && !g.bitwise) {
    if (have_proto_ || !matches_.empty()) return fail("protocol");
    have_proto_ = true;
    ip_.proto = data[0];
    if (op == NFT_CMP_NEQ) ip_.invflags |= dialect::kInvProto;
    return true;
  }
  if (!v6 && g.offset == 6 && g.len == 2 && len == 2 && g.bitwise && g.mask_len == 2 && g.mask[0] == 0x1f &&
      g.mask[1] == 0xff && data[0] == 0 && data[1] == 0) {
    if (ip_.frag) return fail("fragment matched twice");
    ip_.frag = true;
    if (op == NFT_CMP_EQ) ip_.invflags |= dialect::kInvFrag;
    return true;
  }
  return fail("network header offset " + std::to_string(g.offset));
}

bool Decoder::set_ports(Reg& g, uint32_t op, uint16_t lo, uint16_t hi, bool range) {
  NativeKind kind = ip_.proto == IPPROTO_TCP ? NativeKind::kTcp : NativeKind::kUdp;
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
      // iptables-nft writes 0:HI as `<= HI`, and its inversion as `> HI`, which it reads back
      // (and iptables-nft-save prints) as the range HI+1:65535, not inverted: so does iptkit.
      case NFT_CMP_LTE: hi = lo; lo = 0; break;
      case NFT_CMP_LT:
        if (lo == 0) return fail("port < 0");
        hi = static_cast<uint16_t>(lo - 1);
        lo = 0;
        break;
      case NFT_CMP_GT:
        if (lo == 0xffff) return fail("port > 65535");
        lo = static_cast<uint16_t>(lo + 1);
        hi = 0xffff;
        break;
      case NFT_CMP_GTE: hi = 0xffff; break;
      default: return fail("port comparison");
    }
  }
  native_set_ports(kind, m->data, src, lo, hi, invert);
  return true;
}

bool Decoder::cmp_transport(Reg& g, uint32_t op, const uint8_t* data, uint32_t len) {
  if (!have_proto_ || (ip_.invflags & dialect::kInvProto) || (ip_.proto != IPPROTO_TCP && ip_.proto != IPPROTO_UDP)) {
    return fail("transport header without -p tcp or -p udp");
  }
  if (g.offset == 13 && g.len == 1 && len == 1 && ip_.proto == IPPROTO_TCP) {
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

template <class E>
bool Decoder::on_cmp(const E& e) {
  if (!matching_phase("cmp")) return false;
  Reg* g = reg(e.u32(NFTNL_EXPR_CMP_SREG));
  if (!g || g->kind == Reg::kNone) return fail("cmp on an empty register");
  uint32_t len = 0;
  const auto* data = static_cast<const uint8_t*>(e.get(NFTNL_EXPR_CMP_DATA, &len));
  uint32_t op = e.u32(NFTNL_EXPR_CMP_OP);
  if (!data) return fail("cmp without data");
  Reg cur = *g;
  *g = Reg{};  // consumed: iptables-nft loads afresh for every comparison
  if (cur.kind == Reg::kMeta) return cmp_meta(cur, op, data, len);
  if (cur.base == NFT_PAYLOAD_NETWORK_HEADER) return cmp_network(cur, op, data, len);
  if (cur.base == NFT_PAYLOAD_TRANSPORT_HEADER) return cmp_transport(cur, op, data, len);
  return fail("payload base " + std::to_string(cur.base));
}

template <class E>
bool Decoder::on_range(const E& e) {
  if (!matching_phase("range")) return false;
  Reg* g = reg(e.u32(NFTNL_EXPR_RANGE_SREG));
  if (!g || g->kind != Reg::kPayload) return fail("range on an empty register");
  Reg cur = *g;
  *g = Reg{};
  uint32_t flen = 0, tlen = 0;
  const auto* from = static_cast<const uint8_t*>(e.get(NFTNL_EXPR_RANGE_FROM_DATA, &flen));
  const auto* to = static_cast<const uint8_t*>(e.get(NFTNL_EXPR_RANGE_TO_DATA, &tlen));
  if (!from || !to || flen != 2 || tlen != 2 || cur.len != 2 || cur.bitwise ||
      cur.base != NFT_PAYLOAD_TRANSPORT_HEADER || (cur.offset != 0 && cur.offset != 2)) {
    return fail("range that is not a port range");
  }
  if (!have_proto_ || (ip_.invflags & dialect::kInvProto) || (ip_.proto != IPPROTO_TCP && ip_.proto != IPPROTO_UDP)) {
    return fail("port range without -p tcp or -p udp");
  }
  return set_ports(cur, e.u32(NFTNL_EXPR_RANGE_OP), static_cast<uint16_t>(from[0] << 8 | from[1]),
                   static_cast<uint16_t>(to[0] << 8 | to[1]), true);
}

template <class E>
bool Decoder::on_limit(const E& e) {
  if (!matching_phase("limit")) return false;
  if (e.u32(NFTNL_EXPR_LIMIT_TYPE) != NFT_LIMIT_PKTS) return fail("byte limit");
  if (e.u32(NFTNL_EXPR_LIMIT_FLAGS) != 0) return fail("inverted limit");
  uint64_t rate = e.u64(NFTNL_EXPR_LIMIT_RATE);
  uint64_t unit = e.u64(NFTNL_EXPR_LIMIT_UNIT);
  if (rate == 0) return fail("limit rate 0");
  PendingMatch pm;
  pm.native = NativeKind::kLimit;
  native_match_init(NativeKind::kLimit, pm.name, pm.revision, pm.data);
  native_set_limit(pm.data, static_cast<uint32_t>(XT_LIMIT_SCALE * unit / rate),
                   e.u32(NFTNL_EXPR_LIMIT_BURST));
  matches_.push_back(std::move(pm));
  return true;
}

// iptables-nft writes `-j NFLOG` as a log expression to a netlink group (nft.c add_log) and
// reads it back into the target's struct (nft_parse_log): so does iptkit.
template <class E>
bool Decoder::on_log(const E& e) {
  if (phase_ == 2) return fail("log after the verdict");
  if (!e.is_set(NFTNL_EXPR_LOG_GROUP) || e.is_set(NFTNL_EXPR_LOG_LEVEL) || e.is_set(NFTNL_EXPR_LOG_FLAGS)) {
    return fail("log to syslog");  // not NFLOG: no iptables-nft form
  }
  xt_nflog_info info{};
  info.group = e.u16(NFTNL_EXPR_LOG_GROUP);
  if (e.is_set(NFTNL_EXPR_LOG_QTHRESHOLD)) info.threshold = e.u16(NFTNL_EXPR_LOG_QTHRESHOLD);
  if (e.is_set(NFTNL_EXPR_LOG_SNAPLEN)) {
    info.len = e.u32(NFTNL_EXPR_LOG_SNAPLEN);
    info.flags = XT_NFLOG_F_COPY_LEN;
  }
  if (const char* prefix = e.is_set(NFTNL_EXPR_LOG_PREFIX) ? e.str(NFTNL_EXPR_LOG_PREFIX) : nullptr) {
    size_t n = strlen(prefix);
    if (n >= sizeof info.prefix) return fail("log prefix longer than NFLOG's");
    std::memcpy(info.prefix, prefix, n);
  }
  phase_ = 2;
  action_ = kTarget;
  target_ = PendingMatch{};
  target_.name = "NFLOG";
  target_.data.assign(XT_ALIGN(sizeof info), 0);
  std::memcpy(target_.data.data(), &info, sizeof info);
  return true;
}

template <class E>
bool Decoder::on_immediate(const E& e) {
  if (e.is_set(NFTNL_EXPR_IMM_DATA)) return fail("immediate data");
  int32_t verdict = static_cast<int32_t>(e.u32(NFTNL_EXPR_IMM_VERDICT));
  if (verdict == NFT_JUMP || verdict == NFT_GOTO) {
    const char* c = e.str(NFTNL_EXPR_IMM_CHAIN);
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
      const char* c = e.str(NFTNL_EXPR_IMM_CHAIN);
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

template <class E>
bool Decoder::on_xt(const E& e, bool is_target) {
  const uint16_t kname = is_target ? uint16_t{NFTNL_EXPR_TG_NAME} : uint16_t{NFTNL_EXPR_MT_NAME};
  const uint16_t kinfo = is_target ? uint16_t{NFTNL_EXPR_TG_INFO} : uint16_t{NFTNL_EXPR_MT_INFO};
  const uint16_t krev = is_target ? uint16_t{NFTNL_EXPR_TG_REV} : uint16_t{NFTNL_EXPR_MT_REV};
  const char* name = e.str(kname);
  uint32_t len = 0;
  const auto* info = static_cast<const uint8_t*>(e.get(kinfo, &len));
  if (!name) return fail("xt extension without a name");
  PendingMatch m;
  m.name = name;
  m.revision = static_cast<uint8_t>(e.u32(krev));
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

// The module that prints this struct, or none (the dialect then prints an opaque marker).
void to_instance(PendingMatch& m, bool is_target, Family family, dialect::XtInstance& out) {
  out.ext = dialect::find_for_kernel(m.name, m.revision, is_target, family, m.data.data(), m.data.size());
  out.name = std::move(m.name);
  out.revision = m.revision;
  out.data = std::move(m.data);
}

void Decoder::finish(const void* udata, uint32_t ulen, bool has_udata, dialect::Rule& out) {
  out.ip = ip_;
  out.has_counters = true;
  out.packets = pkts_;
  out.bytes = bytes_;
  out.matches.resize(matches_.size());
  for (size_t i = 0; i < matches_.size(); i++) to_instance(matches_[i], false, family_, out.matches[i]);
  // iptables-nft shows a comment in the rule's userdata as `-m comment`, after the matches.
  if (has_udata) {
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
      out.matches.emplace_back();
      to_instance(pm, false, family_, out.matches.back());
    }
  }
  switch (action_) {
    case kNoAction:
      out.target_kind = dialect::TargetKind::kNone;
      break;
    case kVerdict:
      out.target_kind = dialect::TargetKind::kVerdict;
      out.target_name = verdict_;
      break;
    case kJump:
      out.target_kind = goto_ ? dialect::TargetKind::kGoto : dialect::TargetKind::kJump;
      out.target_name = std::move(chain_);
      break;
    case kTarget:
      out.target_kind = dialect::TargetKind::kExtension;
      out.target_name = target_.name;
      to_instance(target_, true, family_, out.target);
      break;
  }
}

}  // namespace

bool decode_rule(const nftnl_rule* r, Family family, dialect::Rule& out, std::string& why,
                 std::vector<std::string>& jumps) {
  Decoder d(family, jumps);
  if (!d.run(r)) {
    why = d.why;
    return false;
  }
  uint32_t ulen = 0;
  const bool has_udata = nftnl_rule_is_set(r, NFTNL_RULE_USERDATA);
  const void* udata = has_udata ? nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ulen) : nullptr;
  d.finish(udata, ulen, has_udata, out);
  return true;
}

namespace {

bool valid_str(const nlattr* a) {
  uint16_t n = mnl_attr_get_payload_len(a);
  return n > 0 && static_cast<const char*>(mnl_attr_get_payload(a))[n - 1] == '\0';
}

// Attribute lengths as libnftnl validates them; anything else sends the rule down its path.
bool valid_expr_attr(RawExpr::Type type, int a, const nlattr* attr) {
  uint16_t n = mnl_attr_get_payload_len(attr);
  switch (type) {
    case RawExpr::kMatch:
    case RawExpr::kTarget:
      if (a == NFTA_MATCH_NAME) return valid_str(attr) && strlen(mnl_attr_get_str(attr)) < XT_EXTENSION_MAXNAMELEN;
      if (a == NFTA_MATCH_REV) return n == 4;
      return true;  // NFTA_MATCH_INFO: binary
    case RawExpr::kLog:
      if (a == NFTA_LOG_PREFIX) return valid_str(attr);
      return a == NFTA_LOG_GROUP || a == NFTA_LOG_QTHRESHOLD ? n == 2 : n == 4;
    case RawExpr::kLimit:
    case RawExpr::kCounter:
      if ((type == RawExpr::kLimit && (a == NFTA_LIMIT_RATE || a == NFTA_LIMIT_UNIT)) ||
          (type == RawExpr::kCounter && (a == NFTA_COUNTER_PACKETS || a == NFTA_COUNTER_BYTES))) {
        return n == 8;
      }
      return n == 4;
    case RawExpr::kCmp:
    case RawExpr::kBitwise:
    case RawExpr::kRange: {
      const bool data = (type == RawExpr::kCmp && a == NFTA_CMP_DATA) ||
                        (type == RawExpr::kBitwise && (a == NFTA_BITWISE_MASK || a == NFTA_BITWISE_XOR || a == NFTA_BITWISE_DATA)) ||
                        (type == RawExpr::kRange && (a == NFTA_RANGE_FROM_DATA || a == NFTA_RANGE_TO_DATA));
      if (!data) return n == 4;
      // Exactly one NFTA_DATA_VALUE of at most NFT_DATA_VALUE_MAXLEN bytes.
      const auto* v = static_cast<const nlattr*>(mnl_attr_get_payload(attr));
      if (n < sizeof(nlattr) || v->nla_len < sizeof(nlattr) || v->nla_len > n || mnl_attr_get_type(v) != NFTA_DATA_VALUE ||
          (v->nla_type & NLA_F_NESTED) || MNL_ALIGN(v->nla_len) != n) {
        return false;
      }
      return mnl_attr_get_payload_len(v) <= NFT_DATA_VALUE_MAXLEN;
    }
    default:
      return n == 4;  // meta, payload, immediate DREG: u32
  }
}

// Calls f(attr) for each attribute in [start, start+len); false (and stops) when f does, or when
// an attribute runs past the end (the caller then leaves the message to libnftnl).
template <class F>
bool for_each_attr(const void* start, size_t len, F&& f) {
  const char* p = static_cast<const char*>(start);
  while (len > 0) {
    if (len < sizeof(nlattr)) return false;
    const auto* a = reinterpret_cast<const nlattr*>(p);
    if (a->nla_len < sizeof(nlattr) || a->nla_len > len) return false;
    if (!f(a)) return false;
    size_t step = MNL_ALIGN(a->nla_len);
    if (step >= len) break;
    p += step;
    len -= step;
  }
  return true;
}

template <class F>
bool for_each_nested(const nlattr* a, F&& f) {
  return for_each_attr(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), f);
}

bool parse_raw_expr(const nlattr* elem, RawExpr& e) {
  const nlattr* name = nullptr;
  const nlattr* data = nullptr;
  if (!for_each_nested(elem, [&](const nlattr* a) {
        int t = mnl_attr_get_type(a);
        if (t == NFTA_EXPR_NAME && !name) name = a;
        else if (t == NFTA_EXPR_DATA && !data) data = a;
        else return false;
        return true;
      })) {
    return false;
  }
  if (!name || !valid_str(name)) return false;
  const char* n = mnl_attr_get_str(name);
  static const struct {
    const char* name;
    RawExpr::Type type;
  } kTypes[] = {{"payload", RawExpr::kPayload}, {"cmp", RawExpr::kCmp},       {"meta", RawExpr::kMeta},
                {"counter", RawExpr::kCounter}, {"immediate", RawExpr::kImmediate}, {"bitwise", RawExpr::kBitwise},
                {"match", RawExpr::kMatch},     {"target", RawExpr::kTarget}, {"range", RawExpr::kRange},
                {"limit", RawExpr::kLimit},     {"log", RawExpr::kLog}};
  bool known = false;
  for (const auto& k : kTypes) {
    if (!strcmp(n, k.name)) {
      e.type = k.type;
      e.name = k.name;
      known = true;
      break;
    }
  }
  if (!known) return false;
  if (!data) return true;
  return for_each_nested(data, [&](const nlattr* a) {
    int t = mnl_attr_get_type(a);
    if (t <= 0 || t >= RawExpr::kMaxAttr || e.tb[t]) return false;
    if (e.type == RawExpr::kImmediate && t == NFTA_IMMEDIATE_DATA) {
      // NFTA_DATA_VERDICT { NFTA_VERDICT_CODE, [NFTA_VERDICT_CHAIN] }; a value goes to libnftnl.
      bool ok = for_each_nested(a, [&](const nlattr* d) {
        if (mnl_attr_get_type(d) != NFTA_DATA_VERDICT || e.imm_verdict) return false;
        bool code = false;
        if (!for_each_nested(d, [&](const nlattr* v) {
              if (mnl_attr_get_type(v) == NFTA_VERDICT_CODE && mnl_attr_get_payload_len(v) == 4 && !code) {
                e.verdict = ntohl(mnl_attr_get_u32(v));
                code = true;
              } else if (mnl_attr_get_type(v) == NFTA_VERDICT_CHAIN && valid_str(v) && !e.chain) {
                e.chain = mnl_attr_get_str(v);
              } else {
                return false;
              }
              return true;
            })) {
          return false;
        }
        e.imm_verdict = code;
        return code;
      });
      if (!ok || !e.imm_verdict) return false;
      e.tb[t] = a;
      return true;
    }
    if (!valid_expr_attr(e.type, t, a)) return false;
    e.tb[t] = a;
    return true;
  });
}

}  // namespace

bool decode_rule_nlmsg(const nlmsghdr* nlh, Family family, std::string_view table, std::string_view chain,
                       dialect::Rule& out, std::vector<std::string>& jumps, uint64_t& handle, bool& other) {
  other = false;
  const nlattr* tname = nullptr;
  const nlattr* cname = nullptr;
  const nlattr* h = nullptr;
  const nlattr* exprs = nullptr;
  const nlattr* udata = nullptr;
  const size_t hdr = NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));
  if (nlh->nlmsg_len < hdr) return false;
  if (!for_each_attr(reinterpret_cast<const char*>(nlh) + hdr, nlh->nlmsg_len - hdr, [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
          case NFTA_RULE_TABLE: tname = a; return true;
          case NFTA_RULE_CHAIN: cname = a; return true;
          case NFTA_RULE_HANDLE: h = a; return true;
          case NFTA_RULE_EXPRESSIONS: exprs = a; return true;
          case NFTA_RULE_USERDATA: udata = a; return true;
          case NFTA_RULE_COMPAT: case NFTA_RULE_POSITION: case NFTA_RULE_ID: return true;
          default: return false;
        }
      })) {
    return false;
  }
  if (!tname || !cname || !h || !valid_str(tname) || !valid_str(cname) || mnl_attr_get_payload_len(h) != 8) return false;
  if (table != mnl_attr_get_str(tname) || chain != mnl_attr_get_str(cname)) {
    other = true;
    return true;
  }
  thread_local std::vector<RawExpr> list;  // reused: no allocation per rule
  list.clear();
  if (exprs && !for_each_nested(exprs, [&](const nlattr* a) {
        if (mnl_attr_get_type(a) != NFTA_LIST_ELEM) return false;
        list.emplace_back();
        return parse_raw_expr(a, list.back());
      })) {
    return false;
  }
  handle = be64toh(mnl_attr_get_u64(h));
  Decoder d(family, jumps);
  if (!d.run(list)) return false;
  d.finish(udata ? mnl_attr_get_payload(udata) : nullptr, udata ? mnl_attr_get_payload_len(udata) : 0, udata != nullptr,
           out);
  return true;
}

void describe_foreign(const nftnl_rule* r, std::string& out, uint64_t& packets, uint64_t& bytes) {
  struct Ctx {
    std::string* out;
    uint64_t* packets;
    uint64_t* bytes;
    bool counted = false;
    std::string buf;
  } ctx{&out, &packets, &bytes};
  packets = bytes = 0;
  ctx.buf.resize(1024);
  // nftnl_expr_foreach takes a non-const rule but does not modify it.
  nftnl_expr_foreach(const_cast<nftnl_rule*>(r), [](nftnl_expr* e, void* data) -> int {
    auto* c = static_cast<Ctx*>(data);
    const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    if (!c->out->empty()) *c->out += ' ';
    *c->out += "[ ";
    *c->out += name ? name : "?";
    if (name && !strcmp(name, "counter")) {
      if (!c->counted) {
        c->counted = true;
        *c->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
        *c->bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
      }
      *c->out += " ]";
      return 0;
    }
    int n = nftnl_expr_snprintf(c->buf.data(), c->buf.size(), e, NFTNL_OUTPUT_DEFAULT, 0);
    if (n > 0 && static_cast<size_t>(n) >= c->buf.size()) {
      c->buf.resize(static_cast<size_t>(n) + 1);
      n = nftnl_expr_snprintf(c->buf.data(), c->buf.size(), e, NFTNL_OUTPUT_DEFAULT, 0);
    }
    if (n > 0) {
      *c->out += ' ';
      c->out->append(c->buf.data(), std::min(static_cast<size_t>(n), c->buf.size() - 1));
    }
    while (!c->out->empty() && c->out->back() == ' ') c->out->pop_back();
    *c->out += " ]";
    return 0;
  }, &ctx);
  // A comment the rule carries (nft's `comment "…"`), which says most about it.
  if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
    uint32_t ulen = 0;
    const void* udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &ulen);
    const nftnl_udata* comment = nullptr;
    nftnl_udata_parse(udata, ulen, [](const nftnl_udata* attr, void* data) -> int {
      if (nftnl_udata_type(attr) == 0) *static_cast<const nftnl_udata**>(data) = attr;
      return 0;
    }, &comment);
    if (comment && nftnl_udata_len(comment) > 0) {
      const auto* text = static_cast<const char*>(nftnl_udata_get(comment));
      out += " comment \"";
      out.append(text, strnlen(text, nftnl_udata_len(comment)));
      out += '"';
    }
  }
  if (out.empty()) out = "[ ]";  // a rule without expressions
  // One line, whatever libnftnl or the comment hold.
  for (char& ch : out) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
}

}  // namespace nft
}  // namespace iptkit
