// The CONNMARK target (xt_connmark.h, struct xt_connmark_tginfo2, revision 2) in the native
// dialect (libxt_CONNMARK, revision 2): set the connection's mark (--set-xmark and the
// --set/--and/--or/--xor-mark forms, all kept as ctmark/ctmask), or copy it to and from the
// packet's mark (--save-mark / --restore-mark with --nfmask/--ctmask or --mask), optionally
// shifted. iptables-nft writes the same compat target.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_connmark.h>

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

// libxt_CONNMARK's revision-2 option table, in its order (xtables_options_fcheck walks it).
const OptionSpec kOptions[] = {
    {"set-xmark", nullptr, true, false, 1},      {"set-mark", nullptr, true, false, 1},
    {"and-mark", nullptr, true, false, 1},       {"or-mark", nullptr, true, false, 1},
    {"xor-mark", nullptr, true, false, 1},       {"save-mark", nullptr, false, false, 0},
    {"restore-mark", nullptr, false, false, 0},  {"left-shift-mark", nullptr, true, false, 1},
    {"right-shift-mark", nullptr, true, false, 1}, {"ctmask", nullptr, true, false, 1},
    {"nfmask", nullptr, true, false, 1},         {"mask", nullptr, true, false, 1},
    {nullptr, nullptr, false, false, 0},
};
enum : size_t {
  kSetXmark, kSetMark, kAndMark, kOrMark, kXorMark, kSaveMark, kRestoreMark, kLeftShift, kRightShift,
  kCtmask, kNfmask, kMask, kCount
};
// The option ids (O_SET_MARK=0 … O_MASK=11) by table index: the order in which
// xtables_options_fcheck names the other option of a clash.
constexpr unsigned kXtId[kCount] = {8, 0, 3, 4, 5, 1, 2, 6, 7, 9, 10, 11};
constexpr uint64_t kOperations = (1u << kSetXmark) | (1u << kSetMark) | (1u << kAndMark) | (1u << kOrMark) |
                                 (1u << kXorMark) | (1u << kSaveMark) | (1u << kRestoreMark);
constexpr uint64_t kU32 = 0xffffffffu;

// Each option's `.excl`, as table-index bits: every operation excludes the others, --mask
// excludes --ctmask and --nfmask and the other way round.
uint64_t excludes(size_t i) {
  if ((kOperations >> i) & 1) return kOperations;
  if (i == kCtmask || i == kNfmask) return 1u << kMask;
  if (i == kMask) return (1u << kCtmask) | (1u << kNfmask);
  return 0;
}

size_t connmark_size(uint8_t) { return XT_ALIGN(sizeof(xt_connmark_tginfo2)); }

bool connmark_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_connmark_tginfo2*>(data);
  info->ctmask = info->nfmask = UINT32_MAX;  // connmark_tg_init_v2: masks for save/restore
  info->shift_dir = D_SHIFT_LEFT;
  uint64_t seen = 0;
  const ParsedOption* given[kCount] = {};
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "CONNMARK", ctx)) return false;
    const size_t i = dialect::option_index(o, kOptions);
    given[i] = &o;
    uint32_t mark = 0, mask = 0;
    uint64_t v = 0;
    if (i == kSetXmark || i == kSetMark) {
      if (!dialect::xtopt::mark_mask(o, "CONNMARK", ctx, mark, mask)) return false;
    } else if (i == kLeftShift || i == kRightShift) {
      if (!dialect::xtopt::uint_option(o, "CONNMARK", ctx, 0, 32, v)) return false;
    } else if (kOptions[i].has_arg) {
      if (!dialect::xtopt::uint_option(o, "CONNMARK", ctx, 0, kU32, v)) return false;
    }
    const uint32_t u = static_cast<uint32_t>(v);
    switch (i) {
      case kSetXmark: info->mode = XT_CONNMARK_SET, info->ctmark = mark, info->ctmask = mask; break;
      case kSetMark: info->mode = XT_CONNMARK_SET, info->ctmark = mark, info->ctmask = mark | mask; break;
      case kAndMark: info->mode = XT_CONNMARK_SET, info->ctmark = 0, info->ctmask = ~u; break;
      case kOrMark: info->mode = XT_CONNMARK_SET, info->ctmark = u, info->ctmask = u; break;
      case kXorMark: info->mode = XT_CONNMARK_SET, info->ctmark = u, info->ctmask = 0; break;
      case kSaveMark: info->mode = XT_CONNMARK_SAVE; break;
      case kRestoreMark: info->mode = XT_CONNMARK_RESTORE; break;
      case kLeftShift: info->shift_dir = D_SHIFT_LEFT, info->shift_bits = static_cast<uint8_t>(v); break;
      case kRightShift: info->shift_dir = D_SHIFT_RIGHT, info->shift_bits = static_cast<uint8_t>(v); break;
      case kCtmask: info->ctmask = u; break;
      case kNfmask: info->nfmask = u; break;
      default: info->nfmask = info->ctmask = u; break;  // --mask
    }
  }
  // connmark_tg_check, then xtables_options_fcheck's exclusions in table order.
  if ((seen & kOperations) == 0) return ctx.fail("CONNMARK target: No operation specified", "-j CONNMARK", "an operation");
  for (size_t i = 0; i < kCount; i++) {
    if (!((seen >> i) & 1)) continue;
    for (unsigned id = 0; id < 32; id++) {
      for (size_t j = 0; j < kCount; j++) {
        if (j == i || kXtId[j] != id || !given[j] || !((excludes(i) >> j) & 1)) continue;
        // The message is iptables'; the token blamed is the one of the two given later.
        const ParsedOption* later = given[i] > given[j] ? given[i] : given[j];
        return ctx.fail(std::string("CONNMARK: option \"--") + kOptions[i].name + "\" cannot be used together with \"--" +
                            kOptions[j].name + "\".",
                        later->token, "one of the options");
      }
    }
  }
  return true;
}

xt_connmark_tginfo2 read_info(const void* data, size_t len) {
  xt_connmark_tginfo2 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void hex(std::string& out, uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  out += buf;
}

// " --left-shift-mark N" / " left-shift-mark N" after a known mode with a shift.
void shift(std::string& out, const xt_connmark_tginfo2& m, const char* prefix) {
  if (m.mode > XT_CONNMARK_RESTORE || m.shift_bits == 0) return;
  out += ' ';
  out += prefix;
  out += m.shift_dir == D_SHIFT_RIGHT ? "right-shift-mark " : "left-shift-mark ";
  dialect::append_u64(out, m.shift_bits);
}

void connmark_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_connmark_tginfo2 m = read_info(data, len);
  out += "-j CONNMARK";
  switch (m.mode) {
    case XT_CONNMARK_SET:
      out += " --set-xmark ";
      hex(out, m.ctmark);
      out += '/';
      hex(out, m.ctmask);
      break;
    case XT_CONNMARK_SAVE:
    case XT_CONNMARK_RESTORE:
      out += m.mode == XT_CONNMARK_SAVE ? " --save-mark --nfmask " : " --restore-mark --nfmask ";
      hex(out, m.nfmask);
      out += " --ctmask ";
      hex(out, m.ctmask);
      break;
    default:
      out += " ERROR: UNKNOWN CONNMARK MODE";
  }
  shift(out, m, "--");
}

void connmark_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_connmark_tginfo2 m = read_info(data, len);
  out += "CONNMARK ";
  switch (m.mode) {
    case XT_CONNMARK_SET:
      if (m.ctmark == 0) out += "and ", hex(out, ~m.ctmask);
      else if (m.ctmark == m.ctmask) out += "or ", hex(out, m.ctmark);
      else if (m.ctmask == 0) out += "xor ", hex(out, m.ctmark);
      else if (m.ctmask == UINT32_MAX) out += "set ", hex(out, m.ctmark);
      else out += "xset ", hex(out, m.ctmark), out += '/', hex(out, m.ctmask);
      break;
    case XT_CONNMARK_SAVE:
      if (m.nfmask == UINT32_MAX && m.ctmask == UINT32_MAX) out += "save";
      else if (m.nfmask == m.ctmask) out += "save mask ", hex(out, m.nfmask);
      else out += "save nfmask ", hex(out, m.nfmask), out += " ctmask ~", hex(out, m.ctmask);
      break;
    case XT_CONNMARK_RESTORE:
      if (m.ctmask == UINT32_MAX && m.nfmask == UINT32_MAX) out += "restore";
      else if (m.ctmask == m.nfmask) out += "restore mask ", hex(out, m.ctmask);
      else out += "restore ctmask ", hex(out, m.ctmask), out += " nfmask ~", hex(out, m.nfmask);
      break;
    default:
      out += "ERROR: UNKNOWN CONNMARK MODE";
  }
  shift(out, m, "");
}

const dialect::Extension extension{
    "CONNMARK", nullptr, "CONNMARK", true, 0, 2, 1u << 2, connmark_size, connmark_size, kOptions,
    connmark_parse, nullptr, connmark_save, connmark_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
