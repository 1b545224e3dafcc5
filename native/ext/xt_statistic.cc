// The `statistic` match (xt_statistic.h, struct xt_statistic_info, revision 0) in the native
// dialect (libxt_statistic): `--mode random --probability P` and `--mode nth --every N
// --packet P`, what kube-proxy balances services with. iptables-nft writes it as the same
// compat match. Userspace owns mode, flags and the union up to nth.count; count is the nth
// counter's starting value, set here (every - packet) and kept by the kernel from then on.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_statistic.h>

#include <locale.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

enum { kMode, kProbability, kEvery, kPacket };

const OptionSpec kOptions[] = {
    {"mode", nullptr, true, false, 1},
    {"probability", nullptr, true, true, 1},
    {"every", nullptr, true, true, 1},
    {"packet", nullptr, true, false, 1},
    {nullptr, nullptr, false, false, 0},
};

size_t statistic_size(uint8_t) { return XT_ALIGN(sizeof(xt_statistic_info)); }
size_t statistic_usersize(uint8_t) { return offsetof(xt_statistic_info, u.nth.count); }

// XTTYPE_DOUBLE: strtod of the whole argument (leading blanks, hex floats, inf and nan as C's
// strtod reads them, in the C locale iptables runs in), then the 0..1 range. NaN passes the
// range test, as in iptables.
bool parse_probability(const std::string& text, double& value) {
  static locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
  const char* begin = text.c_str();
  char* end = nullptr;
  value = strtod_l(begin, &end, c_locale);
  return end != begin && *end == '\0' && text.find('\0') == std::string::npos && !(value < 0 || value > 1);
}

bool statistic_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_statistic_info*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "statistic", ctx)) return false;
    if (o.invert) info->flags |= XT_STATISTIC_INVERT;
    switch (dialect::option_index(o, kOptions)) {
      case kMode:
        if (o.value == "random") info->mode = XT_STATISTIC_MODE_RANDOM;
        else if (o.value == "nth") info->mode = XT_STATISTIC_MODE_NTH;
        else return ctx.fail("Bad mode \"" + o.value + "\"", o.token, "random or nth");
        break;
      case kProbability: {
        double p = 0;
        if (!parse_probability(o.value, p)) {
          return ctx.fail("statistic: bad value for option \"--probability\", or out of range (0-1).", o.token,
                          "a number 0 to 1");
        }
        // lround(0x80000000 * p); NaN (which iptables takes) gives 0 on every machine here.
        info->u.random.probability = std::isnan(p) ? 0 : static_cast<uint32_t>(std::lround(2147483648.0 * p));
        break;
      }
      case kEvery: {
        uint64_t v = 0;
        if (!dialect::xtopt::uint_option(o, "statistic", ctx, 1, UINT32_MAX, v)) return false;
        info->u.nth.every = static_cast<uint32_t>(v - 1);  // the kernel counts from 0
        break;
      }
      default: {
        uint64_t v = 0;
        if (!dialect::xtopt::uint_option(o, "statistic", ctx, 0, UINT32_MAX, v)) return false;
        info->u.nth.packet = static_cast<uint32_t>(v);
        break;
      }
    }
  }
  // statistic_check first (mode 0 is random: no --mode reads as random here), then xtables'
  // own final checks in option-table order: mandatory, exclusive, "also requires".
  const bool probability = dialect::xtopt::given(seen, kProbability);
  const bool every = dialect::xtopt::given(seen, kEvery);
  const bool packet = dialect::xtopt::given(seen, kPacket);
  if (info->mode == XT_STATISTIC_MODE_RANDOM && !probability) {
    return ctx.fail("--probability must be specified when using random mode", "-m statistic", "--probability P");
  }
  if (info->mode == XT_STATISTIC_MODE_NTH && !every && !packet) {
    return ctx.fail("--every and --packet must be specified when using nth mode", "-m statistic", "--every N --packet P");
  }
  if (info->u.nth.packet > info->u.nth.every) {
    return ctx.fail("the --packet p must be 0 <= p <= n-1", "--packet", "a packet below --every");
  }
  info->u.nth.count = info->u.nth.every - info->u.nth.packet;
  if (!dialect::xtopt::given(seen, kMode)) {
    return ctx.fail("statistic: option \"--mode\" must be specified", "-m statistic", "--mode random|nth");
  }
  if (probability && (every || packet)) {
    const char* other = every ? "every" : "packet";
    return ctx.fail(std::string("statistic: option \"--probability\" cannot be used together with \"--") + other + "\".",
                    "--probability", "--probability or --every/--packet");
  }
  if (every != packet) {
    const char* has = every ? "every" : "packet";
    const char* lacks = every ? "packet" : "every";
    return ctx.fail(std::string("statistic: option \"--") + has + "\" also requires \"--" + lacks + "\".",
                    std::string("--") + has, std::string("--") + lacks);
  }
  return true;
}

xt_statistic_info read_info(const void* data, size_t len) {
  xt_statistic_info m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

// print_match: `prefix` is "--" for save and "" for -L; -L leaves out a zero packet.
void print_match(const xt_statistic_info& info, const char* prefix, std::string& out) {
  const bool invert = info.flags & XT_STATISTIC_INVERT;
  if (info.mode == XT_STATISTIC_MODE_RANDOM) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.11f", 1.0 * info.u.random.probability / 0x80000000);
    out += ' ';
    out += prefix;
    out += invert ? "mode random ! " : "mode random ";
    out += prefix;
    out += "probability ";
    out += buf;
  } else if (info.mode == XT_STATISTIC_MODE_NTH) {
    out += ' ';
    out += prefix;
    out += invert ? "mode nth ! " : "mode nth ";
    out += prefix;
    out += "every ";
    dialect::append_u64(out, uint64_t{info.u.nth.every} + 1);
    if (info.u.nth.packet != 0 || *prefix != '\0') {
      out += ' ';
      out += prefix;
      out += "packet ";
      dialect::append_u64(out, info.u.nth.packet);
    }
  }
}

void statistic_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  out += "-m statistic";
  print_match(read_info(data, len), "--", out);
}

void statistic_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  out += "statistic";
  print_match(read_info(data, len), "", out);
}

const dialect::Extension extension{
    "statistic", nullptr, "statistic", false, 0, 0, 1u << 0, statistic_size, statistic_usersize, kOptions,
    statistic_parse, nullptr, statistic_save, statistic_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
