// The `addrtype` match, revision 1 (xt_addrtype.h, struct xt_addrtype_info_v1), in the native
// dialect (libxt_addrtype, revision 1).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_addrtype.h>

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

// Bit i is RTN type i (linux/rtnetlink.h order).
const char* const kRtnNames[] = {"UNSPEC",    "UNICAST",     "LOCAL",    "BROADCAST", "ANYCAST", "MULTICAST",
                                 "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW",     "NAT",     "XRESOLVE"};
constexpr size_t kRtnCount = sizeof kRtnNames / sizeof kRtnNames[0];

enum { O_SRC_TYPE, O_DST_TYPE, O_LIMIT_IFACE_IN, O_LIMIT_IFACE_OUT };
const OptionSpec kOptions[] = {
    {"src-type", nullptr, true, true, 1},
    {"dst-type", nullptr, true, true, 1},
    {"limit-iface-in", nullptr, false, false, 0},
    {"limit-iface-out", nullptr, false, false, 0},
    {nullptr, nullptr, false, false, 0},
};

size_t addrtype_size(uint8_t) { return XT_ALIGN(sizeof(xt_addrtype_info_v1)); }

// parse_type: the first name whose first `len` characters match, case-insensitively (so a
// prefix works).
bool parse_type(const char* name, size_t len, uint16_t& mask) {
  for (size_t i = 0; i < kRtnCount; i++) {
    if (strncasecmp(name, kRtnNames[i], len) == 0) {
      mask |= static_cast<uint16_t>(1u << i);
      return true;
    }
  }
  return false;
}

// parse_types; the messages quote the rest of the list from the bad name on, as iptables
// does (and with its two spellings).
bool parse_types(const ParsedOption& o, const ParseCtx& ctx, uint16_t& mask) {
  const char* arg = o.value.c_str();
  const char* comma;
  while ((comma = std::strchr(arg, ',')) != nullptr) {
    if (comma == arg || !parse_type(arg, static_cast<size_t>(comma - arg), mask)) {
      return ctx.fail(std::string("addrtype: bad type `") + arg + "'", o.token, "types such as LOCAL,BROADCAST");
    }
    arg = comma + 1;
  }
  if (std::strlen(arg) == 0 || !parse_type(arg, std::strlen(arg), mask)) {
    return ctx.fail(std::string("addrtype: bad type \"") + arg + "\"", o.token, "types such as LOCAL,BROADCAST");
  }
  return true;
}

bool addrtype_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_addrtype_info_v1*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "addrtype", ctx)) return false;
    switch (dialect::option_index(o, kOptions)) {
      case O_SRC_TYPE:
        if (!parse_types(o, ctx, info->source)) return false;
        if (o.invert) info->flags |= XT_ADDRTYPE_INVERT_SOURCE;
        break;
      case O_DST_TYPE:
        if (!parse_types(o, ctx, info->dest)) return false;
        if (o.invert) info->flags |= XT_ADDRTYPE_INVERT_DEST;
        break;
      case O_LIMIT_IFACE_IN:
        info->flags |= XT_ADDRTYPE_LIMIT_IFACE_IN;
        break;
      case O_LIMIT_IFACE_OUT:
        info->flags |= XT_ADDRTYPE_LIMIT_IFACE_OUT;
        break;
    }
  }
  // addrtype_check, then the option table's exclusions (xtables_options_fcheck).
  if (!dialect::xtopt::given(seen, O_SRC_TYPE) && !dialect::xtopt::given(seen, O_DST_TYPE)) {
    return ctx.fail("addrtype: you must specify --src-type or --dst-type", "-m addrtype", "--src-type or --dst-type");
  }
  if (dialect::xtopt::given(seen, O_LIMIT_IFACE_IN) && dialect::xtopt::given(seen, O_LIMIT_IFACE_OUT)) {
    return ctx.fail("addrtype: option \"--limit-iface-in\" cannot be used together with \"--limit-iface-out\".",
                    "--limit-iface-out", "one of --limit-iface-in or --limit-iface-out");
  }
  return true;
}

void append_types(std::string& out, uint16_t mask) {
  const char* sep = "";
  for (size_t i = 0; i < kRtnCount; i++) {
    if (mask & (1u << i)) {
      out += sep;
      out += kRtnNames[i];
      sep = ",";
    }
  }
}

xt_addrtype_info_v1 read_info(const void* data, size_t len) {
  xt_addrtype_info_v1 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

void addrtype_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  xt_addrtype_info_v1 a = read_info(data, len);
  out += "-m addrtype";
  if (a.source) {
    out += a.flags & XT_ADDRTYPE_INVERT_SOURCE ? " ! --src-type " : " --src-type ";
    append_types(out, a.source);
  }
  if (a.dest) {
    out += a.flags & XT_ADDRTYPE_INVERT_DEST ? " ! --dst-type " : " --dst-type ";
    append_types(out, a.dest);
  }
  if (a.flags & XT_ADDRTYPE_LIMIT_IFACE_IN) out += " --limit-iface-in";
  if (a.flags & XT_ADDRTYPE_LIMIT_IFACE_OUT) out += " --limit-iface-out";
}

void addrtype_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  xt_addrtype_info_v1 a = read_info(data, len);
  out += "ADDRTYPE match";
  if (a.source) {
    out += a.flags & XT_ADDRTYPE_INVERT_SOURCE ? " src-type !" : " src-type ";
    append_types(out, a.source);
  }
  if (a.dest) {
    out += a.flags & XT_ADDRTYPE_INVERT_DEST ? " dst-type !" : " dst-type ";
    append_types(out, a.dest);
  }
  if (a.flags & XT_ADDRTYPE_LIMIT_IFACE_IN) out += " limit-in";
  if (a.flags & XT_ADDRTYPE_LIMIT_IFACE_OUT) out += " limit-out";
}

const dialect::Extension extension{
    "addrtype", nullptr, "addrtype", false, 0, 1, 1u << 1, addrtype_size, addrtype_size, kOptions,
    addrtype_parse, nullptr, addrtype_save, addrtype_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
