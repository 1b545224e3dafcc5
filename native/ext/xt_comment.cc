// The `comment` match (xt_comment.h, struct xt_comment_info, revision 0) in the native dialect
// (libxt_comment).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>

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
    {"comment", nullptr, true, false, 1},
    {nullptr, nullptr, false, false, 0},
};

size_t comment_size(uint8_t) { return XT_ALIGN(sizeof(xt_comment_info)); }

bool comment_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_comment_info*>(data);
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "comment", ctx)) return false;
    if (o.value.find('\0') != std::string::npos) {
      return ctx.fail("comment: a comment cannot hold a NUL byte", o.token, "text without NUL");
    }
    // XTTYPE_STRING with XTOPT_PUT: strncpy of at most 255 bytes; a longer comment is cut
    // there (iptables 1.8.9 does not refuse it) and the kernel keeps the NUL in byte 256.
    size_t n = o.value.size() < XT_MAX_COMMENT_LEN - 1 ? o.value.size() : XT_MAX_COMMENT_LEN - 1;
    std::memset(info->comment, 0, sizeof info->comment);
    std::memcpy(info->comment, o.value.data(), n);
  }
  if (!dialect::xtopt::given(seen, 0)) {
    return ctx.fail("comment: option \"--comment\" must be specified", "-m comment", "--comment TEXT");
  }
  return true;
}

std::string_view comment_text(const void* data, size_t len) {
  // comment_print sets comment[XT_MAX_COMMENT_LEN-1] to NUL before printing.
  const char* p = static_cast<const char*>(data);
  size_t max = len < XT_MAX_COMMENT_LEN - 1 ? len : XT_MAX_COMMENT_LEN - 1;
  return std::string_view(p, strnlen(p, max));
}

void comment_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  out += "-m comment --comment ";
  dialect::save_string(out, comment_text(data, len));
}

void comment_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  out += "/* ";
  out += comment_text(data, len);
  out += " */";
}

const dialect::Extension extension{
    "comment", nullptr, "comment", false, 0, 0, 1u << 0, comment_size, comment_size, kOptions,
    comment_parse, nullptr, comment_save, comment_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
