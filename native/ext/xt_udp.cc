// The `udp` match (xt_tcpudp.h, struct xt_udp, revision 0) in the native dialect (libxt_udp).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_tcpudp.h>

#include <netinet/in.h>

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

enum { kSport, kDport };

const OptionSpec udp_options[] = {
    {"sport", "source-port", true, true, 0},
    {"dport", "destination-port", true, true, 0},
    {nullptr},
};

bool udp_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  xt_udp* m = static_cast<xt_udp*>(data);
  m->spts[1] = m->dpts[1] = 0xffff;  // udp_init: any port
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::once(o, udp_options, seen, "udp", ctx)) return false;
    if (!o.has_value) return ctx.fail(o.token + " requires an argument", o.token, "a value");
    // XTTYPE_PORTRC (not xtables_parse_port as tcp): its messages name the option's first
    // spelling.
    switch (dialect::option_index(o, udp_options)) {
      case kSport:
        if (!dialect::parse_port_range_any(o.value, "udp", "source-port", ctx, o.token, m->spts)) return false;
        if (o.invert) m->invflags |= XT_UDP_INV_SRCPT;
        break;
      case kDport:
        if (!dialect::parse_port_range_any(o.value, "udp", "destination-port", ctx, o.token, m->dpts)) return false;
        if (o.invert) m->invflags |= XT_UDP_INV_DSTPT;
        break;
      default:
        return ctx.fail("udp: unknown option " + o.token, o.token);
    }
  }
  return dialect::require_protocol(ctx, IPPROTO_UDP, "udp", "udp");
}

xt_udp read_udp(const void* data, size_t len) {
  xt_udp m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void udp_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_udp m = read_udp(data, len);
  out += "-m udp";
  dialect::save_port_range(out, "sport", m.spts, m.invflags & XT_UDP_INV_SRCPT);
  dialect::save_port_range(out, "dport", m.dpts, m.invflags & XT_UDP_INV_DSTPT);
}

void udp_list(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  const xt_udp m = read_udp(data, len);
  out += "udp";
  dialect::list_port_range(out, "spt", m.spts, m.invflags & XT_UDP_INV_SRCPT, "udp", ctx.numeric);
  dialect::list_port_range(out, "dpt", m.dpts, m.invflags & XT_UDP_INV_DSTPT, "udp", ctx.numeric);
  if (m.invflags & ~XT_UDP_INV_MASK) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%X", static_cast<unsigned>(m.invflags & ~XT_UDP_INV_MASK));
    out += " Unknown invflags: 0x";
    out += buf;
  }
}

size_t udp_size(uint8_t revision) { return revision == 0 ? XT_ALIGN(sizeof(xt_udp)) : 0; }
size_t udp_usersize(uint8_t revision) { return revision == 0 ? sizeof(xt_udp) : 0; }

const dialect::Extension udp_extension{
    "udp", nullptr, "udp", false, 0, 0, 1u << 0, udp_size, udp_usersize, udp_options,
    udp_parse, nullptr, udp_save, udp_list,
};
IPTKIT_REGISTER_EXTENSION(udp_extension);

}  // namespace
}  // namespace iptkit
