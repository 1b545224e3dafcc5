// The address, port and protocol helpers of inet.h, on libc's resolver functions (numeric
// host forms, /etc/services, /etc/protocols: nothing here asks DNS).
#include "inet.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>

namespace iptkit {
namespace dialect {

bool numeric_to_ipaddr(std::string_view text, void* addr4) {
  std::string buf(text.substr(0, 19));
  buf = buf.c_str();  // a NUL inside ends the text, as in C
  unsigned char bytes[4] = {0, 0, 0, 0};
  size_t pos = 0;
  for (int i = 0; i < 4; i++) {
    size_t dot = i < 3 ? buf.find('.', pos) : std::string::npos;
    std::string part = buf.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    uint64_t v = 0;
    if (!xt_strtoul(part.c_str(), nullptr, 0, 255, v)) return false;
    bytes[i] = static_cast<unsigned char>(v);
    if (dot == std::string::npos) break;  // "autocomplete, this is a network address"
    pos = dot + 1;
  }
  std::memcpy(addr4, bytes, 4);
  return true;
}

bool numeric_to_ip6addr(std::string_view text, void* addr16) {
  std::string s(text);
  return inet_pton(AF_INET6, s.c_str(), addr16) == 1;
}

namespace {

bool numeric_lookup(std::string_view text, Family family, void* addr) {
  std::string s(text);
  addrinfo hints{};
  hints.ai_family = family == Family::ipv6 ? AF_INET6 : AF_INET;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* res = nullptr;
  if (getaddrinfo(s.c_str(), nullptr, &hints, &res) != 0 || !res) return false;
  if (res->ai_family == AF_INET6) {
    std::memcpy(addr, &reinterpret_cast<const sockaddr_in6*>(res->ai_addr)->sin6_addr, 16);
  } else {
    std::memcpy(addr, &reinterpret_cast<const sockaddr_in*>(res->ai_addr)->sin_addr, 4);
  }
  freeaddrinfo(res);
  return true;
}

}  // namespace

bool numeric_host(std::string_view text, Family family, void* addr) { return numeric_lookup(text, family, addr); }

bool numeric_mask(std::string_view text, Family family, void* addr) { return numeric_lookup(text, family, addr); }

void append_ipaddr(std::string& out, const void* addr4) {
  const unsigned char* b = static_cast<const unsigned char*>(addr4);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  out += buf;
}

void append_ip6addr(std::string& out, const void* addr16) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, addr16, buf, sizeof buf)) out += buf;
}

void append_addr(std::string& out, Family family, const void* addr) {
  if (family == Family::ipv6) append_ip6addr(out, addr);
  else append_ipaddr(out, addr);
}

int ipmask_to_cidr(const void* mask4) {
  uint32_t m;
  std::memcpy(&m, mask4, 4);
  m = ntohl(m);
  uint32_t bits = 0xffffffffu;
  for (int i = 32; i >= 0; i--, bits <<= 1) {
    if (bits == m) return i;
  }
  return -1;
}

int ip6mask_to_cidr(const void* mask16) {
  const unsigned char* b = static_cast<const unsigned char*>(mask16);
  int bits = 0;
  int i = 0;
  for (; i < 16 && b[i] == 0xff; i++) bits += 8;
  if (i == 16) return bits;
  unsigned char c = b[i];
  while (c & 0x80) {
    bits++;
    c = static_cast<unsigned char>(c << 1);
  }
  if (c) return -1;
  for (i++; i < 16; i++) {
    if (b[i]) return -1;
  }
  return bits;
}

void append_mask(std::string& out, Family family, const void* mask) {
  int full = family == Family::ipv6 ? 128 : 32;
  int cidr = family == Family::ipv6 ? ip6mask_to_cidr(mask) : ipmask_to_cidr(mask);
  if (cidr == full) return;  // "we don't want to see /32"
  out += '/';
  if (cidr < 0) append_addr(out, family, mask);
  else out += std::to_string(cidr);
}

int port_by_name(const char* name) {
  addrinfo* res = nullptr;
  if (getaddrinfo(nullptr, name, nullptr, &res) != 0) return -1;
  int port = -1;
  for (addrinfo* p = res; p; p = p->ai_next) {
    if (p->ai_family == AF_INET6) {
      port = ntohs(reinterpret_cast<const sockaddr_in6*>(p->ai_addr)->sin6_port);
      break;
    }
    if (p->ai_family == AF_INET) {
      port = ntohs(reinterpret_cast<const sockaddr_in*>(p->ai_addr)->sin_port);
      break;
    }
  }
  freeaddrinfo(res);
  return port;
}

int protocol_by_name(const char* name) {
  protoent result{};
  protoent* found = nullptr;
  char buf[1024];
  if (getprotobyname_r(name, &result, buf, sizeof buf, &found) != 0 || !found) return -1;
  return found->p_proto;
}

}  // namespace dialect
}  // namespace iptkit
