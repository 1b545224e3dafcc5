// The `connmark` match (xt_connmark.h, struct xt_connmark_mtinfo1, revision 1) in the native
// dialect (libxt_connmark, revision 1): `[!] --mark VALUE[/MASK]` against the connection's
// mark, as wg-quick and multi-uplink routing use it. iptables-nft writes the same compat match.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_connmark.h>

#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

const OptionSpec kOptions[] = {
    {"mark", nullptr, true, true, 1},
    {nullptr, nullptr, false, false, 0},
};

size_t connmark_size(uint8_t) { return XT_ALIGN(sizeof(xt_connmark_mtinfo1)); }

bool connmark_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_connmark_mtinfo1*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "connmark", ctx)) return false;
    if (!dialect::xtopt::mark_mask(o, "connmark", ctx, info->mark, info->mask)) return false;
    if (o.invert) info->invert = 1;
  }
  if (!dialect::xtopt::given(seen, 0)) {
    return ctx.fail("connmark: option \"--mark\" must be specified", "-m connmark", "--mark VALUE[/MASK]");
  }
  return true;
}

xt_connmark_mtinfo1 read_info(const void* data, size_t len) {
  xt_connmark_mtinfo1 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void connmark_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_connmark_mtinfo1 m = read_info(data, len);
  out += "-m connmark ";
  dialect::bang(out, m.invert);
  out += "--mark ";
  dialect::xtopt::append_mark_mask(out, m.mark, m.mask);
}

// connmark_mt_print: " connmark match ", then "!" when inverted, then " VALUE[/MASK]" (so two
// spaces before a mark that is not inverted).
void connmark_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_connmark_mtinfo1 m = read_info(data, len);
  out += m.invert ? "connmark match ! " : "connmark match  ";
  dialect::xtopt::append_mark_mask(out, m.mark, m.mask);
}

const dialect::Extension extension{
    "connmark", nullptr, "connmark", false, 0, 1, 1u << 1, connmark_size, connmark_size, kOptions,
    connmark_parse, nullptr, connmark_save, connmark_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
