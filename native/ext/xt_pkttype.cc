// The `pkttype` match (xt_pkttype.h, struct xt_pkttype_info, revision 0) in the native dialect
// (libxt_pkttype): `[!] --pkt-type unicast|broadcast|multicast|host|otherhost`, the link-layer
// packet type. iptables-nft writes the same compat match.
#include <linux/if_packet.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_pkttype.h>

#include <strings.h>

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
    {"pkt-type", nullptr, true, true, 1},
    {nullptr, nullptr, false, false, 0},
};

// libxt_pkttype's names, in its order: a value prints as the first name it has ("host" is
// read, "unicast" printed).
const struct {
  const char* name;
  int type;
} kTypes[] = {
    {"unicast", PACKET_HOST},
    {"broadcast", PACKET_BROADCAST},
    {"multicast", PACKET_MULTICAST},
    {"host", PACKET_HOST},
    {"otherhost", PACKET_OTHERHOST},
};

size_t pkttype_size(uint8_t) { return XT_ALIGN(sizeof(xt_pkttype_info)); }

bool pkttype_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_pkttype_info*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "pkttype", ctx)) return false;
    const char* value = o.value.c_str();  // a C string, as argv
    bool found = false;
    for (const auto& t : kTypes) {
      if (strcasecmp(value, t.name) == 0) {
        info->pkttype = t.type;
        found = true;
        break;
      }
    }
    if (!found) {
      return ctx.fail(std::string("Bad packet type '") + value + "'", o.token, "unicast, broadcast, multicast, host or otherhost");
    }
    if (o.invert) info->invert = 1;
  }
  if (!dialect::xtopt::given(seen, 0)) {
    return ctx.fail("pkttype: option \"--pkt-type\" must be specified", "-m pkttype", "--pkt-type TYPE");
  }
  return true;
}

xt_pkttype_info read_info(const void* data, size_t len) {
  xt_pkttype_info m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

// print_pkttype: the type's first name, else its number.
void append_type(std::string& out, int type) {
  for (const auto& t : kTypes) {
    if (t.type == type) {
      out += t.name;
      return;
    }
  }
  out += std::to_string(type);
}

void pkttype_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_pkttype_info m = read_info(data, len);
  out += "-m pkttype ";
  dialect::bang(out, m.invert);
  out += "--pkt-type ";
  append_type(out, m.pkttype);
}

void pkttype_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_pkttype_info m = read_info(data, len);
  out += m.invert ? "PKTTYPE != " : "PKTTYPE = ";
  append_type(out, m.pkttype);
}

const dialect::Extension extension{
    "pkttype", nullptr, "pkttype", false, 0, 0, 1u << 0, pkttype_size, pkttype_size, kOptions,
    pkttype_parse, nullptr, pkttype_save, pkttype_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
