// -p names and numbers (see protocols.h). A port of src/rules/protocols.ts.
#include "protocols.h"

#include <cstdio>
#include <unordered_map>

namespace iptkit {
namespace dialect {
namespace {

struct ChainProto {
  const char* name;
  uint16_t num;
};

// libxtables 1.8.9 xtables_chain_protos, in its order (the first of a number wins).
constexpr ChainProto kChainProtos[] = {
    {"tcp", 6},        {"sctp", 132},    {"udp", 17},       {"udplite", 136},
    {"icmp", 1},       {"icmpv6", 58},   {"ipv6-icmp", 58}, {"esp", 50},
    {"ah", 51},        {"ipv6-mh", 135}, {"mh", 135},       {"all", 0},
};

// Debian netbase /etc/protocols (name number aliases…), used only when the file is absent.
constexpr const char kNetbase[] =
    "ip 0 IP;hopopt 0 HOPOPT;icmp 1 ICMP;igmp 2 IGMP;ggp 3 GGP;ipencap 4 IP-ENCAP;st 5 ST;tcp 6 TCP;"
    "egp 8 EGP;igp 9 IGP;pup 12 PUP;udp 17 UDP;hmp 20 HMP;xns-idp 22 XNS-IDP;rdp 27 RDP;"
    "iso-tp4 29 ISO-TP4;dccp 33 DCCP;xtp 36 XTP;ddp 37 DDP;idpr-cmtp 38 IDPR-CMTP;ipv6 41 IPv6;"
    "ipv6-route 43 IPv6-Route;ipv6-frag 44 IPv6-Frag;idrp 45 IDRP;rsvp 46 RSVP;gre 47 GRE;"
    "esp 50 IPSEC-ESP;ah 51 IPSEC-AH;skip 57 SKIP;ipv6-icmp 58 IPv6-ICMP;ipv6-nonxt 59 IPv6-NoNxt;"
    "ipv6-opts 60 IPv6-Opts;rspf 73 RSPF CPHB;vmtp 81 VMTP;eigrp 88 EIGRP;ospf 89 OSPFIGP;"
    "ax.25 93 AX.25;ipip 94 IPIP;etherip 97 ETHERIP;encap 98 ENCAP;pim 103 PIM;ipcomp 108 IPCOMP;"
    "vrrp 112 VRRP;l2tp 115 L2TP;isis 124 ISIS;sctp 132 SCTP;fc 133 FC;"
    "mobility-header 135 Mobility-Header;udplite 136 UDPLite;mpls-in-ip 137 MPLS-in-IP;manet 138;"
    "hip 139 HIP;shim6 140 Shim6;wesp 141 WESP;rohc 142 ROHC;ethernet 143 Ethernet;mptcp 262 MPTCP";

struct ProtocolDb {
  std::unordered_map<std::string, uint32_t> by_name;    // names and aliases
  std::unordered_map<uint32_t, std::string> by_number;  // the entry's own name
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// One line of the protocols(5) format: "name number [aliases…] [# comment]". A line whose
// number is not decimal is skipped, as glibc's parser skips it.
void add_line(std::string_view line, ProtocolDb& db) {
  size_t hash = line.find('#');
  if (hash != std::string_view::npos) line = line.substr(0, hash);
  std::string_view words[64];
  size_t n = 0;
  size_t i = 0;
  while (i < line.size() && n < 64) {
    while (i < line.size() && is_blank(line[i])) i++;
    size_t start = i;
    while (i < line.size() && !is_blank(line[i])) i++;
    if (i > start) words[n++] = line.substr(start, i - start);
  }
  if (n < 2 || words[1].size() > 9) return;
  uint32_t num = 0;
  for (char c : words[1]) {
    if (c < '0' || c > '9') return;
    num = num * 10 + static_cast<uint32_t>(c - '0');
  }
  // getprotobyname/-bynumber return the first entry in file order.
  for (size_t k = 0; k < n; k++) {
    if (k == 1) continue;
    db.by_name.emplace(std::string(words[k]), num);
  }
  db.by_number.emplace(num, std::string(words[0]));
}

void add_text(std::string_view text, char sep, ProtocolDb& db) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(sep, pos);
    if (end == std::string_view::npos) end = text.size();
    add_line(text.substr(pos, end - pos), db);
    pos = end + 1;
  }
}

ProtocolDb load() {
  ProtocolDb db;
  std::string text;
  bool read = false;
  if (FILE* f = std::fopen("/etc/protocols", "re")) {
    char buf[4096];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, got);
    read = !std::ferror(f);
    std::fclose(f);
  }
  if (read) add_text(text, '\n', db);
  else add_text(kNetbase, ';', db);
  return db;
}

const ProtocolDb& db() {
  static const ProtocolDb instance = load();  // read once; never written after
  return instance;
}

std::string lowered(std::string_view text) {
  // iptables lowers `-p` in place (tolower in the C locale: ASCII letters only).
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The process-lifetime spelling of a protocol name the user wrote, or nullptr.
const char* stored_name(const std::string& lower) {
  auto it = db().by_name.find(lower);
  if (it != db().by_name.end()) return it->first.c_str();
  for (const ChainProto& p : kChainProtos) {
    if (lower == p.name) return p.name;
  }
  return nullptr;
}

}  // namespace

int getprotobyname_number(std::string_view name) {
  auto it = db().by_name.find(std::string(name));
  return it == db().by_name.end() ? -1 : static_cast<int>(it->second);
}

int chain_proto_number(std::string_view name) {
  for (const ChainProto& p : kChainProtos) {
    if (name == p.name) return p.num;
  }
  return -1;
}

bool parse_protocol(std::string_view text, Family, uint16_t& out, ParseError& err) {
  std::string lower = lowered(text);
  uint64_t n = 0;
  if (strtoui(lower, 255, n)) {
    out = static_cast<uint16_t>(n);
    return true;
  }
  // "all" before the database, as xtables_parse_protocol does (no NSS lookup for it).
  if (lower == "all") {
    out = 0;
    return true;
  }
  int num = getprotobyname_number(lower);
  if (num < 0 || num > 255) num = chain_proto_number(lower);
  if (num >= 0) {
    out = static_cast<uint16_t>(num);
    return true;
  }
  err.message = "unknown protocol \"" + lower + "\" specified";
  err.token = std::string(text);
  err.expected = "a protocol name or number 0-255";
  return false;
}

const char* protocol_name(uint16_t num) {
  if (num != 0) {
    auto it = db().by_number.find(num);
    if (it != db().by_number.end()) return it->second.c_str();
  }
  for (const ChainProto& p : kChainProtos) {
    if (p.num == num) return p.name;
  }
  return nullptr;
}

std::string protocol_text(uint16_t num) {
  if (const char* name = protocol_name(num)) return name;
  return std::to_string(num);
}

std::vector<const char*> implicit_match_names(std::string_view text, Family family) {
  std::string lower = lowered(text);
  uint64_t n = 0;
  const char* name = strtoui(lower, 255, n) ? protocol_name(static_cast<uint16_t>(n)) : stored_name(lower);
  std::string_view v = name ? std::string_view(name) : std::string_view(lower);
  if (family == Family::ipv6 && (v == "icmpv6" || v == "ipv6-icmp" || v == "icmp6")) {
    return {"icmp6", "icmpv6", "ipv6-icmp"};
  }
  if (!name) return {};
  return {name};
}

bool is_ipv6_extension_header(uint16_t num) { return num == 0 || num == 43 || num == 44 || num == 51 || num == 60; }

}  // namespace dialect
}  // namespace iptkit
