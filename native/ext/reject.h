// The REJECT target's dialect, shared by ipt_REJECT.cc and ip6t_REJECT.cc: libipt_REJECT and
// libip6t_REJECT differ only in the reply types, REJECT_init's default and the struct, which
// holds the one `with` field either way. `-j REJECT [--reject-with TYPE]`: TYPE is a
// case-insensitive prefix of a name or alias, the first in iptables' table order winning.
#pragma once

#include <linux/netfilter/x_tables.h>

#include <netinet/in.h>
#include <strings.h>

#include <cstring>
#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace reject {

// One reply type: the name iptables prints, the alias it also reads, the kernel's value.
struct RejectType {
  const char* name;
  const char* alias;
  uint32_t with;
};

// A family's reply types in its table order, REJECT_init's value for a bare -j REJECT and
// the TCP reset value, which the kernel takes with -p tcp only.
struct Table {
  const RejectType* types;
  size_t count;
  uint32_t init;
  uint32_t tcp_reset;
};

inline constexpr dialect::OptionSpec kOptions[] = {
    {"reject-with", nullptr, true, false, 1},
    {nullptr, nullptr, false, false, 0},
};

// strncasecmp(table, arg, strlen(arg)) == 0: arg is a prefix of the table word.
inline bool prefix_of(const std::string& arg, const char* word) {
  return strncasecmp(word, arg.c_str(), strlen(arg.c_str())) == 0;
}

// The Extension callbacks for Info (ipt_reject_info / ip6t_reject_info) and its table.
template <typename Info, const Table& T>
struct Target {
  static bool parse(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
    Info r{};
    r.with = static_cast<decltype(r.with)>(T.init);  // REJECT_init: a bare -j REJECT
    uint64_t seen = 0;
    const dialect::ParsedOption* given = nullptr;
    for (const dialect::ParsedOption& o : options) {
      if (!dialect::xtopt::take(o, kOptions, seen, "REJECT", ctx)) return false;
      const RejectType* hit = nullptr;
      for (size_t i = 0; i < T.count && !hit; i++) {
        if (prefix_of(o.value, T.types[i].name) || prefix_of(o.value, T.types[i].alias)) hit = &T.types[i];
      }
      if (!hit) {
        std::string names;
        for (size_t i = 0; i < T.count; i++) names += (names.empty() ? "" : "|") + std::string(T.types[i].name);
        return ctx.fail("REJECT: unknown reject type \"" + o.value + "\"", o.token, names);
      }
      r.with = static_cast<decltype(r.with)>(hit->with);
      given = &o;
    }
    // The kernel refuses a TCP reset for anything but -p tcp (EINVAL at commit); say why now.
    if (static_cast<uint32_t>(r.with) == T.tcp_reset && (ctx.protocol != IPPROTO_TCP || ctx.protocol_invert)) {
      return ctx.fail("REJECT: --reject-with tcp-reset needs -p tcp", given ? given->token : std::string(), "-p tcp");
    }
    std::memcpy(data, &r, sizeof r);
    return true;
  }

  static size_t size(uint8_t) { return XT_ALIGN(sizeof(Info)); }

  // The type's name; a value iptables has no name for prints as its number.
  static void type_name(const void* data, size_t len, std::string& out) {
    Info r{};
    std::memcpy(&r, data, len < sizeof r ? len : sizeof r);
    for (size_t i = 0; i < T.count; i++) {
      if (T.types[i].with == static_cast<uint32_t>(r.with)) {
        out += T.types[i].name;
        return;
      }
    }
    dialect::append_u64(out, static_cast<uint32_t>(r.with));
  }

  static void save(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
    out += "-j REJECT --reject-with ";
    type_name(data, len, out);
  }

  static void list(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
    out += "reject-with ";
    type_name(data, len, out);
  }
};

}  // namespace reject
}  // namespace iptkit
