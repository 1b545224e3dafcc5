// The `comment` match (xt_comment.h, struct xt_comment_info, revision 0).
//
// Fields:
//   comment=TEXT     the comment up to its NUL (at most 255 bytes), always present
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  const char* p = static_cast<const char*>(data);
  size_t max = len < XT_MAX_COMMENT_LEN ? len : XT_MAX_COMMENT_LEN;
  out.str("comment", std::string_view(p, strnlen(p, max)));
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  const std::string* c = in.find("comment");
  if (!c) return true;
  // The kernel insists on a terminating NUL inside the 256 bytes.
  if (c->size() >= XT_MAX_COMMENT_LEN || c->find('\0') != std::string::npos) {
    err = "comment is " + std::to_string(c->size()) + " bytes; at most " + std::to_string(XT_MAX_COMMENT_LEN - 1) +
          " without NUL fit";
    return false;
  }
  std::memcpy(data, c->data(), c->size());
  return true;
}

const Codec codec{"comment", 0, false, 0, XT_ALIGN(sizeof(xt_comment_info)), sizeof(xt_comment_info), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
