// The MARK target (xt_mark.h, struct xt_mark_tginfo2, revision 2, both families) in the native
// dialect (libxt_MARK): the kernel computes mark = (mark & ~mask) ^ value. Revisions 0 and 1
// (unsigned long mark) left the kernel long ago and are carried opaque.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_mark.h>

#include <cstring>
#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

// `-j MARK` with exactly one of --set-xmark V[/M], --set-mark V[/M], --and-mark B,
// --or-mark B, --xor-mark B (libxt_MARK, revision 2); all print back as --set-xmark.

constexpr dialect::OptionSpec kOptions[] = {
    {"set-xmark", nullptr, true, false, 1},
    {"set-mark", nullptr, true, false, 1},
    {"and-mark", nullptr, true, false, 1},
    {"or-mark", nullptr, true, false, 1},
    {"xor-mark", nullptr, true, false, 1},
    {nullptr, nullptr, false, false, 0},
};
enum : size_t { kSetXmark, kSetMark, kAndMark, kOrMark, kXorMark, kCount };
// libxt_MARK's option ids (O_SET_MARK=0 … O_XOR_MARK=3, O_SET_XMARK=4) by table index: the
// order in which xtables_options_fcheck names the other option of a clash.
constexpr unsigned kXtId[kCount] = {4, 0, 1, 2, 3};

constexpr uint64_t kU32 = 0xffffffffu;

// XTTYPE_UINT32.
bool bits(const dialect::ParsedOption& o, const dialect::ParseCtx& ctx, uint32_t& out) {
  uint64_t v = 0;
  if (!dialect::xtopt::uint_option(o, "MARK", ctx, 0, kU32, v)) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
  xt_mark_tginfo2 info{};
  uint64_t seen = 0;
  const dialect::ParsedOption* given[kCount] = {};
  for (const dialect::ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "MARK", ctx)) return false;
    size_t i = dialect::option_index(o, kOptions);
    given[i] = &o;
    uint32_t v = 0, m = 0;
    switch (i) {
      case kSetXmark:
        if (!dialect::xtopt::mark_mask(o, "MARK", ctx, v, m)) return false;
        info.mark = v;
        info.mask = m;
        break;
      case kSetMark:
        if (!dialect::xtopt::mark_mask(o, "MARK", ctx, v, m)) return false;
        info.mark = v;
        info.mask = v | m;
        break;
      case kAndMark:
        if (!bits(o, ctx, v)) return false;
        info.mark = 0;
        info.mask = ~v;
        break;
      case kOrMark:
        if (!bits(o, ctx, v)) return false;
        info.mark = info.mask = v;
        break;
      case kXorMark:
        if (!bits(o, ctx, v)) return false;
        info.mark = v;
        info.mask = 0;
        break;
    }
  }
  // mark_tg_check, then xtables_options_fcheck's exclusion (every option excludes the others):
  // the first given in table order against the given one with the lowest id.
  if (seen == 0) {
    return ctx.fail("MARK: one of the --set-xmark, --{and,or,xor,set}-mark options is required", {}, "--set-xmark");
  }
  for (size_t i = 0; i < kCount; i++) {
    if (!given[i]) continue;
    for (unsigned id = 0; id < kCount; id++) {
      for (size_t j = 0; j < kCount; j++) {
        if (j == i || kXtId[j] != id || !given[j]) continue;
        const dialect::ParsedOption* later = given[i] > given[j] ? given[i] : given[j];
        return ctx.fail(std::string("MARK: option \"--") + kOptions[i].name + "\" cannot be used together with \"--" +
                            kOptions[j].name + "\"",
                        later->token, "one of the options");
      }
    }
    break;
  }
  std::memcpy(data, &info, sizeof info);
  return true;
}

void append_hex(std::string& out, uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  char buf[8];
  int n = 0;
  do {
    buf[n++] = digits[v & 0xf];
    v >>= 4;
  } while (v);
  out += "0x";
  while (n) out += buf[--n];
}

xt_mark_tginfo2 read(const void* data, size_t len) {
  xt_mark_tginfo2 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void save(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
  xt_mark_tginfo2 m = read(data, len);
  out += "-j MARK --set-xmark ";
  append_hex(out, m.mark);
  out += '/';
  append_hex(out, m.mask);
}

// mark_tg_print: the simplest operation that does the same.
void list(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
  xt_mark_tginfo2 m = read(data, len);
  if (m.mark == 0) {
    out += "MARK and ";
    append_hex(out, ~m.mask);
  } else if (m.mark == m.mask) {
    out += "MARK or ";
    append_hex(out, m.mark);
  } else if (m.mask == 0) {
    out += "MARK xor ";
    append_hex(out, m.mark);
  } else if (m.mask == 0xffffffffu) {
    out += "MARK set ";
    append_hex(out, m.mark);
  } else {
    out += "MARK xset ";
    append_hex(out, m.mark);
    out += '/';
    append_hex(out, m.mask);
  }
}

size_t size(uint8_t) { return XT_ALIGN(sizeof(xt_mark_tginfo2)); }

const dialect::Extension extension{"MARK", nullptr, "MARK", true, 0, 2, 1u << 2, size, size, kOptions, parse,
                                   nullptr, save, list};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
