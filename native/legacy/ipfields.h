// The family-neutral halves of a rule's ip fields on the wire (docs/wire.md, "ip fields"):
// interface names with iptables' '+' wildcard, ADDR/MASK pairs, and fast decimal output.
// Both the IPv4 and the IPv6 back end use them on their own struct (ipt_ip / ip6t_ip6).
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "../ext/codec.h"

namespace iptkit::legacy {

inline void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline char* put_u64(char* p, uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }

// The pointer forms below write into a caller's buffer (the read builds each rule line on the
// stack and appends it once): put_iface needs 4 + key.size() + 3 * IFNAMSIZ bytes, put_addr
// 3 + key.size() + 2 * INET6_ADDRSTRLEN.
char* put_iface(char* p, std::string_view key, const char* name, const unsigned char* mask);
char* put_addr(char* p, std::string_view key, Family family, const void* addr, const void* mask);

// `\tkey=NAME` as iptables-save prints an interface: nothing when mask[0] is 0 (any
// interface), and a trailing '+' where the mask stops before the name's NUL (a prefix).
void append_iface(std::string& out, std::string_view key, const char* name, const unsigned char* mask);

// The inverse, as iptables' xtables_parse_interface fills vianame/mask: "eth+" keeps its '+'
// in the name and masks only the prefix; "eth0" masks the name and its terminating NUL.
// name and mask are IFNAMSIZ bytes, zeroed by the caller.
bool parse_iface(std::string_view key, std::string_view value, char* name, unsigned char* mask,
                 std::string& err);

// `\tkey=ADDR/MASK` in inet_ntop form.
void append_addr(std::string& out, std::string_view key, Family family, const void* addr, const void* mask);

// ADDR/MASK (MASK in address form or a prefix length), or ADDR alone (a host). Host bits
// are cleared as iptables does before it hands the rule to the kernel.
bool parse_addr(std::string_view key, std::string_view value, Family family, void* addr, void* mask,
                std::string& err);

bool is_zero(const void* p, size_t len);

}  // namespace iptkit::legacy
