// IP protocol names and numbers as iptables 1.8.9 reads (`-p`) and prints them (save, -L):
// /etc/protocols first, as getprotobyname/getprotobynumber see it with nsswitch "files",
// then libxtables' own table (xtables_chain_protos) for names the system file may lack. A
// copy of Debian's netbase file stands in when /etc/protocols cannot be read, so a
// container without netbase prints the same. The file is read once, on first use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "family.h"
#include "extension.h"     // ParseError

namespace iptkit {
namespace dialect {

// `-p` text → protocol number (0 = all), as xtables_parse_protocol after iptables lowers
// the text: a number (strtoul base 0, at most 255), "all", an /etc/protocols name or alias,
// libxtables' table. A name whose number is above 255 (mptcp 262) is refused: the kernel
// compares it with an 8-bit header field, so the rule could never match.
bool parse_protocol(std::string_view text, Family family, uint16_t& out, ParseError& err);

// getprotobyname(name)->p_proto: the protocols file (or the netbase copy), first entry of a
// name or alias; -1 when none. xtables_parse_protocol tries it before chain_proto_number.
int getprotobyname_number(std::string_view name);
// libxtables' own table (xtables_chain_protos) for the names the system file may lack; -1.
int chain_proto_number(std::string_view name);

// The name iptables-save and `iptables -L` print for a number (proto_to_name without
// nolookup: /etc/protocols for a non-zero number, then libxtables' table, so 0 is "all"),
// or nullptr when only the number can be printed. The string lives as long as the process.
const char* protocol_name(uint16_t num);

// The name or, failing that, the decimal number: the text after `-p` in iptables-save and
// the prot column of `iptables -L`. The column always shows names (iptables 1.8.9 prints
// numbers there under -n; iptkit keeps the older, readable form).
std::string protocol_text(uint16_t num);

// The match modules `-p TEXT` loads implicitly when an option nobody knows follows
// (iptables' load_proto), in the order to try: the name the user wrote (lowered), or for a
// number the name it prints as. ip6tables calls the ICMPv6 match icmp6 whatever the protocol
// was called. Empty when TEXT names no protocol. The strings live as long as the process.
std::vector<const char*> implicit_match_names(std::string_view text, Family family);

// ip6tables: hop-by-hop (0), routing (43), fragment (44), AH (51) and destination options
// (60) are extension headers, never the transport protocol `-p` compares with, so `-p` on
// them draws "Warning: never matched protocol: TEXT. use extension match instead." (0 is
// also "all", for which ip6tables 1.8.9 says nothing: warn only for a non-zero number).
bool is_ipv6_extension_header(uint16_t num);

}  // namespace dialect
}  // namespace iptkit
