// The `multiport` match, revision 1 (xt_multiport.h, struct xt_multiport_v1).
//
// Fields, every one always present, in this order:
//   flags=N          XT_MULTIPORT_SOURCE=0 DESTINATION=1 EITHER=2
//   count=N          number of entries used in ports/pflags (a range takes two)
//   ports=P,P,…      the first `count` ports, decimal (all 15 when unused slots are not zero)
//   pflags=F,F,…     per port: 1 when it starts a range whose end is the next port
//   invert=N         0 or 1
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_multiport.h>

#include <cstring>

#include "codec.h"

namespace iptkit {
namespace {

template <typename T>
std::string join(const T* values, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; i++) {
    if (i) s += ',';
    s += std::to_string(values[i]);
  }
  return s;
}

// Parses `a,b,c` (possibly empty) into at most XT_MULTI_PORTS values ≤ max.
template <typename T>
bool split(const Fields& in, const char* key, uint64_t max, T* out, std::string& err) {
  const std::string* v = in.find(key);
  if (!v || v->empty()) return true;
  size_t pos = 0, n = 0;
  while (pos <= v->size()) {
    size_t comma = v->find(',', pos);
    if (comma == std::string::npos) comma = v->size();
    if (n == XT_MULTI_PORTS) {
      err = std::string(key) + "=" + *v + " has more than " + std::to_string(XT_MULTI_PORTS) + " entries";
      return false;
    }
    Fields one;
    one.add(key, v->substr(pos, comma - pos));
    uint64_t x = 0;
    if (!get_u64(one, key, max, x, err)) return false;
    out[n++] = static_cast<T>(x);
    pos = comma + 1;
  }
  return true;
}

void decode(const void* data, size_t len, Family, FieldWriter& out) {
  xt_multiport_v1 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  size_t n = m.count <= XT_MULTI_PORTS ? m.count : XT_MULTI_PORTS;
  bool tail_clean = true;
  for (size_t i = n; i < XT_MULTI_PORTS; i++) tail_clean = tail_clean && m.ports[i] == 0 && m.pflags[i] == 0;
  if (!tail_clean) n = XT_MULTI_PORTS;
  out.u64("flags", m.flags);
  out.u64("count", m.count);
  out.str("ports", join(m.ports, n));
  out.str("pflags", join(m.pflags, n));
  out.u64("invert", m.invert);
}

bool encode(const Fields& in, Family, void* data, std::string& err) {
  uint64_t flags = 0, count = 0, invert = 0;
  xt_multiport_v1 m{};
  if (!get_u64(in, "flags", XT_MULTIPORT_EITHER, flags, err) || !get_u64(in, "count", XT_MULTI_PORTS, count, err) ||
      !get_u64(in, "invert", 0xff, invert, err) || !split(in, "ports", 0xffff, m.ports, err) ||
      !split(in, "pflags", 0xff, m.pflags, err)) {
    return false;
  }
  m.flags = static_cast<uint8_t>(flags);
  m.count = static_cast<uint8_t>(count);
  m.invert = static_cast<uint8_t>(invert);
  std::memcpy(data, &m, sizeof m);
  return true;
}

const Codec codec{"multiport", 1, false, 0, XT_ALIGN(sizeof(xt_multiport_v1)), sizeof(xt_multiport_v1), decode,
                  encode};
IPTKIT_REGISTER_CODEC(codec);

}  // namespace
}  // namespace iptkit
