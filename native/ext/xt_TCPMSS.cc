// The TCPMSS target (xt_TCPMSS.h, struct xt_tcpmss_info, revision 0) in the native dialect
// (libxt_TCPMSS): `-j TCPMSS --set-mss N | --clamp-mss-to-pmtu`, the MSS clamp of routers and
// tunnels. One struct for both families; the largest MSS is the family's (65535 less the
// IPv4 or IPv6 header and the TCP header). Both options may be given: the last one wins, as
// in iptables. The kernel checks the rest (only -p tcp; clamping only in FORWARD, OUTPUT and
// POSTROUTING; on x_tables only in a rule that matches SYN).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_TCPMSS.h>

#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

enum { kSetMss, kClamp };

const OptionSpec kOptions[] = {
    {"set-mss", nullptr, true, false, 1},
    {"clamp-mss-to-pmtu", nullptr, false, false, 0},
    {nullptr, nullptr, false, false, 0},
};

size_t tcpmss_size(uint8_t) { return XT_ALIGN(sizeof(xt_tcpmss_info)); }

bool tcpmss_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_tcpmss_info*>(data);
  // 65535 less the IP header (20 or 40 bytes), as libxt_TCPMSS's two option tables.
  const uint64_t max = ctx.family == Family::ipv6 ? 65535 - 40 : 65535 - 20;
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "TCPMSS", ctx)) return false;
    if (dialect::option_index(o, kOptions) == kClamp) {
      info->mss = XT_TCPMSS_CLAMP_PMTU;
      continue;
    }
    uint64_t mss = 0;
    if (!dialect::xtopt::uint_option(o, "TCPMSS", ctx, 0, max, mss)) return false;
    info->mss = static_cast<uint16_t>(mss);
  }
  if (seen == 0) return ctx.fail("TCPMSS target: At least one parameter is required", "-j TCPMSS", "--set-mss N or --clamp-mss-to-pmtu");
  return true;
}

uint16_t mss_of(const void* data, size_t len) {
  xt_tcpmss_info m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m.mss;
}

void tcpmss_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const uint16_t mss = mss_of(data, len);
  if (mss == XT_TCPMSS_CLAMP_PMTU) {
    out += "-j TCPMSS --clamp-mss-to-pmtu";
    return;
  }
  out += "-j TCPMSS --set-mss ";
  dialect::append_u64(out, mss);
}

void tcpmss_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const uint16_t mss = mss_of(data, len);
  if (mss == XT_TCPMSS_CLAMP_PMTU) {
    out += "TCPMSS clamp to PMTU";
    return;
  }
  out += "TCPMSS set ";
  dialect::append_u64(out, mss);
}

const dialect::Extension extension{
    "TCPMSS", nullptr, "TCPMSS", true, 0, 0, 1u << 0, tcpmss_size, tcpmss_size, kOptions,
    tcpmss_parse, nullptr, tcpmss_save, tcpmss_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
