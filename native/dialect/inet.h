// Numbers, addresses, ports and protocols as libxtables 1.8.9 reads and prints them for the
// matches that carry them (iprange, conntrack): xtables_strtoul, xtables_numeric_to_ipaddr
// (dotted quads that may stop early: "10" is 10.0.0.0), inet_pton for IPv6, the address and
// mask printers, and the getaddrinfo/getprotobyname look-ups, without DNS. Addresses are raw
// network-order bytes (4 or 16) so that this header needs no libc socket headers, which clash
// with the kernel's <linux/in.h> the extension files include.
#pragma once

#include <cerrno>
#include <cctype>
#include <cinttypes>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../ext/codec.h"  // Family

namespace iptkit {
namespace dialect {

// xtables_strtoul: strtoumax base 0 on a NUL-terminated string, a leading '-' refused, max 0
// meaning no bound. With `end` null the whole string must be the number; otherwise *end is
// where the number stopped.
inline bool xt_strtoul(const char* s, const char** end, uint64_t min, uint64_t max, uint64_t& value) {
  const char* p = s;
  while (std::isspace(static_cast<unsigned char>(*p))) p++;
  if (*p == '-') return false;
  errno = 0;
  char* my_end = nullptr;
  uintmax_t v = std::strtoumax(s, &my_end, 0);
  if (my_end == s) return false;
  if (end) *end = my_end;
  if (errno == ERANGE || v < min || (max != 0 && v > max)) return false;
  value = v;
  return end != nullptr || *my_end == '\0';
}

// xtables_numeric_to_ipaddr: up to four strtoui bytes separated by dots; fewer parts leave
// the rest zero. Reads at most 19 characters, as its buffer does. `addr4`: 4 bytes.
bool numeric_to_ipaddr(std::string_view text, void* addr4);
// xtables_numeric_to_ip6addr: inet_pton. `addr16`: 16 bytes.
bool numeric_to_ip6addr(std::string_view text, void* addr16);
// The numeric part of getaddrinfo(text, family) as XTTYPE_HOST uses it (AI_NUMERICHOST: the
// inet_aton forms for IPv4, so "10" is 0.0.0.10). Fills the family's bytes of `addr`.
bool numeric_host(std::string_view text, Family family, void* addr);
// The mask of XTTYPE_PLEN given as an address (getaddrinfo AI_NUMERICHOST), e.g. 255.255.0.0.
bool numeric_mask(std::string_view text, Family family, void* addr);

// xtables_ipaddr_to_numeric / xtables_ip6addr_to_numeric.
void append_ipaddr(std::string& out, const void* addr4);
void append_ip6addr(std::string& out, const void* addr16);
void append_addr(std::string& out, Family family, const void* addr);
// xtables_ipmask_to_cidr / xtables_ip6mask_to_cidr: the prefix length, -1 when not contiguous.
int ipmask_to_cidr(const void* mask4);
int ip6mask_to_cidr(const void* mask16);
// xtables_ipmask_to_numeric and its IPv6 twin: "" for a host mask, "/N", or "/MASK" when the
// mask is not contiguous.
void append_mask(std::string& out, Family family, const void* mask);

// xtables_getportbyname: a number or a service name (getaddrinfo, any protocol); -1 if none.
int port_by_name(const char* name);
// getprotobyname's number for `name`, or -1.
int protocol_by_name(const char* name);

}  // namespace dialect
}  // namespace iptkit
