// The IPv4 REJECT target (ipt_REJECT.h, struct ipt_reject_info, revision 0). The IPv6 twin
// with the same kernel name but other reply types is ip6t_REJECT.cc.
//
// Fields:
//   with=N     enum ipt_reject_with (IPT_ICMP_NET_UNREACHABLE=0 … IPT_ICMP_PORT_UNREACHABLE=3
//              … IPT_TCP_RESET=7, IPT_ICMP_ADMIN_PROHIBITED=8)
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>

#include <netinet/in.h>
#include <strings.h>

#include <cstring>
#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"
#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  ipt_reject_info r{};
  std::memcpy(&r, data, len < sizeof r ? len : sizeof r);
  out.u64("with", static_cast<uint32_t>(r.with));
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  // Default as iptables: a bare -j REJECT replies port-unreachable.
  uint64_t with = IPT_ICMP_PORT_UNREACHABLE;
  if (!get_u64(in, "with", 0xffffffffu, with, err)) return false;
  ipt_reject_info r{};
  r.with = static_cast<ipt_reject_with>(with);
  std::memcpy(data, &r, sizeof r);
  return true;
}

const Codec codec{"REJECT",
                  0,
                  true,
                  static_cast<int>(Family::ipv4),
                  XT_ALIGN(sizeof(ipt_reject_info)),
                  XT_ALIGN(sizeof(ipt_reject_info)),
                  decode,
                  encode};
IPTKIT_REGISTER_CODEC(codec);

// --- the dialect ---------------------------------------------------------------------------
// `-j REJECT [--reject-with TYPE]`: TYPE is a case-insensitive prefix of a name or alias, the
// first in iptables' table order winning (libipt_REJECT; echo-reply is not offered).

struct RejectType {
  const char* name;
  const char* alias;
  uint32_t with;
};

constexpr RejectType kTypes[] = {
    {"icmp-net-unreachable", "net-unreach", IPT_ICMP_NET_UNREACHABLE},
    {"icmp-host-unreachable", "host-unreach", IPT_ICMP_HOST_UNREACHABLE},
    {"icmp-proto-unreachable", "proto-unreach", IPT_ICMP_PROT_UNREACHABLE},
    {"icmp-port-unreachable", "port-unreach", IPT_ICMP_PORT_UNREACHABLE},
    {"icmp-net-prohibited", "net-prohib", IPT_ICMP_NET_PROHIBITED},
    {"icmp-host-prohibited", "host-prohib", IPT_ICMP_HOST_PROHIBITED},
    {"tcp-reset", "tcp-rst", IPT_TCP_RESET},
    {"icmp-admin-prohibited", "admin-prohib", IPT_ICMP_ADMIN_PROHIBITED},
};

constexpr dialect::OptionSpec kOptions[] = {
    {"reject-with", nullptr, true, false, 1},
    {nullptr, nullptr, false, false, 0},
};

// strncasecmp(table, arg, strlen(arg)) == 0: arg is a prefix of the table word.
bool prefix_of(const std::string& arg, const char* word) {
  return strncasecmp(word, arg.c_str(), strlen(arg.c_str())) == 0;
}

bool parse(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
  ipt_reject_info r{};
  r.with = IPT_ICMP_PORT_UNREACHABLE;  // REJECT_init: a bare -j REJECT
  uint64_t seen = 0;
  const dialect::ParsedOption* given = nullptr;
  for (const dialect::ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "REJECT", ctx)) return false;
    const RejectType* hit = nullptr;
    for (const RejectType& t : kTypes) {
      if (prefix_of(o.value, t.name) || prefix_of(o.value, t.alias)) {
        hit = &t;
        break;
      }
    }
    if (!hit) {
      std::string names;
      for (const RejectType& t : kTypes) names += (names.empty() ? "" : "|") + std::string(t.name);
      return ctx.fail("REJECT: unknown reject type \"" + o.value + "\"", o.token, names);
    }
    r.with = static_cast<decltype(r.with)>(hit->with);
    given = &o;
  }
  // The kernel refuses a TCP reset for anything but -p tcp (EINVAL at commit); say why now.
  if (r.with == IPT_TCP_RESET && (ctx.protocol != IPPROTO_TCP || ctx.protocol_invert)) {
    return ctx.fail("REJECT: --reject-with tcp-reset needs -p tcp", given ? given->token : std::string(), "-p tcp");
  }
  std::memcpy(data, &r, sizeof r);
  return true;
}

size_t size(uint8_t) { return XT_ALIGN(sizeof(ipt_reject_info)); }

// The type's name; a value iptables has no name for prints as its number.
void type_name(const void* data, size_t len, std::string& out) {
  ipt_reject_info r{};
  std::memcpy(&r, data, len < sizeof r ? len : sizeof r);
  for (const RejectType& t : kTypes) {
    if (t.with == static_cast<uint32_t>(r.with)) {
      out += t.name;
      return;
    }
  }
  dialect::append_u64(out, static_cast<uint32_t>(r.with));
}

void save(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
  out += "-j REJECT --reject-with ";
  type_name(data, len, out);
}

void list(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
  out += "reject-with ";
  type_name(data, len, out);
}

const dialect::Extension extension{"REJECT", nullptr, "REJECT", true, static_cast<int>(Family::ipv4), 0, 0b1,
                                   size, size, kOptions, parse, nullptr, save, list};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
