// The `iprange` match, revision 1 (xt_iprange.h, struct xt_iprange_mtinfo), in the native
// dialect (libxt_iprange, revision 1).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_iprange.h>

#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/address.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

enum { O_SRC_RANGE, O_DST_RANGE };
const OptionSpec kOptions[] = {
    {"src-range", nullptr, true, true, 1},
    {"dst-range", nullptr, true, true, 1},
    {nullptr, nullptr, false, false, 0},
};

size_t iprange_size(uint8_t) { return XT_ALIGN(sizeof(xt_iprange_mtinfo)); }

// iprange_parse_range: FROM[-TO] split at the first '-' (IPv6 text has none); each end is
// xtables_numeric_to_ipaddr (dotted, may stop early) or inet_pton for IPv6. A reversed range
// only draws a warning from iptables and is kept.
bool parse_range(const ParsedOption& o, const char* optname, const ParseCtx& ctx, nf_inet_addr* range) {
  size_t dash = o.value.find('-');
  std::string_view text(o.value);
  std::string_view spec[2] = {text.substr(0, dash), dash == std::string::npos ? text : text.substr(dash + 1)};
  for (int i = 0; i < 2; i++) {
    bool ok = ctx.family == Family::ipv6 ? dialect::numeric_to_ip6addr(spec[i], &range[i])
                                         : dialect::numeric_to_ipaddr(spec[i], &range[i]);
    if (!ok) {
      return ctx.fail(std::string("iprange: Bad value for \"") + optname + "\" option: \"" + std::string(spec[i]) + "\"",
                      o.token, ctx.family == Family::ipv6 ? "FROM[-TO] IPv6 addresses" : "FROM[-TO] IPv4 addresses");
    }
  }
  return true;
}

bool iprange_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_iprange_mtinfo*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "iprange", ctx)) return false;
    if (dialect::option_index(o, kOptions) == O_SRC_RANGE) {
      if (!parse_range(o, "--src-range", ctx, &info->src_min)) return false;
      info->flags |= IPRANGE_SRC;
      if (o.invert) info->flags |= IPRANGE_SRC_INV;
    } else {
      if (!parse_range(o, "--dst-range", ctx, &info->dst_min)) return false;
      info->flags |= IPRANGE_DST;
      if (o.invert) info->flags |= IPRANGE_DST_INV;
    }
  }
  if (seen == 0) {
    return ctx.fail("iprange match: You must specify `--src-range' or `--dst-range'", "-m iprange",
                    "--src-range or --dst-range");
  }
  return true;
}

xt_iprange_mtinfo read_info(const void* data, size_t len) {
  xt_iprange_mtinfo m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

// iprange_mt{4,6}_save / _print: the same words in two orders; the listing is always numeric.
void print(const xt_iprange_mtinfo& m, Family family, bool save, std::string& out) {
  struct Side {
    uint8_t flag, inv;
    const char* save;
    const char* list;
    const nf_inet_addr& min;
    const nf_inet_addr& max;
  } sides[] = {{IPRANGE_SRC, IPRANGE_SRC_INV, "--src-range ", "source IP range ", m.src_min, m.src_max},
               {IPRANGE_DST, IPRANGE_DST_INV, "--dst-range ", "destination IP range ", m.dst_min, m.dst_max}};
  const char* sep = save ? " " : "";
  for (const Side& s : sides) {
    if (!(m.flags & s.flag)) continue;
    out += sep;
    sep = " ";
    if (save) {
      dialect::bang(out, m.flags & s.inv);
      out += s.save;
    } else {
      out += s.list;
      dialect::bang(out, m.flags & s.inv);
    }
    dialect::format_address(family, &s.min, out);
    out += '-';
    dialect::format_address(family, &s.max, out);
  }
}

void iprange_save(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  out += "-m iprange";
  print(read_info(data, len), ctx.family, true, out);
}

void iprange_list(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  print(read_info(data, len), ctx.family, false, out);
}

const dialect::Extension extension{
    "iprange", nullptr, "iprange", false, 0, 1, 1u << 1, iprange_size, iprange_size, kOptions,
    iprange_parse, nullptr, iprange_save, iprange_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
