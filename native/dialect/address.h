// Addresses as iptables 1.8.9 reads and prints them, on the kernel's raw bytes (struct
// ipt_ip / ip6t_ip6, nf_inet_addr): the generic `-s`/`-d` (one address, with an optional
// prefix length or mask) and `-i`/`-o` interface names; libxtables' numeric forms the matches
// use (iprange, conntrack); the iptables-save and `iptables -L` text of an address/mask.
// No DNS, ever: iptables would resolve a hostname here; iptkit refuses it and says so, and
// `iptables -L` without -n prints numbers where iptables would print names. Addresses are
// raw network-order bytes (4 or 16) so that this header needs no libc socket headers, which
// clash with the kernel's <linux/in.h> the extension files include.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "family.h"
#include "extension.h"     // ParseError

namespace iptkit {
namespace dialect {

// IFNAMSIZ: the kernel's interface name field, NUL included (names are at most 15 bytes).
constexpr size_t kIfNameSize = 16;

// Bytes of an address in this family: 4 (in_addr) or 16 (in6_addr). Every function below
// reads and writes exactly this many bytes of `addr` / `mask`, so a uint8_t[16] and the
// kernel's own in_addr field both do.
inline size_t address_size(Family family) { return family == Family::ipv4 ? 4 : 16; }

// `-s`/`-d` text → address and mask, host bits cleared (xtables_ipparse_any and its IPv6
// twin, for one address): ADDR (a host), ADDR/PREFIX, ADDR/MASK. The address and a mask in
// address form are numeric_to_ipaddr's (so "10.1" is 10.1.0.0) or numeric_to_ip6addr's, as in
// iptables; a NUL anywhere is refused. A zero mask ignores the address ("any/0").
// Lists ("a,b") and hostnames are refused with the TypeScript dialect's messages.
bool parse_address(std::string_view text, Family family, uint8_t* addr, uint8_t* mask, ParseError& err);

// `-i`/`-o` text → the kernel's name/mask pair as xtables_parse_interface fills it; both are
// kIfNameSize bytes and are zeroed first. "eth+" keeps its '+' in the name and masks only
// "eth"; "eth0" masks the name and its NUL; "+" leaves the mask zero (every interface).
// Refuses "" and names of 16 bytes or more (and a NUL inside the text, which argv cannot
// carry). '/' and ' ' only draw a warning from iptables, so they are accepted.
bool parse_interface(std::string_view text, char* name, unsigned char* mask, ParseError& err);

// xtables_numeric_to_ipaddr / xtables_numeric_to_ipmask (__numeric_to_ipaddr): up to four
// xtables_strtoui bytes 0-255 separated by dots; fewer parts leave the rest zero ("10" is
// 10.0.0.0), except in a mask, which needs all four. Reads at most 19 characters, as its
// buffer does (iptables-legacy 1.8.9 takes `-s 10.0.0.0000000000012` as 10.0.0.1), and a NUL
// ends the text as in C. `addr4`: 4 bytes.
bool numeric_to_ipaddr(std::string_view text, void* addr4, bool is_mask = false);
// xtables_numeric_to_ip6addr: inet_pton; a NUL ends the text. `addr16`: 16 bytes.
bool numeric_to_ip6addr(std::string_view text, void* addr16);
// The numeric part of getaddrinfo(text, family) as XTTYPE_HOST and XTTYPE_PLEN's mask form use
// it (AI_NUMERICHOST: the inet_aton forms for IPv4, so "10" is 0.0.0.10). Fills the family's
// bytes of `addr`.
bool numeric_host(std::string_view text, Family family, void* addr);

// xtables_ipmask_to_cidr / ip6mask_to_cidr: the prefix length of a contiguous mask, or -1.
int mask_to_prefix(Family family, const void* mask);
// The mask of a prefix length (clamped to the family's width).
void prefix_to_mask(Family family, unsigned bits, uint8_t* mask);

// An address alone in inet_ntop form ("10.0.0.1", "fd00::1", "::ffff:1.2.3.4"):
// xtables_ipaddr_to_numeric / xtables_ip6addr_to_numeric.
void format_address(Family family, const void* addr, std::string& out);
// xtables_ipmask_to_numeric and its IPv6 twin: nothing for a host mask (/32, /128), else "/N",
// or "/MASK" when the mask is not contiguous.
void format_mask(Family family, const void* mask, std::string& out);

// The text iptables-save writes after -s/-d: ADDR/PREFIX always ("10.0.0.1/32",
// "fd00::/64"), ADDR/MASK when the mask is not contiguous ("1.0.3.0/255.0.255.0"). Whether
// the option is printed at all (a zero mask without `!` is not) is the rule printer's call.
void format_address_save(Family family, const uint8_t* addr, const uint8_t* mask, std::string& out);

// The source/destination column text of `iptables -L` (unpadded): "anywhere" for a zero
// mask unless numeric (then "0.0.0.0/0" / "::/0"), else ADDR and format_mask. Numbers only,
// never a name lookup.
void format_address_list(Family family, const uint8_t* addr, const uint8_t* mask, bool numeric, std::string& out);

// The name iptables-save writes after -i/-o, from the kernel's name/mask bytes (save_iface):
// the masked bytes, then '+' when the mask stops before the name's NUL. False (nothing
// appended) when iptables-save omits the option: a zero mask (every interface) not inverted.
// A zero mask inverted (`! -i +`, no interface) prints "+", as iptables-nft-save does;
// iptables-legacy-save drops it, and the `!` with it.
bool format_interface_save(const char* name, const unsigned char* mask, bool invert, std::string& out);

}  // namespace dialect
}  // namespace iptkit
