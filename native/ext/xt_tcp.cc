// The `tcp` match (xt_tcpudp.h, struct xt_tcp, revision 0) in the native dialect (libxt_tcp).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <netinet/in.h>
#include <strings.h>

#include <cstdio>
#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/ports.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

enum { kSport, kDport, kSyn, kTcpFlags, kTcpOption };

const OptionSpec tcp_options[] = {
    {"sport", "source-port", true, true, 0},
    {"dport", "destination-port", true, true, 0},
    {"syn", nullptr, false, true, 0},
    // MASK COMP: the rule parser hands both over joined by one space.
    {"tcp-flags", nullptr, true, true, 2},
    {"tcp-option", nullptr, true, true, 0},
    {nullptr},
};

// libxt_tcp's names, in the order print_tcpf prints them; ALL and NONE only on input.
struct TcpFlag {
  const char* name;
  uint8_t bit;
};
const TcpFlag tcp_flags[] = {{"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08}, {"ACK", 0x10}, {"URG", 0x20}};

// parse_tcp_flag: comma-separated names, any case; strtok skips empty ones (`SYN,,ACK`, `,`).
bool parse_tcp_flags(std::string_view text, const ParseCtx& ctx, const std::string& token, uint8_t& out) {
  uint8_t mask = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string name(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (name.empty()) continue;
    if (strcasecmp(name.c_str(), "ALL") == 0) {
      mask |= 0x3f;
      continue;
    }
    if (strcasecmp(name.c_str(), "NONE") == 0) continue;
    bool known = false;
    for (const TcpFlag& f : tcp_flags) {
      if (strcasecmp(name.c_str(), f.name) == 0) {
        mask |= f.bit;
        known = true;
        break;
      }
    }
    if (!known) return ctx.fail("Unknown TCP flag `" + name + "'", token, "FIN, SYN, RST, PSH, ACK, URG, ALL or NONE");
  }
  out = mask;
  return true;
}

// print_tcpf: names joined by ',', NONE for none.
void append_tcp_flags(std::string& out, uint8_t flags) {
  bool any = false;
  for (const TcpFlag& f : tcp_flags) {
    if (!(flags & f.bit)) continue;
    if (any) out += ',';
    out += f.name;
    any = true;
  }
  if (!any) out += "NONE";
}

void append_hex2(std::string& out, uint8_t v) {
  static const char digits[] = "0123456789ABCDEF";
  out += "0x";
  out += digits[v >> 4];
  out += digits[v & 0xf];
}

bool option_value(const ParsedOption& o, const ParseCtx& ctx) {
  return o.has_value || ctx.fail(o.token + " requires an argument", o.token, "a value");
}

bool tcp_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  xt_tcp* m = static_cast<xt_tcp*>(data);
  m->spts[1] = m->dpts[1] = 0xffff;  // tcp_init: any port
  bool seen_sport = false, seen_dport = false, seen_flags = false, seen_option = false;
  for (const ParsedOption& o : options) {
    switch (dialect::option_index(o, tcp_options)) {
      case kSport:
        if (seen_sport) return ctx.fail("Only one `--source-port' allowed", o.token, "the option once");
        seen_sport = true;
        if (!option_value(o, ctx) || !dialect::parse_port_range(o.value, "tcp", ctx, o.token, m->spts)) return false;
        if (o.invert) m->invflags |= XT_TCP_INV_SRCPT;
        break;
      case kDport:
        if (seen_dport) return ctx.fail("Only one `--destination-port' allowed", o.token, "the option once");
        seen_dport = true;
        if (!option_value(o, ctx) || !dialect::parse_port_range(o.value, "tcp", ctx, o.token, m->dpts)) return false;
        if (o.invert) m->invflags |= XT_TCP_INV_DSTPT;
        break;
      case kSyn:
      case kTcpFlags: {
        if (seen_flags) {
          return ctx.fail("Only one of `--syn' or `--tcp-flags' allowed", o.token, "one of --syn or --tcp-flags");
        }
        seen_flags = true;
        if (o.spec == &tcp_options[kSyn]) {
          m->flg_mask = 0x17;  // FIN,SYN,RST,ACK
          m->flg_cmp = 0x02;   // SYN
        } else {
          if (!option_value(o, ctx)) return false;
          size_t space = o.value.find(' ');
          if (space == std::string::npos) {
            return ctx.fail("--tcp-flags requires two args.", o.token, "a mask and the flags that must be set: SYN,ACK SYN");
          }
          std::string_view v = o.value;
          if (!parse_tcp_flags(v.substr(0, space), ctx, o.token, m->flg_mask) ||
              !parse_tcp_flags(v.substr(space + 1), ctx, o.token, m->flg_cmp)) {
            return false;
          }
        }
        if (o.invert) m->invflags |= XT_TCP_INV_FLAGS;
        break;
      }
      case kTcpOption: {
        if (seen_option) return ctx.fail("Only one `--tcp-option' allowed", o.token, "the option once");
        seen_option = true;
        if (!option_value(o, ctx)) return false;
        uint64_t kind = 0;
        // parse_tcp_option: xtables_strtoui(…, 1, UINT8_MAX), so option 0 is refused too.
        if (!dialect::xtables_strtoul(o.value, 1, 0xff, kind)) {
          return ctx.fail("Bad TCP option `" + o.value + "'", o.token, "an option kind 1-255");
        }
        m->option = static_cast<uint8_t>(kind);
        if (o.invert) m->invflags |= XT_TCP_INV_OPTION;
        break;
      }
      default:
        return ctx.fail("tcp: unknown option " + o.token, o.token);
    }
  }
  return dialect::require_protocol(ctx, IPPROTO_TCP, "tcp", "tcp");
}

xt_tcp read_tcp(const void* data, size_t len) {
  xt_tcp m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void tcp_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_tcp m = read_tcp(data, len);
  out += "-m tcp";
  dialect::save_port_range(out, "sport", m.spts, m.invflags & XT_TCP_INV_SRCPT);
  dialect::save_port_range(out, "dport", m.dpts, m.invflags & XT_TCP_INV_DSTPT);
  if (m.option || (m.invflags & XT_TCP_INV_OPTION)) {
    out += (m.invflags & XT_TCP_INV_OPTION) ? " ! --tcp-option " : " --tcp-option ";
    dialect::append_u64(out, m.option);
  }
  if (m.flg_mask || (m.invflags & XT_TCP_INV_FLAGS)) {
    out += (m.invflags & XT_TCP_INV_FLAGS) ? " ! --tcp-flags " : " --tcp-flags ";
    append_tcp_flags(out, m.flg_mask);
    out += ' ';
    append_tcp_flags(out, m.flg_cmp);
  }
}

void tcp_list(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  const xt_tcp m = read_tcp(data, len);
  out += "tcp";
  dialect::list_port_range(out, "spt", m.spts, m.invflags & XT_TCP_INV_SRCPT, "tcp", ctx.numeric);
  dialect::list_port_range(out, "dpt", m.dpts, m.invflags & XT_TCP_INV_DSTPT, "tcp", ctx.numeric);
  if (m.option || (m.invflags & XT_TCP_INV_OPTION)) {
    out += (m.invflags & XT_TCP_INV_OPTION) ? " option=!" : " option=";
    dialect::append_u64(out, m.option);
  }
  if (m.flg_mask || (m.invflags & XT_TCP_INV_FLAGS)) {
    out += (m.invflags & XT_TCP_INV_FLAGS) ? " flags:!" : " flags:";
    if (ctx.numeric) {
      append_hex2(out, m.flg_mask);
      out += '/';
      append_hex2(out, m.flg_cmp);
    } else {
      append_tcp_flags(out, m.flg_mask);
      out += '/';
      append_tcp_flags(out, m.flg_cmp);
    }
  }
  if (m.invflags & ~XT_TCP_INV_MASK) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%X", static_cast<unsigned>(m.invflags & ~XT_TCP_INV_MASK));
    out += " Unknown invflags: 0x";
    out += buf;
  }
}

size_t tcp_size(uint8_t revision) { return revision == 0 ? XT_ALIGN(sizeof(xt_tcp)) : 0; }
size_t tcp_usersize(uint8_t revision) { return revision == 0 ? sizeof(xt_tcp) : 0; }

const dialect::Extension tcp_extension{
    "tcp", nullptr, "tcp", false, 0, 0, 1u << 0, tcp_size, tcp_usersize, tcp_options,
    tcp_parse, nullptr, tcp_save, tcp_list,
};
IPTKIT_REGISTER_EXTENSION(tcp_extension);

}  // namespace
}  // namespace iptkit
