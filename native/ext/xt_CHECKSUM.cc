// The CHECKSUM target (xt_CHECKSUM.h, struct xt_CHECKSUM_info, revision 0, both families) in
// the native dialect (libxt_CHECKSUM).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CHECKSUM.h>

#include <cstring>
#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

// `-j CHECKSUM --checksum-fill`, the option mandatory (libxt_CHECKSUM).

constexpr dialect::OptionSpec kOptions[] = {
    {"checksum-fill", nullptr, false, false, 0},
    {nullptr, nullptr, false, false, 0},
};

bool parse(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
  xt_CHECKSUM_info c{};
  uint64_t seen = 0;
  for (const dialect::ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "CHECKSUM", ctx)) return false;
    c.operation |= XT_CHECKSUM_OP_FILL;
  }
  if (!dialect::xtopt::mandatory(seen, kOptions, 0, "CHECKSUM", ctx)) return false;
  std::memcpy(data, &c, sizeof c);
  return true;
}

bool fill(const void* data, size_t len) {
  xt_CHECKSUM_info c{};
  std::memcpy(&c, data, len < sizeof c ? len : sizeof c);
  return c.operation & XT_CHECKSUM_OP_FILL;
}

void save(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
  out += fill(data, len) ? "-j CHECKSUM --checksum-fill" : "-j CHECKSUM";
}

void list(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
  out += fill(data, len) ? "CHECKSUM fill" : "CHECKSUM";
}

size_t size(uint8_t) { return XT_ALIGN(sizeof(xt_CHECKSUM_info)); }

const dialect::Extension extension{"CHECKSUM", nullptr, "CHECKSUM", true, 0, 0, 0b1, size, size, kOptions, parse,
                                   nullptr, save, list};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
