// The `limit` match (xt_limit.h, struct xt_rateinfo, revision 0) in the native dialect
// (libxt_limit). Only avg and burst belong to userspace; the rest of the struct (prev,
// credit, credit_cap, cost, master) is the kernel's own state, so usersize stops at `prev`.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_limit.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <strings.h>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

constexpr uint32_t kDefaultAvg = XT_LIMIT_SCALE * 60 * 60 / 3;  // "3/hour"
constexpr uint32_t kDefaultBurst = 5;
constexpr uint64_t kMaxBurst = 10000;

const OptionSpec kOptions[] = {
    {"limit", nullptr, true, false, 1},
    {"limit-burst", nullptr, true, false, 1},
    {nullptr, nullptr, false, false, 0},
};

size_t limit_size(uint8_t) { return XT_ALIGN(sizeof(xt_rateinfo)); }
// Past `prev` the struct is the kernel's bucket state (the module's userspacesize).
size_t limit_usersize(uint8_t) { return offsetof(xt_rateinfo, prev); }

// parse_rate: atoi of the text, then an optional /UNIT (any case-insensitive prefix of
// second, minute, hour, day). 0: not a rate; -1: "Rate too fast".
int parse_rate(const std::string& rate, uint32_t& val) {
  uint32_t mult = 1;
  size_t slash = rate.find('/');
  if (slash != std::string::npos) {
    const char* unit = rate.c_str() + slash + 1;
    size_t n = std::strlen(unit);
    if (n == 0) return 0;
    if (strncasecmp(unit, "second", n) == 0) mult = 1;
    else if (strncasecmp(unit, "minute", n) == 0) mult = 60;
    else if (strncasecmp(unit, "hour", n) == 0) mult = 60 * 60;
    else if (strncasecmp(unit, "day", n) == 0) mult = 24 * 60 * 60;
    else return 0;
  }
  uint32_t r = static_cast<uint32_t>(std::atoi(rate.c_str()));
  if (r == 0) return 0;
  val = XT_LIMIT_SCALE * mult / r;
  return val == 0 ? -1 : 1;
}

bool limit_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* r = static_cast<xt_rateinfo*>(data);
  r->avg = kDefaultAvg;  // limit_init
  r->burst = kDefaultBurst;
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "limit", ctx)) return false;
    if (o.spec == &kOptions[0]) {
      int ok = parse_rate(o.value, r->avg);
      if (ok < 0) {
        return ctx.fail("Rate too fast \"" + o.value + "\"", o.token, "a slower rate (at most 10000/sec)");
      }
      if (ok == 0) return ctx.fail("bad rate \"" + o.value + "\"'", o.token, "RATE[/second|/minute|/hour|/day]");
    } else {
      uint64_t burst = 0;
      if (!dialect::strtoui(std::string_view(o.value.c_str()), kMaxBurst, burst)) {
        return ctx.fail("limit: bad value for option \"--limit-burst\", or out of range (0-10000).", o.token,
                        "a number 1-10000");
      }
      // iptables takes 0 and the kernel then refuses the rule (ERANGE): refuse it here.
      if (burst == 0) {
        return ctx.fail("limit: --limit-burst 0 is refused by the kernel (Numerical result out of range)", o.token,
                        "a number 1-10000");
      }
      r->burst = static_cast<uint32_t>(burst);
    }
  }
  return true;
}

// print_rate: the largest unit that divides the period without too much remainder.
void append_rate(std::string& out, uint32_t period) {
  static const struct {
    const char* name;
    uint32_t mult;
  } rates[] = {{"day", XT_LIMIT_SCALE * 24 * 60 * 60},
               {"hour", XT_LIMIT_SCALE * 60 * 60},
               {"min", XT_LIMIT_SCALE * 60},
               {"sec", XT_LIMIT_SCALE}};
  if (period == 0) {
    out += "inf";  // printf("%f", INFINITY)
    return;
  }
  size_t i = 1;
  for (; i < sizeof rates / sizeof rates[0]; ++i) {
    if (period > rates[i].mult || rates[i].mult / period < rates[i].mult % period) break;
  }
  dialect::append_u64(out, rates[i - 1].mult / period);
  out += '/';
  out += rates[i - 1].name;
}

xt_rateinfo read_info(const void* data, size_t len) {
  xt_rateinfo m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void limit_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  xt_rateinfo r = read_info(data, len);
  out += "-m limit --limit ";
  append_rate(out, r.avg);
  if (r.burst != kDefaultBurst) {
    out += " --limit-burst ";
    dialect::append_u64(out, r.burst);
  }
}

void limit_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  xt_rateinfo r = read_info(data, len);
  out += "limit: avg ";
  append_rate(out, r.avg);
  out += " burst ";
  dialect::append_u64(out, r.burst);
}

const dialect::Extension extension{
    "limit", nullptr, "limit", false, 0, 0, 1u << 0, limit_size, limit_usersize, kOptions,
    limit_parse, nullptr, limit_save, limit_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
