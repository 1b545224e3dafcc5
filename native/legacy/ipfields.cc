// See ipfields.h.
#include "ipfields.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstring>

#include "../common/wire.h"

namespace iptkit::legacy {

bool is_zero(const void* p, size_t len) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < len; i++) {
    if (b[i]) return false;
  }
  return true;
}

char* put_iface(char* p, std::string_view key, const char* name, const unsigned char* mask) {
  if (mask[0] == 0) {
    // `-i +` (any interface) as iptables-legacy stores it: name "+", all-zero mask. Written
    // back as `+`, which parse_iface turns into the same bytes.
    if (name[0] != '+' || name[1] != '\0' || !is_zero(mask, IFNAMSIZ)) return p;
    *p++ = '\t';
    std::memcpy(p, key.data(), key.size());
    p += key.size();
    *p++ = '=';
    *p++ = '+';
    return p;
  }
  char buf[IFNAMSIZ + 1];
  size_t n = 0;
  for (size_t i = 0; i < IFNAMSIZ; i++) {
    if (mask[i] != 0) {
      if (name[i] != '\0') buf[n++] = name[i];
    } else {
      // mask[0] != 0, so i >= 1 here.
      if (name[i - 1] != '\0') buf[n++] = '+';
      break;
    }
  }
  *p++ = '\t';
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = '=';
  return wire_escape_to(p, std::string_view(buf, n));
}

void append_iface(std::string& out, std::string_view key, const char* name, const unsigned char* mask) {
  std::string buf(4 + key.size() + 3 * IFNAMSIZ, '\0');
  char* e = put_iface(&buf[0], key, name, mask);
  out.append(buf.data(), static_cast<size_t>(e - buf.data()));
}

bool parse_iface(std::string_view key, std::string_view value, char* name, unsigned char* mask,
                 std::string& err) {
  size_t len = value.size();
  if (len + 1 > IFNAMSIZ || value.find('\0') != std::string_view::npos) {
    err = std::string(key) + "=" + std::string(value) + " is not an interface name (at most " +
          std::to_string(IFNAMSIZ - 1) + " bytes)";
    return false;
  }
  memcpy(name, value.data(), len);
  if (len == 0) return true;
  if (value[len - 1] == '+') {
    memset(mask, 0xff, len - 1);
  } else {
    memset(mask, 0xff, len + 1);
  }
  return true;
}

namespace {
char* put_ipv6(char* p, const void* addr) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, addr, buf, sizeof buf);
  size_t n = strlen(buf);
  memcpy(p, buf, n);
  return p + n;
}
}  // namespace

// IPv4 addresses are written by wire_put_ipv4 (glibc's inet_ntop formats them with sprintf,
// which made two addresses per rule a visible share of reading 30,000 rules). Same text.
char* put_addr(char* p, std::string_view key, Family family, const void* addr, const void* mask) {
  *p++ = '\t';
  memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = '=';
  if (family == Family::ipv6) {
    p = put_ipv6(p, addr);
    *p++ = '/';
    return put_ipv6(p, mask);
  }
  p = wire_put_ipv4(p, addr);
  *p++ = '/';
  return wire_put_ipv4(p, mask);
}

void append_addr(std::string& out, std::string_view key, Family family, const void* addr, const void* mask) {
  std::string buf(4 + key.size() + 2 * INET6_ADDRSTRLEN, '\0');
  char* e = put_addr(&buf[0], key, family, addr, mask);
  out.append(buf.data(), static_cast<size_t>(e - buf.data()));
}

namespace {
bool to_addr(int af, std::string_view s, void* out) {
  if (af == AF_INET && wire_plain_ipv4(s, static_cast<unsigned char*>(out))) return true;
  std::string str(s);
  return inet_pton(af, str.c_str(), out) == 1;
}
}  // namespace

bool parse_addr(std::string_view key, std::string_view value, Family family, void* addr, void* mask,
                std::string& err) {
  int af = family == Family::ipv6 ? AF_INET6 : AF_INET;
  size_t alen = family == Family::ipv6 ? 16 : 4;
  auto fail = [&] {
    err = std::string(key) + "=" + std::string(value) + " is not an " + (family == Family::ipv6 ? "IPv6" : "IPv4") +
          " ADDR/MASK";
    return false;
  };
  size_t slash = value.find('/');
  std::string_view a = value.substr(0, slash);
  if (!to_addr(af, a, addr)) return fail();
  auto* mb = static_cast<unsigned char*>(mask);
  if (slash == std::string_view::npos) {
    memset(mb, 0xff, alen);
  } else {
    std::string_view m = value.substr(slash + 1);
    bool digits = !m.empty() && m.size() <= 3 && m.find_first_not_of("0123456789") == std::string_view::npos;
    if (digits) {
      unsigned bits = 0;
      for (char c : m) bits = bits * 10 + static_cast<unsigned>(c - '0');
      if (bits > alen * 8) return fail();
      memset(mb, 0, alen);
      for (unsigned i = 0; i < bits; i++) mb[i / 8] |= static_cast<unsigned char>(0x80 >> (i % 8));
    } else if (!to_addr(af, m, mask)) {
      return fail();
    }
  }
  auto* ab = static_cast<unsigned char*>(addr);
  for (size_t i = 0; i < alen; i++) ab[i] &= mb[i];
  return true;
}

}  // namespace iptkit::legacy
