// The CT target (xt_CT.h): revision 0 takes struct xt_ct_target_info, revisions 1 and 2
// struct xt_ct_target_info_v1 (adds the timeout policy name). iptables 1.8.9 writes
// revision 2, also for `-j NOTRACK` (flags XT_CT_NOTRACK|XT_CT_NOTRACK_ALIAS). The trailing
// `ct` pointer is kernel-private: it is neither decoded nor encoded (usersize stops before it).
//
// Fields, every one always present (timeout on revisions 1 and 2 only):
//   flags=N        XT_CT_NOTRACK=1 NOTRACK_ALIAS=2 ZONE_DIR_ORIG=4 ZONE_DIR_REPL=8 ZONE_MARK=16
//   zone=N         conntrack zone id
//   ct_events=N    bitmask of 1<<IPCT_*
//   exp_events=N   bitmask of 1<<IPEXP_*
//   helper=STR     conntrack helper name (char[16]), may be empty
//   timeout=STR    timeout policy name (char[32]), may be empty
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CT.h>

#include <cstddef>
#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

void put_cstr(FieldWriter& out, std::string_view key, const char* s, size_t cap) {
  out.str(key, std::string_view(s, strnlen(s, cap)));
}

bool get_cstr(const Fields& in, std::string_view key, char* dst, size_t cap, std::string& err) {
  const std::string* v = in.find(key);
  if (!v) return true;
  if (v->size() >= cap || v->find('\0') != std::string::npos) {
    err = std::string(key) + "=" + *v + " is longer than " + std::to_string(cap - 1) + " bytes or holds a NUL";
    return false;
  }
  std::memcpy(dst, v->data(), v->size());
  return true;
}

template <typename Info>
void decode_common(const Info& i, FieldWriter& out) {
  out.u64("flags", i.flags);
  out.u64("zone", i.zone);
  out.u64("ct_events", i.ct_events);
  out.u64("exp_events", i.exp_events);
  put_cstr(out, "helper", i.helper, sizeof i.helper);
}

template <typename Info>
bool encode_common(const Fields& in, Info& i, std::string& err) {
  uint64_t flags = 0, zone = 0, ct_events = 0, exp_events = 0;
  if (!get_u64(in, "flags", 0xffff, flags, err) || !get_u64(in, "zone", 0xffff, zone, err) ||
      !get_u64(in, "ct_events", 0xffffffffu, ct_events, err) ||
      !get_u64(in, "exp_events", 0xffffffffu, exp_events, err) ||
      !get_cstr(in, "helper", i.helper, sizeof i.helper, err)) {
    return false;
  }
  i.flags = static_cast<uint16_t>(flags);
  i.zone = static_cast<uint16_t>(zone);
  i.ct_events = static_cast<uint32_t>(ct_events);
  i.exp_events = static_cast<uint32_t>(exp_events);
  return true;
}

void decode0(const void* data, size_t len, Family, FieldWriter& out) {
  xt_ct_target_info i{};
  size_t user = offsetof(xt_ct_target_info, ct);
  std::memcpy(&i, data, len < user ? len : user);
  decode_common(i, out);
}

bool encode0(const Fields& in, Family, void* data, std::string& err) {
  xt_ct_target_info i{};
  if (!encode_common(in, i, err)) return false;
  std::memcpy(data, &i, offsetof(xt_ct_target_info, ct));
  return true;
}

void decode1(const void* data, size_t len, Family, FieldWriter& out) {
  xt_ct_target_info_v1 i{};
  size_t user = offsetof(xt_ct_target_info_v1, ct);
  std::memcpy(&i, data, len < user ? len : user);
  decode_common(i, out);
  put_cstr(out, "timeout", i.timeout, sizeof i.timeout);
}

bool encode1(const Fields& in, Family, void* data, std::string& err) {
  xt_ct_target_info_v1 i{};
  if (!encode_common(in, i, err) || !get_cstr(in, "timeout", i.timeout, sizeof i.timeout, err)) return false;
  std::memcpy(data, &i, offsetof(xt_ct_target_info_v1, ct));
  return true;
}

const Codec ct0{"CT", 0, true, 0, XT_ALIGN(sizeof(xt_ct_target_info)), offsetof(xt_ct_target_info, ct),
                decode0, encode0};
IPTKIT_REGISTER_CODEC(ct0);
const Codec ct1{"CT", 1, true, 0, XT_ALIGN(sizeof(xt_ct_target_info_v1)), offsetof(xt_ct_target_info_v1, ct),
                decode1, encode1};
IPTKIT_REGISTER_CODEC(ct1);
const Codec ct2{"CT", 2, true, 0, XT_ALIGN(sizeof(xt_ct_target_info_v1)), offsetof(xt_ct_target_info_v1, ct),
                decode1, encode1};
IPTKIT_REGISTER_CODEC(ct2);

}  // namespace
}  // namespace iptkit
