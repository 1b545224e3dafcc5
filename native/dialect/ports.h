// Ports and ICMP types as the transport matches of iptables 1.8.9 read and print them
// (tcp, udp, multiport, icmp, icmp6): xtables_parse_port and its service names, libxt_udp's
// XTTYPE_PORTRC ranges (resolved through getaddrinfo), libxt_tcp's print_ports, and
// libxtables' ICMP type parser. Service names come from a services file read the way glibc's
// "files" source reads it, so that tests can point it elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "extension.h"

namespace iptkit {
namespace dialect {

// getservbyname(name, proto): the port of the first entry whose name or alias is `name`; a
// null proto matches any protocol, as xtables_service_to_port(name, NULL) in the NAT targets.
bool service_to_port(std::string_view name, const char* proto, uint16_t& port);
// getservbyport(port, proto): the official name of the first entry for the port; a null
// proto matches any protocol, as getservbyport(port, NULL) does.
bool port_to_service(uint16_t port, const char* proto, std::string& name);
// xtables_getportbyname: the port getaddrinfo(NULL, name, NULL) gives (XTTYPE_PORTRC of udp
// and conntrack): a decimal number cut to 16 bits, or a service of any transport protocol.
bool xtables_getportbyname(std::string_view name, uint16_t& port);

// -m tcp / -m udp / -m icmp need the rule's own -p, not inverted: the kernel refuses them
// otherwise (iptables then reports "Invalid argument").
bool require_protocol(const ParseCtx& ctx, uint16_t proto, const char* module, const char* proto_name);

// xtables_parse_port: a number 0-65535 or a service name known for `proto`.
bool parse_port(std::string_view text, const char* proto, const ParseCtx& ctx, const std::string& token,
                uint16_t& port);
// libxt_tcp's `P`, `LO:HI`, `LO:` (to 65535) or `:HI` (from 0), LO ≤ HI.
bool parse_port_range(std::string_view text, const char* proto, const ParseCtx& ctx, const std::string& token,
                      uint16_t range[2]);
// libxt_udp's XTTYPE_PORTRC: one or two `:`-separated ports through getaddrinfo(NULL, port)
// (decimal, cut to 16 bits, or a service of any transport protocol); an empty first part is
// 0, an empty second 65535; LO > HI is let through, as iptables does.
bool parse_port_range_any(std::string_view text, const char* module, const char* option, const ParseCtx& ctx,
                          const std::string& token, uint16_t range[2]);

// A port in the listing: the service name for `proto` unless numeric or unknown.
void append_port(std::string& out, uint16_t port, const char* proto, bool numeric);
// tcp/udp save: ` [!] --OPTION P` or `LO:HI`; nothing for the whole range.
void save_port_range(std::string& out, const char* option, const uint16_t range[2], bool invert);
// print_ports of libxt_tcp/libxt_udp: ` spt:P`, ` spts:!LO:HI`, …; nothing for 0:65535.
void list_port_range(std::string& out, const char* name, const uint16_t range[2], bool invert, const char* proto,
                     bool numeric);

// One ICMP(v6) type name: the first entry that fits a type and code range is the name -L
// prints; later duplicates are input aliases.
struct IcmpName {
  const char* name;
  uint8_t type, code_min, code_max;
};

// libxtables' __ipt_parse_icmp: an unambiguous case-insensitive name prefix, or
// TYPE[/CODE[:CODE]] with xtables_strtoui numbers. `label` is "ICMP" / "ICMPv6".
bool parse_icmp_type(std::string_view text, const IcmpName* names, size_t count, const char* label,
                     const ParseCtx& ctx, const std::string& token, uint8_t& type, uint8_t code[2]);
// print_icmptype: `PREFIX NAME` / `PREFIX !NAME` when -L resolves it, else
// `PREFIXtype N [code C | codes LO-HI]` (no space after the prefix unless inverted).
void list_icmp_type(std::string& out, const char* prefix, const IcmpName* names, size_t count, uint8_t type,
                    const uint8_t code[2], bool invert, bool numeric);

}  // namespace dialect
}  // namespace iptkit
