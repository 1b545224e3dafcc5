#include "objects_expr.h"

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "handles.h"

namespace iptkit {
namespace nft {

namespace {

enum class Kind : uint8_t {
  kReg,      // a register number (u32), 0..NFT_REG32_15
  kU32,
  kU8,
  kCount,    // counter values (u64): read back, never part of a rule's identity
  kData,     // bytes, as lowercase hex
  kEnum,     // u32 by name
  kVerdict,  // an immediate's verdict by name (signed in the kernel)
  kStr,
};

struct Name {
  const char* name;
  int64_t value;
};

struct Field {
  const char* key;
  uint16_t attr;
  Kind kind;
  const Name* names = nullptr;  // kEnum / kVerdict, ended by {nullptr, 0}
};

struct ExprSpec {
  const char* name;
  std::vector<Field> fields;
};

const Name kPayloadBase[] = {{"link", NFT_PAYLOAD_LL_HEADER}, {"network", NFT_PAYLOAD_NETWORK_HEADER},
                             {"transport", NFT_PAYLOAD_TRANSPORT_HEADER}, {"inner", NFT_PAYLOAD_INNER_HEADER},
                             {nullptr, 0}};
const Name kMetaKey[] = {{"len", NFT_META_LEN},           {"protocol", NFT_META_PROTOCOL}, {"priority", NFT_META_PRIORITY},
                         {"mark", NFT_META_MARK},         {"iif", NFT_META_IIF},           {"oif", NFT_META_OIF},
                         {"iifname", NFT_META_IIFNAME},   {"oifname", NFT_META_OIFNAME},   {"iiftype", NFT_META_IIFTYPE},
                         {"oiftype", NFT_META_OIFTYPE},   {"skuid", NFT_META_SKUID},       {"skgid", NFT_META_SKGID},
                         {"nftrace", NFT_META_NFTRACE},   {"nfproto", NFT_META_NFPROTO},   {"l4proto", NFT_META_L4PROTO},
                         {"pkttype", NFT_META_PKTTYPE},   {"iifgroup", NFT_META_IIFGROUP}, {"oifgroup", NFT_META_OIFGROUP},
                         {"cgroup", NFT_META_CGROUP},     {nullptr, 0}};
const Name kCmpOp[] = {{"eq", NFT_CMP_EQ}, {"neq", NFT_CMP_NEQ}, {"lt", NFT_CMP_LT}, {"lte", NFT_CMP_LTE},
                       {"gt", NFT_CMP_GT}, {"gte", NFT_CMP_GTE}, {nullptr, 0}};
const Name kFibResult[] = {{"oif", NFT_FIB_RESULT_OIF}, {"oifname", NFT_FIB_RESULT_OIFNAME},
                           {"type", NFT_FIB_RESULT_ADDRTYPE}, {nullptr, 0}};
const Name kCtKey[] = {{"state", NFT_CT_STATE}, {"direction", NFT_CT_DIRECTION}, {"status", NFT_CT_STATUS},
                       {"mark", NFT_CT_MARK},   {"expiration", NFT_CT_EXPIRATION}, {"l3protocol", NFT_CT_L3PROTOCOL},
                       {"protocol", NFT_CT_PROTOCOL}, {"proto-src", NFT_CT_PROTO_SRC}, {"proto-dst", NFT_CT_PROTO_DST},
                       {nullptr, 0}};
const Name kVerdicts[] = {{"accept", NF_ACCEPT}, {"drop", NF_DROP}, {"continue", NFT_CONTINUE}, {"jump", NFT_JUMP},
                          {"goto", NFT_GOTO},    {"return", NFT_RETURN}, {nullptr, 0}};
const Name kNatType[] = {{"snat", NFT_NAT_SNAT}, {"dnat", NFT_NAT_DNAT}, {nullptr, 0}};
const Name kNatFamily[] = {{"ip", NFPROTO_IPV4}, {"ip6", NFPROTO_IPV6}, {nullptr, 0}};

const std::vector<ExprSpec>& specs() {
  static const std::vector<ExprSpec> s = {
      {"payload",
       {{"base", NFTNL_EXPR_PAYLOAD_BASE, Kind::kEnum, kPayloadBase},
        {"offset", NFTNL_EXPR_PAYLOAD_OFFSET, Kind::kU32},
        {"len", NFTNL_EXPR_PAYLOAD_LEN, Kind::kU32},
        {"dreg", NFTNL_EXPR_PAYLOAD_DREG, Kind::kReg}}},
      {"meta",
       {{"key", NFTNL_EXPR_META_KEY, Kind::kEnum, kMetaKey},
        {"dreg", NFTNL_EXPR_META_DREG, Kind::kReg},
        {"sreg", NFTNL_EXPR_META_SREG, Kind::kReg}}},
      {"cmp",
       {{"sreg", NFTNL_EXPR_CMP_SREG, Kind::kReg},
        {"op", NFTNL_EXPR_CMP_OP, Kind::kEnum, kCmpOp},
        {"data", NFTNL_EXPR_CMP_DATA, Kind::kData}}},
      {"bitwise",
       {{"sreg", NFTNL_EXPR_BITWISE_SREG, Kind::kReg},
        {"dreg", NFTNL_EXPR_BITWISE_DREG, Kind::kReg},
        {"len", NFTNL_EXPR_BITWISE_LEN, Kind::kU32},
        {"mask", NFTNL_EXPR_BITWISE_MASK, Kind::kData},
        {"xor", NFTNL_EXPR_BITWISE_XOR, Kind::kData}}},
      {"fib",
       {{"flags", NFTNL_EXPR_FIB_FLAGS, Kind::kU32},
        {"result", NFTNL_EXPR_FIB_RESULT, Kind::kEnum, kFibResult},
        {"dreg", NFTNL_EXPR_FIB_DREG, Kind::kReg}}},
      {"ct",
       {{"key", NFTNL_EXPR_CT_KEY, Kind::kEnum, kCtKey},
        {"dir", NFTNL_EXPR_CT_DIR, Kind::kU8},
        {"dreg", NFTNL_EXPR_CT_DREG, Kind::kReg},
        {"sreg", NFTNL_EXPR_CT_SREG, Kind::kReg}}},
      {"immediate",
       {{"dreg", NFTNL_EXPR_IMM_DREG, Kind::kReg},
        {"data", NFTNL_EXPR_IMM_DATA, Kind::kData},
        {"verdict", NFTNL_EXPR_IMM_VERDICT, Kind::kVerdict, kVerdicts},
        {"chain", NFTNL_EXPR_IMM_CHAIN, Kind::kStr}}},
      {"lookup",
       {{"set", NFTNL_EXPR_LOOKUP_SET, Kind::kStr},
        {"sreg", NFTNL_EXPR_LOOKUP_SREG, Kind::kReg},
        {"dreg", NFTNL_EXPR_LOOKUP_DREG, Kind::kReg},
        {"flags", NFTNL_EXPR_LOOKUP_FLAGS, Kind::kU32},
        // The batch's id of a set made in the same batch (an anonymous set); never read back.
        {"set_id", NFTNL_EXPR_LOOKUP_SET_ID, Kind::kU32}}},
      {"counter", {{"packets", NFTNL_EXPR_CTR_PACKETS, Kind::kCount}, {"bytes", NFTNL_EXPR_CTR_BYTES, Kind::kCount}}},
      {"nat",
       {{"type", NFTNL_EXPR_NAT_TYPE, Kind::kEnum, kNatType},
        {"family", NFTNL_EXPR_NAT_FAMILY, Kind::kEnum, kNatFamily},
        {"addrMin", NFTNL_EXPR_NAT_REG_ADDR_MIN, Kind::kReg},
        {"addrMax", NFTNL_EXPR_NAT_REG_ADDR_MAX, Kind::kReg},
        {"protoMin", NFTNL_EXPR_NAT_REG_PROTO_MIN, Kind::kReg},
        {"protoMax", NFTNL_EXPR_NAT_REG_PROTO_MAX, Kind::kReg},
        {"flags", NFTNL_EXPR_NAT_FLAGS, Kind::kU32}}},
      {"masq",
       {{"flags", NFTNL_EXPR_MASQ_FLAGS, Kind::kU32},
        {"protoMin", NFTNL_EXPR_MASQ_REG_PROTO_MIN, Kind::kReg},
        {"protoMax", NFTNL_EXPR_MASQ_REG_PROTO_MAX, Kind::kReg}}},
  };
  return s;
}

const ExprSpec* find_spec(const std::string& name) {
  for (const auto& s : specs()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

const char* name_of(const Name* names, int64_t v) {
  for (const Name* n = names; n->name; n++) {
    if (n->value == v) return n->name;
  }
  return nullptr;
}

bool value_of(const Name* names, const std::string& s, int64_t& v) {
  for (const Name* n = names; n->name; n++) {
    if (s == n->name) {
      v = n->value;
      return true;
    }
  }
  return false;
}

std::string names_list(const Name* names) {
  std::string out;
  for (const Name* n = names; n->name; n++) out += std::string(out.empty() ? "" : ", ") + n->name;
  return out;
}

const char kHex[] = "0123456789abcdef";

std::string to_hex(const void* p, uint32_t len) {
  std::string s;
  const auto* b = static_cast<const unsigned char*>(p);
  for (uint32_t i = 0; i < len; i++) {
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

bool from_hex(const std::string& s, std::string& out) {
  if (s.empty() || s.size() % 2 || s.size() > 2 * NFT_DATA_VALUE_MAXLEN) return false;
  out.clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    const char* hi = strchr(kHex, s[i] | 0x20);
    const char* lo = strchr(kHex, s[i + 1] | 0x20);
    if (!s[i] || !s[i + 1] || !hi || !lo) return false;
    out += static_cast<char>(((hi - kHex) << 4) | (lo - kHex));
  }
  return true;
}

int comment_cb(const nftnl_udata* attr, void* data) {
  if (nftnl_udata_type(attr) != NFTNL_UDATA_RULE_COMMENT) return MNL_CB_OK;
  auto* out = static_cast<ObjRule*>(data);
  const char* v = static_cast<const char*>(nftnl_udata_get(attr));
  uint8_t len = nftnl_udata_len(attr);
  // nft writes the comment with its NUL; what a foreign writer left without one is still text.
  out->comment.assign(v, strnlen(v, len));
  out->has_comment = true;
  return MNL_CB_OK;
}

const ExprField* field(const ObjExpr& x, const char* key) {
  for (const auto& f : x.fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

// What the kernel reports beyond what was given, dropped so that an expression reads back as it
// was written: flags of 0 (a lookup's and NAT's are always dumped), NAT's MAP_IPS flag, and a NAT
// range's upper register when it is the lower one (the kernel's default for a single address or
// port).
void canonical(ObjExpr& x) {
  auto same_as = [&](const char* max, const char* min) {
    const ExprField* a = field(x, max);
    const ExprField* b = field(x, min);
    return a && b && !a->is_str && !b->is_str && a->num == b->num;
  };
  bool addr = same_as("addrMax", "addrMin"), proto = same_as("protoMax", "protoMin");
  // The kernel sets NF_NAT_RANGE_MAP_IPS itself when a NAT is given an address register.
  if (x.name == "nat" && field(x, "addrMin")) {
    for (auto& f : x.fields) {
      if (f.key == "flags" && !f.is_str) f.num &= ~uint64_t{NF_NAT_RANGE_MAP_IPS};
    }
  }
  std::vector<ExprField> kept;
  for (auto& f : x.fields) {
    if (f.key == "flags" && !f.is_str && f.num == 0) continue;
    if ((f.key == "addrMax" && addr) || (f.key == "protoMax" && proto)) continue;
    kept.push_back(std::move(f));
  }
  x.fields = std::move(kept);
}

struct DecodeCtx {
  ObjRule* rule;
};

int decode_expr_cb(nftnl_expr* e, void* data) {
  ObjRule& out = *static_cast<DecodeCtx*>(data)->rule;
  const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
  ObjExpr x;
  x.name = name ? name : "";
  const ExprSpec* spec = find_spec(x.name);
  if (!spec) {
    out.foreign = true;
    out.exprs.push_back(std::move(x));
    return MNL_CB_OK;
  }
  for (const Field& f : spec->fields) {
    if (!nftnl_expr_is_set(e, f.attr)) continue;
    ExprField v;
    v.key = f.key;
    switch (f.kind) {
      case Kind::kReg:
      case Kind::kU32: v.num = nftnl_expr_get_u32(e, f.attr); break;
      case Kind::kU8: v.num = nftnl_expr_get_u8(e, f.attr); break;
      case Kind::kCount: v.num = nftnl_expr_get_u64(e, f.attr); break;
      case Kind::kData: {
        uint32_t len = 0;
        const void* p = nftnl_expr_get(e, f.attr, &len);
        v.is_str = true;
        v.str = to_hex(p, len);
        break;
      }
      case Kind::kEnum:
      case Kind::kVerdict: {
        int64_t n = f.kind == Kind::kVerdict ? static_cast<int64_t>(static_cast<int32_t>(nftnl_expr_get_u32(e, f.attr)))
                                             : static_cast<int64_t>(nftnl_expr_get_u32(e, f.attr));
        const char* nm = name_of(f.names, n);
        if (nm) {
          v.is_str = true;
          v.str = nm;
        } else {
          v.num = static_cast<uint64_t>(n);  // a value this table has no name for: its number
        }
        break;
      }
      case Kind::kStr:
        v.is_str = true;
        v.str = nftnl_expr_get_str(e, f.attr);
        break;
    }
    x.fields.push_back(std::move(v));
  }
  canonical(x);
  out.exprs.push_back(std::move(x));
  return MNL_CB_OK;
}

}  // namespace

bool encode_expr(const ObjExpr& x, nftnl_rule* r, std::string& err) {
  const ExprSpec* spec = find_spec(x.name);
  if (!spec) {
    std::string known;
    for (const auto& s : specs()) known += std::string(known.empty() ? "" : ", ") + s.name;
    err = "expr: unknown expression '" + x.name + "' (known: " + known + ")";
    return false;
  }
  ExprPtr e(nftnl_expr_alloc(spec->name));
  if (!e) throw std::bad_alloc();
  for (const ExprField& v : x.fields) {
    const Field* f = nullptr;
    for (const Field& c : spec->fields) {
      if (v.key == c.key) f = &c;
    }
    if (!f) {
      std::string known;
      for (const Field& c : spec->fields) known += std::string(known.empty() ? "" : ", ") + c.key;
      err = v.key + ": not a field of " + x.name + " (fields: " + known + ")";
      return false;
    }
    switch (f->kind) {
      case Kind::kReg:
      case Kind::kU32:
      case Kind::kU8:
      case Kind::kCount: {
        uint64_t max = f->kind == Kind::kReg ? uint64_t{NFT_REG32_15} : f->kind == Kind::kU8 ? 0xff : f->kind == Kind::kU32 ? 0xffffffffu : UINT64_MAX;
        if (v.is_str || v.num > max) {
          err = v.key + ": must be an integer in 0.." + std::to_string(max);
          return false;
        }
        if (f->kind == Kind::kU8) nftnl_expr_set_u8(e.get(), f->attr, static_cast<uint8_t>(v.num));
        else if (f->kind == Kind::kCount) nftnl_expr_set_u64(e.get(), f->attr, v.num);
        else nftnl_expr_set_u32(e.get(), f->attr, static_cast<uint32_t>(v.num));
        break;
      }
      case Kind::kData: {
        std::string bytes;
        if (!v.is_str || !from_hex(v.str, bytes)) {
          err = v.key + ": must be bytes as hex, 1 to " + std::to_string(NFT_DATA_VALUE_MAXLEN) + " of them";
          return false;
        }
        nftnl_expr_set(e.get(), f->attr, bytes.data(), static_cast<uint32_t>(bytes.size()));
        break;
      }
      case Kind::kEnum:
      case Kind::kVerdict: {
        int64_t n = 0;
        if (!v.is_str || !value_of(f->names, v.str, n)) {
          err = v.key + ": must be one of " + names_list(f->names);
          return false;
        }
        nftnl_expr_set_u32(e.get(), f->attr, static_cast<uint32_t>(n));
        break;
      }
      case Kind::kStr:
        if (!v.is_str || v.str.empty() || v.str.size() >= NFT_NAME_MAXLEN || v.str.find('\0') != std::string::npos) {
          err = v.key + ": must be a name of 1 to " + std::to_string(NFT_NAME_MAXLEN - 1) + " characters";
          return false;
        }
        nftnl_expr_set_str(e.get(), f->attr, v.str.c_str());
        break;
    }
  }
  nftnl_rule_add_expr(r, e.release());
  return true;
}

bool encode_rule_body(const ObjRule& rule, nftnl_rule* r, std::string& err) {
  for (size_t i = 0; i < rule.exprs.size(); i++) {
    std::string e;
    if (!encode_expr(rule.exprs[i], r, e)) {
      err = "exprs[" + std::to_string(i) + "]." + e;
      return false;
    }
  }
  if (rule.has_comment) {
    // As nft: the comment with its NUL in a user-data TLV of type NFTNL_UDATA_RULE_COMMENT.
    if (rule.comment.size() + 1 > 255 || rule.comment.find('\0') != std::string::npos) {
      err = "comment: must be at most 254 bytes without NUL";
      return false;
    }
    UdataPtr buf(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
    if (!buf) throw std::bad_alloc();
    if (!nftnl_udata_put_strz(buf.get(), NFTNL_UDATA_RULE_COMMENT, rule.comment.c_str())) {
      err = "comment: too long";
      return false;
    }
    nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(buf.get()), nftnl_udata_buf_len(buf.get()));
  }
  return true;
}

void decode_rule(const nftnl_rule* r, ObjRule& out) {
  DecodeCtx ctx{&out};
  nftnl_expr_foreach(const_cast<nftnl_rule*>(r), decode_expr_cb, &ctx);
  if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
    uint32_t len = 0;
    const void* p = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
    nftnl_udata_parse(p, len, comment_cb, &out);
  }
}

std::string rule_key(const ObjRule& r) {
  std::string k;
  for (const ObjExpr& x : r.exprs) {
    k += '[';
    k += x.name;
    const ExprSpec* spec = find_spec(x.name);
    for (const ExprField& f : x.fields) {
      bool count = false;
      if (spec) {
        for (const Field& c : spec->fields) count |= (f.key == c.key && c.kind == Kind::kCount);
      }
      if (count) continue;
      k += ' ';
      k += f.key;
      k += '=';
      k += f.is_str ? "s" + f.str : std::to_string(f.num);
    }
    k += ']';
  }
  if (r.has_comment) k += "#" + r.comment;
  // Anonymous sets by what they hold: the kernel names them itself.
  for (const ObjSet& a : r.anon) {
    std::vector<std::string> keys;
    for (const ObjElem& e : a.elems) keys.push_back(e.key);
    std::sort(keys.begin(), keys.end());
    k += "{" + std::string(a.key ? a.key->name : "?");
    for (const std::string& e : keys) k += ":" + to_hex(e.data(), e.size());
    k += "}";
  }
  return k;
}

}  // namespace nft
}  // namespace iptkit
