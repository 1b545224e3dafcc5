// The icmp and icmp6 matches' dialect, shared by ipt_icmp.cc and ip6t_icmp6.cc: struct
// ipt_icmp and ip6t_icmp are the same (type, code range, invflags with INV = 1), and
// libipt_icmp / libip6t_icmp6 the same module but for its words and type names.
#pragma once

#include <linux/netfilter/x_tables.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "../dialect/ports.h"

namespace iptkit {
namespace icmp {

// What one family's module calls things.
struct Words {
  const char* module;             // "icmp" / "icmp6": -m name and message prefix
  const char* option;             // "icmp-type" / "icmpv6-type"
  const char* label;              // "ICMP" / "ICMPv6" in the type parser's messages
  const char* list_prefix;        // "icmp" / "ipv6-icmp": -L's print_icmptype prefix
  uint16_t protocol;              // the -p the kernel requires
  const char* protocol_name;      // …as the message names it
  const dialect::IcmpName* names; // libxtables' type names, in its order
  size_t count;
  const dialect::OptionSpec* options;
  bool save_any;                  // libipt_icmp saves type 255 as `any`, whatever the codes
};

// The Extension callbacks for Info (ipt_icmp / ip6t_icmp) with invert flag Inv.
template <typename Info, uint8_t Inv, const Words& W>
struct Match {
  static bool parse(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
    Info* m = static_cast<Info*>(data);
    uint64_t seen = 0;
    for (const dialect::ParsedOption& o : options) {
      if (!dialect::once(o, W.options, seen, W.module, ctx)) return false;
      if (!o.has_value) return ctx.fail(o.token + " requires an argument", o.token, "a value");
      if (!dialect::parse_icmp_type(o.value, W.names, W.count, W.label, ctx, o.token, m->type, m->code)) return false;
      if (o.invert) m->invflags |= Inv;
    }
    // XTOPT_MAND: the type is not optional.
    if (!seen) {
      return ctx.fail(std::string(W.module) + ": option \"--" + W.option + "\" must be specified",
                      std::string("-m ") + W.module, std::string("--") + W.option + " TYPE");
    }
    return dialect::require_protocol(ctx, W.protocol, W.module, W.protocol_name);
  }

  static Info read(const void* data, size_t len) {
    Info m{};
    std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
    return m;
  }

  static void save(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
    const Info m = read(data, len);
    out += "-m ";
    out += W.module;
    out += (m.invflags & Inv) ? " ! --" : " --";
    out += W.option;
    out += ' ';
    // Canonical text is a rule's identity, so it says everything the struct holds: where
    // iptables-save loses the codes (`255/0` saved as `any`, `3/1:2` as `3/1`), the rule is
    // printed in the form that reads back to the same struct.
    if (W.save_any && m.type == 0xff && m.code[0] == 0 && m.code[1] == 0xff) {
      out += "any";
      return;
    }
    dialect::append_u64(out, m.type);
    if (m.code[0] != 0 || m.code[1] != 0xff) {
      out += '/';
      dialect::append_u64(out, m.code[0]);
      if (m.code[1] != m.code[0]) {
        out += ':';
        dialect::append_u64(out, m.code[1]);
      }
    }
  }

  static void list(const void* data, size_t len, uint8_t, const dialect::PrintCtx& ctx, std::string& out) {
    const Info m = read(data, len);
    dialect::list_icmp_type(out, W.list_prefix, W.names, W.count, m.type, m.code, m.invflags & Inv, ctx.numeric);
    if (m.invflags & ~Inv) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "%X", static_cast<unsigned>(m.invflags & ~Inv));
      out += " Unknown invflags: 0x";
      out += buf;
    }
  }

  static size_t size(uint8_t revision) { return revision == 0 ? XT_ALIGN(sizeof(Info)) : 0; }
  static size_t usersize(uint8_t revision) { return revision == 0 ? sizeof(Info) : 0; }
};

}  // namespace icmp
}  // namespace iptkit
