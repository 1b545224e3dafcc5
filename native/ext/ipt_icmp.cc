// The IPv4 `icmp` match (netfilter_ipv4/ip_tables.h, struct ipt_icmp, revision 0).
//
// Fields, every one always present, in this order:
//   type=N           ICMP type (255 with code 0:255 is iptables' "any")
//   code=LO:HI       ICMP code range (0:255 when no code was given)
//   invflags=N       IPT_ICMP_INV=1
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#include <cstdio>
#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/ports.h"
#include "codec.h"
#include "match_fields.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  ipt_icmp m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  out.u64("type", m.type);
  put_range(out, "code", m.code[0], m.code[1]);
  out.u64("invflags", m.invflags);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t type = 0, lo = 0, hi = 0xff, inv = 0;
  if (!get_u64(in, "type", 0xff, type, err) || !get_range(in, "code", 0xff, lo, hi, err) ||
      !get_u64(in, "invflags", IPT_ICMP_INV, inv, err)) {
    return false;
  }
  ipt_icmp m{};
  m.type = static_cast<uint8_t>(type);
  m.code[0] = static_cast<uint8_t>(lo);
  m.code[1] = static_cast<uint8_t>(hi);
  m.invflags = static_cast<uint8_t>(inv);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"icmp", 0, false, NFPROTO_IPV4, XT_ALIGN(sizeof(ipt_icmp)), sizeof(ipt_icmp), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace

// --- the iptables dialect: libipt_icmp ---------------------------------------------------------

namespace {

using dialect::IcmpName;
using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

// libxtables' icmp_codes, in its order: the first entry that fits a type and code range is
// the name -L prints; later duplicates (pong, ping, ttl-exceeded) are input aliases.
const IcmpName icmp_names[] = {
    {"any", 0xff, 0, 0xff},
    {"echo-reply", 0, 0, 0xff},
    {"pong", 0, 0, 0xff},
    {"destination-unreachable", 3, 0, 0xff},
    {"network-unreachable", 3, 0, 0},
    {"host-unreachable", 3, 1, 1},
    {"protocol-unreachable", 3, 2, 2},
    {"port-unreachable", 3, 3, 3},
    {"fragmentation-needed", 3, 4, 4},
    {"source-route-failed", 3, 5, 5},
    {"network-unknown", 3, 6, 6},
    {"host-unknown", 3, 7, 7},
    {"network-prohibited", 3, 9, 9},
    {"host-prohibited", 3, 10, 10},
    {"TOS-network-unreachable", 3, 11, 11},
    {"TOS-host-unreachable", 3, 12, 12},
    {"communication-prohibited", 3, 13, 13},
    {"host-precedence-violation", 3, 14, 14},
    {"precedence-cutoff", 3, 15, 15},
    {"source-quench", 4, 0, 0xff},
    {"redirect", 5, 0, 0xff},
    {"network-redirect", 5, 0, 0},
    {"host-redirect", 5, 1, 1},
    {"TOS-network-redirect", 5, 2, 2},
    {"TOS-host-redirect", 5, 3, 3},
    {"echo-request", 8, 0, 0xff},
    {"ping", 8, 0, 0xff},
    {"router-advertisement", 9, 0, 0xff},
    {"router-solicitation", 10, 0, 0xff},
    {"time-exceeded", 11, 0, 0xff},
    {"ttl-exceeded", 11, 0, 0xff},
    {"ttl-zero-during-transit", 11, 0, 0},
    {"ttl-zero-during-reassembly", 11, 1, 1},
    {"parameter-problem", 12, 0, 0xff},
    {"ip-header-bad", 12, 0, 0},
    {"required-option-missing", 12, 1, 1},
    {"timestamp-request", 13, 0, 0xff},
    {"timestamp-reply", 14, 0, 0xff},
    {"address-mask-request", 17, 0, 0xff},
    {"address-mask-reply", 18, 0, 0xff},
};

const OptionSpec icmp_options[] = {
    {"icmp-type", nullptr, true, true, 0},
    {nullptr},
};

bool icmp_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  ipt_icmp* m = static_cast<ipt_icmp*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::once(o, icmp_options, seen, "icmp", ctx)) return false;
    if (!o.has_value) return ctx.fail(o.token + " requires an argument", o.token, "a value");
    if (!dialect::parse_icmp_type(o.value, icmp_names, sizeof icmp_names / sizeof icmp_names[0], "ICMP", ctx,
                                  o.token, m->type, m->code)) {
      return false;
    }
    if (o.invert) m->invflags |= IPT_ICMP_INV;
  }
  // XTOPT_MAND: the type is not optional.
  if (!seen) return ctx.fail("icmp: option \"--icmp-type\" must be specified", "-m icmp", "--icmp-type TYPE");
  return dialect::require_protocol(ctx, IPPROTO_ICMP, "icmp", "icmp");
}

ipt_icmp read_icmp(const void* data, size_t len) {
  ipt_icmp m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void icmp_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const ipt_icmp m = read_icmp(data, len);
  out += "-m icmp";
  out += (m.invflags & IPT_ICMP_INV) ? " ! --icmp-type " : " --icmp-type ";
  // iptables' special case: type 255 saves as `any`, whatever the codes.
  if (m.type == 0xff) {
    out += "any";
    return;
  }
  dialect::append_u64(out, m.type);
  if (m.code[0] != 0 || m.code[1] != 0xff) {
    out += '/';
    dialect::append_u64(out, m.code[0]);
  }
}

void icmp_list(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  const ipt_icmp m = read_icmp(data, len);
  dialect::list_icmp_type(out, "icmp", icmp_names, sizeof icmp_names / sizeof icmp_names[0], m.type, m.code,
                          m.invflags & IPT_ICMP_INV, ctx.numeric);
  if (m.invflags & ~IPT_ICMP_INV) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%X", static_cast<unsigned>(m.invflags & ~IPT_ICMP_INV));
    out += " Unknown invflags: 0x";
    out += buf;
  }
}

size_t icmp_size(uint8_t revision) { return revision == 0 ? XT_ALIGN(sizeof(ipt_icmp)) : 0; }
size_t icmp_usersize(uint8_t revision) { return revision == 0 ? sizeof(ipt_icmp) : 0; }

const dialect::Extension icmp_extension{
    "icmp", nullptr, "icmp", false, NFPROTO_IPV4, 0, 1u << 0, icmp_size, icmp_usersize, icmp_options,
    icmp_parse, nullptr, icmp_save, icmp_list,
};
IPTKIT_REGISTER_EXTENSION(icmp_extension);

}  // namespace
}  // namespace iptkit
