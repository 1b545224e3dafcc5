// The LOG target (xt_LOG.h, struct xt_log_info, revision 0, both families).
//
// Fields, every one always present:
//   level=N      syslog level 0..7 (iptables' default is 4, warning)
//   logflags=N   XT_LOG_TCPSEQ=1 TCPOPT=2 IPOPT=4 UID=8 MACDECODE=0x20
//   prefix=STR   up to 29 bytes (the struct's NUL-terminated char[30]); may be empty
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_LOG.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_log_info l{};
  std::memcpy(&l, data, len < sizeof l ? len : sizeof l);
  out.u64("level", l.level);
  out.u64("logflags", l.logflags);
  out.str("prefix", std::string_view(l.prefix, strnlen(l.prefix, sizeof l.prefix)));
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t level = 4, logflags = 0;
  if (!get_u64(in, "level", 0xff, level, err) || !get_u64(in, "logflags", 0xff, logflags, err)) return false;
  xt_log_info l{};
  l.level = static_cast<unsigned char>(level);
  l.logflags = static_cast<unsigned char>(logflags);
  if (const std::string* prefix = in.find("prefix")) {
    if (prefix->size() >= sizeof l.prefix || prefix->find('\0') != std::string::npos) {
      err = "prefix=" + *prefix + " is longer than " + std::to_string(sizeof l.prefix - 1) + " bytes or holds a NUL";
      return false;
    }
    std::memcpy(l.prefix, prefix->data(), prefix->size());
  }
  std::memcpy(data, &l, sizeof l);
  return true;
}

const Codec codec{"LOG", 0, true, 0, XT_ALIGN(sizeof(xt_log_info)), XT_ALIGN(sizeof(xt_log_info)), decode, encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
