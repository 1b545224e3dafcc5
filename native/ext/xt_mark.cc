// The `mark` match, revision 1 (xt_mark.h, struct xt_mark_mtinfo1), in the native dialect
// (libxt_mark, revision 1).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_mark.h>

#include <cstdio>
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

// XTTYPE_MARKMASK32 (xtables_parse_val_mask without names): VALUE[/MASK], each strtoul base 0.
bool parse_mark_mask(const ParsedOption& o, const ParseCtx& ctx, uint32_t& mark, uint32_t& mask) {
  const std::string_view arg(o.value.c_str());  // a C string, as argv: a NUL ends it
  size_t end = 0;
  uint64_t v = 0, m = 0xffffffff;
  const std::string bad = "mark: bad integer value for option \"--mark\", or out of range.";
  const std::string garbage = "mark: trailing garbage after value for option \"--mark\".";
  if (!dialect::xtables_strtoul(arg, 0, 0xffffffff, v, &end)) return ctx.fail(bad, o.token, "VALUE[/MASK], each 0-0xffffffff");
  if (end != arg.size()) {
    if (arg[end] != '/') return ctx.fail(garbage, o.token, "VALUE[/MASK]");
    const std::string_view mask = arg.substr(end + 1);
    if (!dialect::xtables_strtoul(mask, 0, 0xffffffff, m, &end)) return ctx.fail(bad, o.token, "VALUE[/MASK], each 0-0xffffffff");
    if (end != mask.size()) return ctx.fail(garbage, o.token, "VALUE[/MASK]");
  }
  mark = static_cast<uint32_t>(v);
  mask = static_cast<uint32_t>(m);
  return true;
}

bool mark_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_mark_mtinfo1*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "mark", ctx)) return false;
    if (!parse_mark_mask(o, ctx, info->mark, info->mask)) return false;
    if (o.invert) info->invert = 1;
  }
  if (!dialect::xtopt::given(seen, 0)) return ctx.fail("mark: option \"--mark\" must be specified", "-m mark", "--mark VALUE[/MASK]");
  return true;
}

// xtables_print_mark_mask: " 0x%x/0x%x", or " 0x%x" when the mask is all ones.
void append_mark_mask(std::string& out, uint32_t mark, uint32_t mask) {
  char buf[32];
  if (mask != 0xffffffffu) std::snprintf(buf, sizeof buf, "0x%x/0x%x", mark, mask);
  else std::snprintf(buf, sizeof buf, "0x%x", mark);
  out += buf;
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
  append_mark_mask(out, m.mark, m.mask);
}

void mark_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  xt_mark_mtinfo1 m = read_info(data, len);
  out += "mark match ";
  dialect::bang(out, m.invert);
  append_mark_mask(out, m.mark, m.mask);
}

const dialect::Extension extension{
    "mark", nullptr, "mark", false, 0, 1, 1u << 1, mark_size, mark_size, kOptions,
    mark_parse, nullptr, mark_save, mark_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
