// The `mark` match, revision 1 (xt_mark.h, struct xt_mark_mtinfo1), in the native dialect
// (libxt_mark, revision 1).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_mark.h>

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

size_t mark_size(uint8_t) { return XT_ALIGN(sizeof(xt_mark_mtinfo1)); }

bool mark_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_mark_mtinfo1*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "mark", ctx)) return false;
    if (!dialect::xtopt::mark_mask(o, "mark", ctx, info->mark, info->mask)) return false;
    if (o.invert) info->invert = 1;
  }
  if (!dialect::xtopt::given(seen, 0)) return ctx.fail("mark: option \"--mark\" must be specified", "-m mark", "--mark VALUE[/MASK]");
  return true;
}

xt_mark_mtinfo1 read_info(const void* data, size_t len) {
  xt_mark_mtinfo1 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void mark_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  xt_mark_mtinfo1 m = read_info(data, len);
  out += "-m mark ";
  dialect::bang(out, m.invert);
  out += "--mark ";
  dialect::xtopt::append_mark_mask(out, m.mark, m.mask);
}

void mark_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  xt_mark_mtinfo1 m = read_info(data, len);
  out += "mark match ";
  dialect::bang(out, m.invert);
  dialect::xtopt::append_mark_mask(out, m.mark, m.mask);
}

const dialect::Extension extension{
    "mark", nullptr, "mark", false, 0, 1, 1u << 1, mark_size, mark_size, kOptions,
    mark_parse, nullptr, mark_save, mark_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
