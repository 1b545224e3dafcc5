// Field helpers shared by the match codecs (see match_fields.h).
#include "match_fields.h"

#include <charconv>
#include <cstring>

#include "../common/wire.h"

namespace iptkit {

void put_range(FieldWriter& out, std::string_view key, uint64_t lo, uint64_t hi) {
  char buf[48];
  char* p = std::to_chars(buf, buf + 20, lo).ptr;
  *p++ = ':';
  p = std::to_chars(p, p + 20, hi).ptr;
  out.str(key, std::string_view(buf, static_cast<size_t>(p - buf)));
}

bool get_range(const Fields& in, std::string_view key, uint64_t max, uint64_t& lo, uint64_t& hi, std::string& err) {
  const std::string* v = in.find(key);
  if (!v) return true;
  size_t colon = v->find(':');
  std::string_view all(*v);
  std::string_view lo_s = colon == std::string::npos ? all : all.substr(0, colon);
  std::string_view hi_s = colon == std::string::npos ? all : all.substr(colon + 1);
  std::string sub;
  uint64_t a = 0, b = 0;
  if (!wire_get_u64("lo", lo_s, max, a, sub) || !wire_get_u64("hi", hi_s, max, b, sub)) {
    err = std::string(key) + "=" + *v + " is not a range LO:HI in 0.." + std::to_string(max);
    return false;
  }
  lo = a;
  hi = b;
  return true;
}

bool all_zero(const void* data, size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; i++) {
    if (p[i] != 0) return false;
  }
  return true;
}

void put_inet_addr(FieldWriter& out, std::string_view key, Family family, const nf_inet_addr& addr) {
  out.inet(key, family, &addr);
  if (family == Family::ipv4) {
    const auto* tail = reinterpret_cast<const unsigned char*>(&addr) + 4;
    if (!all_zero(tail, 12)) out.bytes_hex(std::string(key) + "_tail", tail, 12);
  }
}

bool get_inet_addr(const Fields& in, std::string_view key, Family family, nf_inet_addr& addr, std::string& err) {
  if (!get_inet(in, key, family, &addr, err)) return false;
  if (family == Family::ipv4) {
    auto* tail = reinterpret_cast<unsigned char*>(&addr) + 4;
    if (!get_hex_bytes(in, std::string(key) + "_tail", tail, 12, err)) return false;
  }
  return true;
}

bool require(const Fields& in, std::string_view key, std::string& err) {
  if (in.find(key)) return true;
  err = "missing field " + std::string(key);
  return false;
}

}  // namespace iptkit
