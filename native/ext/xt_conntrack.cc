// The `conntrack` match, revision 3 (xt_conntrack.h, struct xt_conntrack_mtinfo3), in the
// native dialect (libxt_conntrack, revision 3). `-m state` is written by iptables 1.8.9 as
// this same struct with XT_CONNTRACK_STATE_ALIAS set (xt_state.cc).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_conntrack.h>

#include <cstring>
#include <strings.h>

#include "../dialect/conntrack_dump.h"
#include "../dialect/extension.h"
#include "../dialect/address.h"
#include "../dialect/ports.h"
#include "../dialect/protocols.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

using Info = xt_conntrack_mtinfo3;

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

// conntrack3_mt_opts, in its order.
enum {
  O_CTSTATE,
  O_CTPROTO,
  O_CTORIGSRC,
  O_CTORIGDST,
  O_CTREPLSRC,
  O_CTREPLDST,
  O_CTSTATUS,
  O_CTEXPIRE,
  O_CTORIGSRCPORT,
  O_CTORIGDSTPORT,
  O_CTREPLSRCPORT,
  O_CTREPLDSTPORT,
  O_CTDIR,
};
const OptionSpec kOptions[] = {
    {"ctstate", nullptr, true, true, 1},       {"ctproto", nullptr, true, true, 1},
    {"ctorigsrc", nullptr, true, true, 1},     {"ctorigdst", nullptr, true, true, 1},
    {"ctreplsrc", nullptr, true, true, 1},     {"ctrepldst", nullptr, true, true, 1},
    {"ctstatus", nullptr, true, true, 1},      {"ctexpire", nullptr, true, true, 1},
    {"ctorigsrcport", nullptr, true, true, 1}, {"ctorigdstport", nullptr, true, true, 1},
    {"ctreplsrcport", nullptr, true, true, 1}, {"ctrepldstport", nullptr, true, true, 1},
    {"ctdir", nullptr, true, false, 1},        {nullptr, nullptr, false, false, 0},
};

size_t conntrack_size(uint8_t) { return XT_ALIGN(sizeof(Info)); }

// conntrack_ps_state: the first name whose first `z` characters match, case-insensitively.
bool ps_state(Info& info, const char* state, size_t z) {
  static const struct {
    const char* name;
    uint16_t bit;
  } names[] = {{"INVALID", XT_CONNTRACK_STATE_INVALID},
               {"NEW", XT_CONNTRACK_STATE_BIT(IP_CT_NEW)},
               {"ESTABLISHED", XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED)},
               {"RELATED", XT_CONNTRACK_STATE_BIT(IP_CT_RELATED)},
               {"UNTRACKED", XT_CONNTRACK_STATE_UNTRACKED},
               {"SNAT", XT_CONNTRACK_STATE_SNAT},
               {"DNAT", XT_CONNTRACK_STATE_DNAT}};
  for (const auto& n : names) {
    if (strncasecmp(state, n.name, z) == 0) {
      info.state_mask |= n.bit;
      return true;
    }
  }
  return false;
}

bool ps_status(Info& info, const char* status, size_t z) {
  static const struct {
    const char* name;
    uint16_t bit;
  } names[] = {{"NONE", 0}, {"EXPECTED", IPS_EXPECTED}, {"SEEN_REPLY", IPS_SEEN_REPLY}, {"ASSURED", IPS_ASSURED},
               {"CONFIRMED", IPS_CONFIRMED}};
  for (const auto& n : names) {
    if (strncasecmp(status, n.name, z) == 0) {
      info.status_mask |= n.bit;
      return true;
    }
  }
  return false;
}

// conntrack_ps_states / conntrack_ps_statuses: comma-separated names; the message quotes the
// list from the bad name on.
bool ps_list(Info& info, const ParsedOption& o, const ParseCtx& ctx, bool (*one)(Info&, const char*, size_t),
             const char* what, const char* expected) {
  const char* arg = o.value.c_str();
  const char* comma;
  while ((comma = std::strchr(arg, ',')) != nullptr) {
    if (comma == arg || !one(info, arg, static_cast<size_t>(comma - arg))) {
      return ctx.fail(std::string("Bad ") + what + " \"" + arg + "\"", o.token, expected);
    }
    arg = comma + 1;
  }
  if (std::strlen(arg) == 0 || !one(info, arg, std::strlen(arg))) {
    return ctx.fail(std::string("Bad ") + what + " \"" + arg + "\"", o.token, expected);
  }
  return true;
}

// xtables_parse_protocol, into the uint8_t that xt_option_call keeps it in.
bool parse_protocol(const ParsedOption& o, const ParseCtx& ctx, uint8_t& proto) {
  uint64_t n = 0;
  if (dialect::strtoui(std::string_view(o.value.c_str()), 255, n)) {
    proto = static_cast<uint8_t>(n);
    return true;
  }
  if (o.value == "all") {
    proto = 0;
    return true;
  }
  // getprotobyname reads a C string; the table compares the whole value.
  int p = dialect::getprotobyname_number(std::string_view(o.value.c_str()));
  if (p < 0) p = dialect::chain_proto_number(o.value);
  if (p >= 0) {
    proto = static_cast<uint8_t>(p);
    return true;
  }
  return ctx.fail("unknown protocol \"" + o.value + "\" specified", o.token, "a protocol name or number 0-255");
}

// XTTYPE_HOSTMASK: ADDR or ADDR/PREFIX (or ADDR/MASK). The address keeps its host bits; without
// a prefix the mask is all ones over the whole 16-byte union (xtopt_parse_host). iptkit does
// no DNS, so ADDR must be numeric.
bool parse_hostmask(const ParsedOption& o, const ParseCtx& ctx, nf_inet_addr& addr, nf_inet_addr& mask) {
  bool v6 = ctx.family == Family::ipv6;
  size_t slash = o.value.find('/');
  std::string host = o.value.substr(0, slash);
  std::memset(&addr, 0, sizeof addr);
  if (!dialect::numeric_host(host, ctx.family, &addr)) {
    return ctx.fail("host/network `" + host + "' is not a numeric " + (v6 ? "IPv6" : "IPv4") +
                        " address (iptkit does no DNS)",
                    o.token, v6 ? "ADDR[/PREFIX] like fd00::/64" : "ADDR[/PREFIX] like 10.0.0.0/8");
  }
  std::memset(&mask, 0xff, sizeof mask);
  if (slash == std::string::npos) return true;
  // xtopt_parse_plen: a prefix length, else a mask in address form (its length; one that is
  // not contiguous leaves hlen at (uint8_t)-1, so the mask stays all ones).
  std::string plen = o.value.substr(slash + 1);
  unsigned int max = v6 ? 128 : 32;
  uint64_t n = 0;
  unsigned int hlen;
  if (dialect::strtoui(std::string_view(plen.c_str()), max, n)) {
    hlen = static_cast<unsigned int>(n);
  } else {
    nf_inet_addr m{};
    if (!dialect::numeric_host(plen, ctx.family, &m)) {  // xtopt_parse_mask: getaddrinfo too
      return ctx.fail("conntrack: bad value for option \"--" + std::string(o.spec->name) +
                          "\", neither a valid network mask nor valid CIDR (0-" + std::to_string(max) + ").",
                      o.token, "a prefix length 0-" + std::to_string(max));
    }
    hlen = static_cast<uint8_t>(dialect::mask_to_prefix(ctx.family, &m));
  }
  // xtopt_parse_plenmask: this shifting is family-independent.
  uint32_t w[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  if (hlen == 0) {
    w[0] = w[1] = w[2] = w[3] = 0;
  } else if (hlen <= 32) {
    w[0] <<= 32 - hlen;
    w[1] = w[2] = w[3] = 0;
  } else if (hlen <= 64) {
    w[1] <<= 32 - (hlen - 32);
    w[2] = w[3] = 0;
  } else if (hlen <= 96) {
    w[2] <<= 32 - (hlen - 64);
    w[3] = 0;
  } else if (hlen <= 128) {
    w[3] <<= 32 - (hlen - 96);
  }
  unsigned char* b = reinterpret_cast<unsigned char*>(&mask);  // network byte order
  for (int i = 0; i < 4; i++) {
    for (int k = 0; k < 4; k++) b[i * 4 + k] = static_cast<unsigned char>(w[i] >> (24 - 8 * k));
  }
  return true;
}

// XTTYPE_PORTRC (xtopt_parse_mport): PORT, LO:HI, LO: or :HI, each a number or a service name.
bool parse_port_range(const ParsedOption& o, const ParseCtx& ctx, uint16_t& lo, uint16_t& hi) {
  uint16_t range[2] = {0, UINT16_MAX};
  unsigned int nvals = 0;
  size_t pos = 0;
  const std::string& text = o.value;
  for (;;) {
    size_t colon = text.find(':', pos);
    std::string part = text.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    if (nvals == 2) {
      return ctx.fail("conntrack: Too many components for option \"--" + std::string(o.spec->name) + "\" (max: 2)",
                      o.token, "PORT or LO:HI");
    }
    if (!part.empty()) {
      uint16_t port = 0;
      if (!dialect::xtables_getportbyname(std::string_view(part.c_str()), port)) {
        return ctx.fail("Port \"" + part + "\" does not resolve to anything.", o.token, "a port number or service name");
      }
      range[nvals] = port;
    }
    ++nvals;
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  if (nvals == 1) range[1] = range[0];
  lo = range[0];
  hi = range[1];
  return true;
}

// XTTYPE_UINT32RC (xtopt_parse_mint): N or LO:HI; an empty end is 0 (first) or the maximum.
bool parse_u32_range(const ParsedOption& o, const ParseCtx& ctx, uint32_t& lo, uint32_t& hi) {
  uint32_t range[2] = {0, 0};
  unsigned int nvals = 0;
  const std::string name = o.spec->name;
  const std::string_view text(o.value.c_str());  // a C string, as argv: a NUL ends it
  size_t arg = 0, end = 0;
  for (;; arg = end + 1) {
    if (nvals == 2) {
      return ctx.fail("conntrack: Too many components for option \"--" + name + "\" (max: 2)", o.token, "N or N:M");
    }
    uint64_t value;
    if (arg == text.size() || text[arg] == ':') {
      end = arg;
      value = nvals == 1 ? UINT32_MAX : 0;
    } else {
      size_t used = 0;
      if (!dialect::xtables_strtoul(text.substr(arg), 0, UINT32_MAX, value, &used)) {
        return ctx.fail("conntrack: bad value for option \"--" + name + "\" near \"" + std::string(text.substr(arg)) +
                            "\", or out of range (0-4294967295).",
                        o.token, "N or N:M, 0-4294967295");
      }
      end = arg + used;
      if (end != text.size() && text[end] != ':') {
        return ctx.fail("conntrack: Argument to \"--" + name + "\" has unexpected characters near \"" +
                            std::string(text.substr(end)) + "\".",
                        o.token, "N or N:M");
      }
    }
    range[nvals++] = static_cast<uint32_t>(value);
    if (end == text.size()) break;
  }
  lo = range[0];
  hi = nvals >= 2 ? range[1] : range[0];
  return true;
}

bool conntrack_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<Info*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "conntrack", ctx)) return false;
    size_t id = dialect::option_index(o, kOptions);
    uint16_t flag = 0;
    switch (id) {
      case O_CTSTATE:
        if (!ps_list(*info, o, ctx, ps_state, "ctstate", "INVALID,NEW,ESTABLISHED,RELATED,UNTRACKED,SNAT,DNAT"))
          return false;
        flag = XT_CONNTRACK_STATE;
        break;
      case O_CTPROTO: {
        uint8_t proto = 0;
        if (!parse_protocol(o, ctx, proto)) return false;
        info->l4proto = proto;
        // As libxt_conntrack tests it: XT_INV_PROTO is the STATUS bit of invert_flags.
        if (info->l4proto == 0 && (info->invert_flags & XT_INV_PROTO)) {
          return ctx.fail("conntrack: rule would never match protocol", o.token, "a protocol other than all");
        }
        flag = XT_CONNTRACK_PROTO;
        break;
      }
      case O_CTORIGSRC:
        if (!parse_hostmask(o, ctx, info->origsrc_addr, info->origsrc_mask)) return false;
        flag = XT_CONNTRACK_ORIGSRC;
        break;
      case O_CTORIGDST:
        if (!parse_hostmask(o, ctx, info->origdst_addr, info->origdst_mask)) return false;
        flag = XT_CONNTRACK_ORIGDST;
        break;
      case O_CTREPLSRC:
        if (!parse_hostmask(o, ctx, info->replsrc_addr, info->replsrc_mask)) return false;
        flag = XT_CONNTRACK_REPLSRC;
        break;
      case O_CTREPLDST:
        if (!parse_hostmask(o, ctx, info->repldst_addr, info->repldst_mask)) return false;
        flag = XT_CONNTRACK_REPLDST;
        break;
      case O_CTSTATUS:
        if (!ps_list(*info, o, ctx, ps_status, "ctstatus", "NONE,EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED")) return false;
        flag = XT_CONNTRACK_STATUS;
        break;
      case O_CTEXPIRE:
        if (!parse_u32_range(o, ctx, info->expires_min, info->expires_max)) return false;
        flag = XT_CONNTRACK_EXPIRES;
        break;
      case O_CTORIGSRCPORT:
        if (!parse_port_range(o, ctx, info->origsrc_port, info->origsrc_port_high)) return false;
        flag = XT_CONNTRACK_ORIGSRC_PORT;
        break;
      case O_CTORIGDSTPORT:
        if (!parse_port_range(o, ctx, info->origdst_port, info->origdst_port_high)) return false;
        flag = XT_CONNTRACK_ORIGDST_PORT;
        break;
      case O_CTREPLSRCPORT:
        if (!parse_port_range(o, ctx, info->replsrc_port, info->replsrc_port_high)) return false;
        flag = XT_CONNTRACK_REPLSRC_PORT;
        break;
      case O_CTREPLDSTPORT:
        if (!parse_port_range(o, ctx, info->repldst_port, info->repldst_port_high)) return false;
        flag = XT_CONNTRACK_REPLDST_PORT;
        break;
      case O_CTDIR:
        // No data: the flag alone is ORIGINAL, flag and invert REPLY.
        if (strcasecmp(o.value.c_str(), "ORIGINAL") == 0) {
          info->invert_flags &= static_cast<uint16_t>(~XT_CONNTRACK_DIRECTION);
        } else if (strcasecmp(o.value.c_str(), "REPLY") == 0) {
          info->invert_flags |= XT_CONNTRACK_DIRECTION;
        } else {
          return ctx.fail("conntrack: Bad value for \"--ctdir\" option: \"" + o.value + "\"", o.token,
                          "ORIGINAL or REPLY");
        }
        info->match_flags |= XT_CONNTRACK_DIRECTION;
        continue;
    }
    info->match_flags |= flag;
    if (o.invert) info->invert_flags |= flag;
  }
  if (seen == 0) return ctx.fail("conntrack: At least one option is required", "-m conntrack", "a --ct… option");
  return true;
}

Info read_info(const void* data, size_t len) {
  Info m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

bool conntrack_accepts(const void* data, size_t len, uint8_t) {
  return !(read_info(data, len).match_flags & XT_CONNTRACK_STATE_ALIAS);
}

void conntrack_save(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  Info m = read_info(data, len);
  // conntrack_print_name_alias: the alias flag names the module.
  out += m.match_flags & XT_CONNTRACK_STATE_ALIAS ? "-m state" : "-m conntrack";
  dialect::conntrack_dump(m, "--", ctx.family, true, out);
}

void conntrack_list(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  std::string s;
  dialect::conntrack_dump(read_info(data, len), "", ctx.family, ctx.numeric, s);
  out.append(s, s.empty() ? 0 : 1, std::string::npos);  // without the leading space
}

const dialect::Extension extension{
    "conntrack", nullptr, "conntrack", false, 0, 3, 1u << 3, conntrack_size, conntrack_size, kOptions,
    conntrack_parse, conntrack_accepts, conntrack_save, conntrack_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
