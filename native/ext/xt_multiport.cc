// The `multiport` match, revision 1 (xt_multiport.h, struct xt_multiport_v1), in the native
// dialect (libxt_multiport, revision 1).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_multiport.h>

#include <netinet/in.h>

#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/ports.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

// In the order of XT_MULTIPORT_SOURCE, DESTINATION, EITHER: the index is the flags value.
const OptionSpec multiport_options[] = {
    {"sports", "source-ports", true, true, 0},
    {"dports", "destination-ports", true, true, 0},
    {"ports", nullptr, true, true, 0},
    {nullptr},
};
const char* const save_option[] = {" --sports ", " --dports ", " --ports "};
const char* const list_word[] = {"sports ", "dports ", "ports "};

// proto_to_name: the protocols multiport works with, and the name services are looked up
// under; nullptr for any other.
const char* proto_to_name(uint16_t proto) {
  switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_UDPLITE: return "udplite";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_DCCP: return "dccp";
    default: return nullptr;
  }
}

// check_proto: the rule's -p, not inverted, must be one multiport knows.
const char* check_proto(const ParseCtx& ctx) {
  const char* proto = ctx.protocol_invert ? nullptr : proto_to_name(ctx.protocol);
  if (proto) return proto;
  if (!ctx.protocol_invert && ctx.protocol == 0) {
    ctx.fail("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'", "-m multiport",
             "-p tcp, udp, udplite, sctp or dccp");
  } else {
    ctx.fail("multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP", "-m multiport",
             "-p tcp, udp, udplite, sctp or dccp without !");
  }
  return nullptr;
}

// parse_multi_ports_v1: up to XT_MULTI_PORTS ports, a range LO:HI (LO < HI) taking two.
bool parse_ports(const ParsedOption& o, const char* proto, const ParseCtx& ctx, xt_multiport_v1& m) {
  std::string_view text = o.value;
  size_t i = 0, pos = 0;
  bool more = true;
  auto too_many = [&] {
    return ctx.fail("too many ports specified", o.token, "at most 15 ports, a range counting two");
  };
  while (more && i < XT_MULTI_PORTS) {
    size_t comma = text.find(',', pos);
    more = comma != std::string_view::npos;
    std::string_view item = text.substr(pos, more ? comma - pos : std::string_view::npos);
    pos = comma + 1;
    size_t colon = item.find(':');
    if (colon != std::string_view::npos && i == XT_MULTI_PORTS - 1) return too_many();
    if (!dialect::parse_port(item.substr(0, colon), proto, ctx, o.token, m.ports[i])) return false;
    if (colon != std::string_view::npos) {
      m.pflags[i] = 1;
      if (!dialect::parse_port(item.substr(colon + 1), proto, ctx, o.token, m.ports[++i])) return false;
      if (m.ports[i - 1] >= m.ports[i]) {
        return ctx.fail("invalid portrange specified", o.token,
                        "a range LO:HI with LO < HI, got " + std::string(item));
      }
    }
    i++;
  }
  if (more) return too_many();
  m.count = static_cast<uint8_t>(i);
  return true;
}

bool multiport_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  xt_multiport_v1* m = static_cast<xt_multiport_v1*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::once(o, multiport_options, seen, "multiport", ctx)) return false;
    if (!o.has_value) return ctx.fail(o.token + " requires an argument", o.token, "a value");
    size_t flags = dialect::option_index(o, multiport_options);
    if (flags > XT_MULTIPORT_EITHER) return ctx.fail("multiport: unknown option " + o.token, o.token);
    const char* proto = check_proto(ctx);
    if (!proto) return false;
    *m = xt_multiport_v1{};
    if (!parse_ports(o, proto, ctx, *m)) return false;
    m->flags = static_cast<uint8_t>(flags);
    if (o.invert) m->invert = 1;
  }
  // The final checks: exactly one of --sports, --dports, --ports.
  if (options.empty()) return ctx.fail("multiport expects an option", "-m multiport", "--sports, --dports or --ports");
  if (options.size() > 1) {
    return ctx.fail("multiport can only have one option", options[1].token, "one of --sports, --dports, --ports");
  }
  return true;
}

xt_multiport_v1 read_multiport(const void* data, size_t len) {
  xt_multiport_v1 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  if (m.count > XT_MULTI_PORTS) m.count = XT_MULTI_PORTS;  // the kernel refuses more
  return m;
}

// The ports as __multiport_print_v1 walks them: a range's end is the next slot (read even
// past count, within the array, as iptables does).
void append_ports(std::string& out, const xt_multiport_v1& m, const char* proto, bool numeric) {
  for (size_t i = 0; i < m.count; i++) {
    if (i) out += ',';
    dialect::append_port(out, m.ports[i], proto, numeric);
    if (m.pflags[i] && i + 1 < XT_MULTI_PORTS) {
      out += ':';
      dialect::append_port(out, m.ports[++i], proto, numeric);
    }
  }
}

void multiport_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_multiport_v1 m = read_multiport(data, len);
  out += "-m multiport";
  if (m.invert) out += " !";
  // An unknown flags value (the kernel refuses one) prints no option word.
  out += m.flags <= XT_MULTIPORT_EITHER ? save_option[m.flags] : " ";
  append_ports(out, m, nullptr, true);
}

void multiport_list(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  const xt_multiport_v1 m = read_multiport(data, len);
  out += "multiport ";
  out += m.flags <= XT_MULTIPORT_EITHER ? list_word[m.flags] : "ERROR ";
  if (m.invert) out += " !";  // after "dports ": two spaces, as iptables prints it
  // Service names for the rule's protocol; getservbyport(port, NULL) for another.
  append_ports(out, m, proto_to_name(ctx.protocol), ctx.numeric);
}

size_t multiport_size(uint8_t revision) { return revision == 1 ? XT_ALIGN(sizeof(xt_multiport_v1)) : 0; }
size_t multiport_usersize(uint8_t revision) { return revision == 1 ? sizeof(xt_multiport_v1) : 0; }

const dialect::Extension multiport_extension{
    "multiport", nullptr, "multiport", false, 0, 1, 1u << 1, multiport_size, multiport_usersize, multiport_options,
    multiport_parse, nullptr, multiport_save, multiport_list,
};
IPTKIT_REGISTER_EXTENSION(multiport_extension);

}  // namespace
}  // namespace iptkit
