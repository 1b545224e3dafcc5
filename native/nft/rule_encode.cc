#include "rule_encode.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFLOG.h>
#include <linux/netfilter/xt_limit.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>
#include <new>


namespace iptkit {
namespace nft {

namespace {

// iptables-nft loads every value into the first 128-bit register.
constexpr uint32_t kReg = NFT_REG_1;

// Each expression is written straight into the message, as libnftnl's
// nftnl_rule_nlmsg_build_payload writes it (its attribute order, libmnl's padding), without a
// libnftnl object: at 30,000 rules those objects were a malloc and free per expression and
// attribute, and a lookup of each expression's type by name.
struct Expr {
  nlmsghdr* nlh;
  nlattr* elem;
  nlattr* data;
  Expr(nlmsghdr* n, const char* name) : nlh(n) {
    elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, name);
    data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
  }
  ~Expr() {
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, elem);
  }
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;
  void u32(uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh, type, htonl(v)); }
  void u64(uint16_t type, uint64_t v) { mnl_attr_put_u64(nlh, type, htobe64(v)); }
  void u16(uint16_t type, uint16_t v) { mnl_attr_put_u16(nlh, type, htons(v)); }
  void strz(uint16_t type, const char* v) { mnl_attr_put_strz(nlh, type, v); }
  // A data register holding a value (nftnl_data_reg: NFTA_DATA_VALUE nested in `type`).
  void value(uint16_t type, const void* v, uint32_t len) {
    nlattr* nest = mnl_attr_nest_start(nlh, type);
    mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
    mnl_attr_nest_end(nlh, nest);
  }
  // The verdict register: code, and the chain of a jump or goto.
  void verdict(uint32_t code, const char* chain) {
    nlattr* outer = mnl_attr_nest_start(nlh, NFTA_IMMEDIATE_DATA);
    nlattr* inner = mnl_attr_nest_start(nlh, NFTA_DATA_VERDICT);
    mnl_attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl(code));
    if (chain) mnl_attr_put_strz(nlh, NFTA_VERDICT_CHAIN, chain);
    mnl_attr_nest_end(nlh, inner);
    mnl_attr_nest_end(nlh, outer);
  }
};

void add_meta(nlmsghdr* nlh, uint32_t key) {
  Expr e(nlh, "meta");
  e.u32(NFTA_META_KEY, key);
  e.u32(NFTA_META_DREG, kReg);
}

void add_payload(nlmsghdr* nlh, uint32_t base, uint32_t offset, uint32_t len) {
  Expr e(nlh, "payload");
  e.u32(NFTA_PAYLOAD_DREG, kReg);
  e.u32(NFTA_PAYLOAD_BASE, base);
  e.u32(NFTA_PAYLOAD_OFFSET, offset);
  e.u32(NFTA_PAYLOAD_LEN, len);
}

void add_bitwise(nlmsghdr* nlh, const void* mask, uint32_t len) {
  static const uint8_t kZero[16] = {};
  Expr e(nlh, "bitwise");
  e.u32(NFTA_BITWISE_SREG, kReg);
  e.u32(NFTA_BITWISE_DREG, kReg);
  e.u32(NFTA_BITWISE_LEN, len);
  e.value(NFTA_BITWISE_MASK, mask, len);
  e.value(NFTA_BITWISE_XOR, kZero, len);
}

void add_cmp(nlmsghdr* nlh, uint32_t op, const void* data, uint32_t len) {
  Expr e(nlh, "cmp");
  e.u32(NFTA_CMP_SREG, kReg);
  e.u32(NFTA_CMP_OP, op);
  e.value(NFTA_CMP_DATA, data, len);
}

void add_iface(nlmsghdr* r, uint32_t key, const std::string& name, uint32_t op) {
  add_meta(r, key);
  if (name.back() == '+') {
    if (name.size() > 1) {
      add_cmp(r, op, name.data(), static_cast<uint32_t>(name.size() - 1));
    } else if (op != NFT_CMP_EQ) {
      // `! -i +` can match nothing; iptables-nft compares with a name no interface can have.
      static const char kInvalid[] = "INVAL/D";
      add_cmp(r, NFT_CMP_EQ, kInvalid, sizeof kInvalid);
    }
    // `-i +` alone leaves the load without a comparison, as iptables-nft does.
  } else {
    add_cmp(r, op, name.c_str(), static_cast<uint32_t>(name.size() + 1));
  }
}

// iptables-nft's add_addr: a mask of whole leading bytes loads only those bytes; any other mask
// loads the whole address and masks it.
void add_addr(nlmsghdr* r, uint32_t offset, const uint8_t* addr, const uint8_t* mask, uint32_t len, uint32_t op) {
  uint32_t i = 0;
  bool bitwise = false;
  for (i = 0; i < len; i++) {
    if (mask[i] != 0xff) {
      bitwise = mask[i] != 0;
      break;
    }
  }
  for (uint32_t j = i + 1; !bitwise && j < len; j++) bitwise = mask[j] != 0;
  if (!bitwise) len = i;
  add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, offset, len);
  if (bitwise) add_bitwise(r, mask, len);
  add_cmp(r, op, addr, len);
}

void add_port_cmp(nlmsghdr* r, uint16_t lo, uint16_t hi, bool invert) {
  if (lo == hi) {
    uint16_t v = htons(lo);
    add_cmp(r, invert ? NFT_CMP_NEQ : NFT_CMP_EQ, &v, 2);
    return;
  }
  if (lo == 0 && hi < 0xffff) {
    uint16_t v = htons(hi);
    add_cmp(r, invert ? NFT_CMP_GT : NFT_CMP_LTE, &v, 2);
    return;
  }
  Expr e(r, "range");
  e.u32(NFTA_RANGE_SREG, kReg);
  e.u32(NFTA_RANGE_OP, invert ? NFT_RANGE_NEQ : NFT_RANGE_EQ);
  uint16_t from = htons(lo), to = htons(hi);
  e.value(NFTA_RANGE_FROM_DATA, &from, 2);
  e.value(NFTA_RANGE_TO_DATA, &to, 2);
}

void add_ports(nlmsghdr* r, const uint16_t* src, bool inv_src, const uint16_t* dst, bool inv_dst) {
  if (src[0] && src[0] == src[1] && dst[0] && dst[0] == dst[1] && inv_src == inv_dst) {
    uint32_t both = htonl(static_cast<uint32_t>(dst[0]) | static_cast<uint32_t>(src[0]) << 16);
    add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4);
    add_cmp(r, inv_src ? NFT_CMP_NEQ : NFT_CMP_EQ, &both, 4);
    return;
  }
  if (src[0] || src[1] < 0xffff) {
    add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2);
    add_port_cmp(r, src[0], src[1], inv_src);
  }
  if (dst[0] || dst[1] < 0xffff) {
    add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
    add_port_cmp(r, dst[0], dst[1], inv_dst);
  }
}

void add_xt(nlmsghdr* r, bool is_target, const std::string& name, uint8_t revision, const std::vector<uint8_t>& data) {
  Expr e(r, is_target ? "target" : "match");
  e.strz(is_target ? uint16_t{NFTA_TARGET_NAME} : uint16_t{NFTA_MATCH_NAME}, name.c_str());
  e.u32(is_target ? uint16_t{NFTA_TARGET_REV} : uint16_t{NFTA_MATCH_REV}, revision);
  static const uint8_t kNone = 0;  // an empty info is still the attribute, and memcpy wants a pointer
  mnl_attr_put(r, is_target ? uint16_t{NFTA_TARGET_INFO} : uint16_t{NFTA_MATCH_INFO}, data.size(), data.empty() ? &kNone : data.data());
}

// nft.c add_log: `-j NFLOG` is a log expression to its netlink group. A length without
// XT_NFLOG_F_COPY_LEN (--nflog-range) never did anything, and is dropped as iptables-nft drops it.
void add_nflog(nlmsghdr* r, const std::vector<uint8_t>& data) {
  xt_nflog_info info;
  std::memcpy(&info, data.data(), sizeof info);
  Expr e(r, "log");
  if (info.prefix[0] != '\0') {
    std::string prefix(info.prefix, strnlen(info.prefix, sizeof info.prefix));
    e.strz(NFTA_LOG_PREFIX, prefix.c_str());
  }
  e.u16(NFTA_LOG_GROUP, info.group);
  if (info.flags & XT_NFLOG_F_COPY_LEN) e.u32(NFTA_LOG_SNAPLEN, info.len);
  if (info.threshold) e.u16(NFTA_LOG_QTHRESHOLD, info.threshold);
}

}  // namespace

size_t encoded_size_bound(const dialect::Rule& rule) {
  // ip part, counter and verdict in 1 KiB; each extension its data plus headers and its name.
  size_t n = 1024;
  for (const auto& m : rule.matches) n += 256 + m.name.size() + m.data.size();
  n += 256 + rule.target.name.size() + rule.target.data.size() + rule.target_name.size();
  return n;
}

bool encode_rule(const dialect::Rule& rule, uint64_t packets, uint64_t bytes, Family family, nlmsghdr* r,
                 std::string& err) {
  const bool v6 = family == Family::ipv6;
  const dialect::IpPart& ip = rule.ip;
  const uint8_t inv = ip.invflags;
  if (v6 && ip.frag) {
    err = "-f is IPv4 only";
    return false;
  }
  if (ip.proto > 0xff) {
    err = "protocol " + std::to_string(ip.proto) + " does not fit nf_tables' l4proto";
    return false;
  }
  auto op = [&](uint8_t bit) -> uint32_t { return (inv & bit) ? NFT_CMP_NEQ : NFT_CMP_EQ; };
  auto name_of = [](const char* n) { return std::string(n, strnlen(n, IFNAMSIZ)); };

  nlattr* expressions = mnl_attr_nest_start(r, NFTA_RULE_EXPRESSIONS);
  // The order of nft_ipv4_add / nft_ipv6_add.
  if (ip.iniface[0]) add_iface(r, NFT_META_IIFNAME, name_of(ip.iniface), op(dialect::kInvIn));
  if (ip.outiface[0]) add_iface(r, NFT_META_OIFNAME, name_of(ip.outiface), op(dialect::kInvOut));
  if (ip.proto != 0) {
    add_meta(r, NFT_META_L4PROTO);
    uint8_t p = static_cast<uint8_t>(ip.proto);
    add_cmp(r, op(dialect::kInvProto), &p, 1);
  }
  const uint32_t alen = v6 ? 16 : 4;
  auto nonzero = [&](const uint8_t* b) {
    for (uint32_t i = 0; i < alen; i++) {
      if (b[i]) return true;
    }
    return false;
  };
  if (nonzero(ip.src) || nonzero(ip.smsk) || (inv & dialect::kInvSrc)) {
    add_addr(r, v6 ? 8 : 12, ip.src, ip.smsk, alen, op(dialect::kInvSrc));
  }
  if (nonzero(ip.dst) || nonzero(ip.dmsk) || (inv & dialect::kInvDst)) {
    add_addr(r, v6 ? 24 : 16, ip.dst, ip.dmsk, alen, op(dialect::kInvDst));
  }
  if (ip.frag) {
    add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 6, 2);
    uint16_t mask = htons(0x1fff);
    add_bitwise(r, &mask, 2);
    uint16_t zero = 0;
    add_cmp(r, (inv & dialect::kInvFrag) ? NFT_CMP_EQ : NFT_CMP_NEQ, &zero, 2);
  }

  for (const auto& m : rule.matches) {
    const std::vector<uint8_t>& data = m.data;
    // nft.c add_match: these four become native expressions (by name, as iptables-nft decides).
    if (m.name == "limit" && data.size() >= sizeof(xt_rateinfo)) {
      xt_rateinfo ri;
      std::memcpy(&ri, data.data(), sizeof ri);
      if (ri.avg == 0) {
        err = "-m limit: avg is 0";
        return false;
      }
      static const uint32_t mult[] = {XT_LIMIT_SCALE * 24 * 60 * 60, XT_LIMIT_SCALE * 60 * 60, XT_LIMIT_SCALE * 60,
                                      XT_LIMIT_SCALE};
      size_t i;
      for (i = 1; i < 4; i++) {
        if (ri.avg > mult[i] || mult[i] / ri.avg < mult[i] % ri.avg) break;
      }
      Expr e(r, "limit");
      e.u64(NFTA_LIMIT_RATE, mult[i - 1] / ri.avg);
      e.u64(NFTA_LIMIT_UNIT, mult[i - 1] / XT_LIMIT_SCALE);
      e.u32(NFTA_LIMIT_BURST, ri.burst);
      e.u32(NFTA_LIMIT_TYPE, NFT_LIMIT_PKTS);
      e.u32(NFTA_LIMIT_FLAGS, 0);
      continue;
    }
    if (m.name == "udp" && m.revision == 0 && data.size() >= sizeof(xt_udp)) {
      xt_udp u;
      std::memcpy(&u, data.data(), sizeof u);
      bool all_zero = u.spts[0] == 0 && u.spts[1] == 0xffff && u.dpts[0] == 0 && u.dpts[1] == 0xffff && u.invflags == 0;
      if (u.invflags <= XT_UDP_INV_MASK && !all_zero) {
        // add_nft_udp looks at NFTA_RULE_COMPAT's protocol only, not at its inversion.
        if (ip.proto != IPPROTO_UDP) {
          err = "UDP match requires '-p udp'";
          return false;
        }
        add_ports(r, u.spts, u.invflags & XT_UDP_INV_SRCPT, u.dpts, u.invflags & XT_UDP_INV_DSTPT);
        continue;
      }
    }
    if (m.name == "tcp" && m.revision == 0 && data.size() >= sizeof(xt_tcp)) {
      xt_tcp t;
      std::memcpy(&t, data.data(), sizeof t);
      const uint8_t supported = XT_TCP_INV_SRCPT | XT_TCP_INV_DSTPT | XT_TCP_INV_FLAGS;
      bool all_zero = t.spts[0] == 0 && t.spts[1] == 0xffff && t.dpts[0] == 0 && t.dpts[1] == 0xffff && t.option == 0 &&
                      t.flg_mask == 0 && t.flg_cmp == 0 && t.invflags == 0;
      if (!(t.invflags & ~supported) && !t.option && !all_zero) {
        if (ip.proto != IPPROTO_TCP) {
          err = "TCP match requires '-p tcp'";
          return false;
        }
        if (t.flg_mask) {
          add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
          add_bitwise(r, &t.flg_mask, 1);
          add_cmp(r, (t.invflags & XT_TCP_INV_FLAGS) ? NFT_CMP_NEQ : NFT_CMP_EQ, &t.flg_cmp, 1);
        }
        add_ports(r, t.spts, t.invflags & XT_TCP_INV_SRCPT, t.dpts, t.invflags & XT_TCP_INV_DSTPT);
        continue;
      }
    }
    // Only revision 1 is the struct add_nft_mark reads; iptables itself writes no other.
    if (m.name == "mark" && m.revision == 1 && data.size() >= sizeof(xt_mark_mtinfo1)) {
      xt_mark_mtinfo1 k;
      std::memcpy(&k, data.data(), sizeof k);
      add_meta(r, NFT_META_MARK);
      if (k.mask != 0xffffffffu) add_bitwise(r, &k.mask, 4);
      add_cmp(r, k.invert ? NFT_CMP_NEQ : NFT_CMP_EQ, &k.mark, 4);
      continue;
    }
    add_xt(r, false, m.name, m.revision, data);
  }

  // The counter goes before the verdict: after it, it would count every packet the rule sees.
  {
    Expr c(r, "counter");
    c.u64(NFTA_COUNTER_BYTES, bytes);
    c.u64(NFTA_COUNTER_PACKETS, packets);
  }

  switch (rule.target_kind) {
    case dialect::TargetKind::kNone:
      break;
    case dialect::TargetKind::kVerdict: {
      int32_t v;
      if (rule.target_name == "ACCEPT") v = NF_ACCEPT;
      else if (rule.target_name == "DROP") v = NF_DROP;
      else if (rule.target_name == "RETURN") v = NFT_RETURN;
      else {
        err = "-j " + rule.target_name + " is not supported on nf_tables";
        return false;
      }
      Expr e(r, "immediate");
      e.u32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
      e.verdict(static_cast<uint32_t>(v), nullptr);
      break;
    }
    case dialect::TargetKind::kJump:
    case dialect::TargetKind::kGoto: {
      Expr e(r, "immediate");
      e.u32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
      const bool go = rule.target_kind == dialect::TargetKind::kGoto;
      e.verdict(static_cast<uint32_t>(go ? NFT_GOTO : NFT_JUMP), rule.target_name.c_str());
      break;
    }
    case dialect::TargetKind::kExtension:
      if (rule.target.name == "NFLOG" && rule.target.data.size() >= sizeof(xt_nflog_info)) {
        add_nflog(r, rule.target.data);
        break;
      }
      add_xt(r, true, rule.target.name, rule.target.revision, rule.target.data);
      break;
  }
  mnl_attr_nest_end(r, expressions);
  // After the expressions, as nftnl_rule_nlmsg_build_payload puts it: the -p for compat matches.
  nlattr* compat = mnl_attr_nest_start(r, NFTA_RULE_COMPAT);
  mnl_attr_put_u32(r, NFTA_RULE_COMPAT_PROTO, htonl(ip.proto));
  mnl_attr_put_u32(r, NFTA_RULE_COMPAT_FLAGS, htonl((inv & dialect::kInvProto) ? NFT_RULE_COMPAT_F_INV : 0));
  mnl_attr_nest_end(r, compat);
  return true;
}

}  // namespace nft
}  // namespace iptkit
