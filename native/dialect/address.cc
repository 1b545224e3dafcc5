// -s/-d and -i/-o as iptables 1.8.9 reads them, libxtables' numeric address forms, and the
// save / -L text of an address (see address.h). A port of src/rules/address.ts onto the
// kernel's raw bytes; the numeric host look-up is libc's (getaddrinfo without DNS).
#include "address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace iptkit {
namespace dialect {
namespace {

const char* family_word(Family family) { return family == Family::ipv4 ? "IPv4" : "IPv6"; }

// -s/-d's address or mask: numeric_to_ipaddr / numeric_to_ip6addr, but a NUL is refused
// rather than ending the text, so the kernel never gets another address than the one written.
bool parse_addr(std::string_view text, Family family, bool is_mask, uint8_t* out) {
  if (text.find('\0') != std::string_view::npos) return false;
  return family == Family::ipv4 ? numeric_to_ipaddr(text, out, is_mask) : numeric_to_ip6addr(text, out);
}

// What no numeric address holds: a letter past 'f' or '_' (and, in IPv4, any letter unless
// the text starts as a 0x number). Decides between "is a name" and "is not valid".
bool looks_like_name(std::string_view text, Family family) {
  bool hex_letter = false;
  for (char c : text) {
    if ((c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '_') return true;
    if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) hex_letter = true;
  }
  bool hex_number = text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  return family == Family::ipv4 && hex_letter && !hex_number;
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i]) return false;
  }
  return true;
}

void fail(ParseError& err, std::string message, std::string_view token, const char* expected) {
  err.message = std::move(message);
  err.token = std::string(token);
  err.expected = expected;
}

}  // namespace

bool numeric_to_ipaddr(std::string_view text, void* addr4, bool is_mask) {
  std::string_view buf = text.substr(0, 19);
  buf = buf.substr(0, buf.find('\0'));  // a NUL inside ends the text, as in C
  unsigned char bytes[4] = {0, 0, 0, 0};
  size_t pos = 0;
  for (int i = 0; i < 4; i++) {
    size_t dot = i < 3 ? buf.find('.', pos) : std::string_view::npos;
    if (dot == std::string_view::npos && i < 3 && is_mask) return false;  // a mask has all four parts
    std::string_view part = buf.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    uint64_t v = 0;
    if (!strtoui(part, 255, v)) return false;
    bytes[i] = static_cast<unsigned char>(v);
    if (dot == std::string_view::npos) break;  // "autocomplete, this is a network address"
    pos = dot + 1;
  }
  std::memcpy(addr4, bytes, 4);
  return true;
}

bool numeric_to_ip6addr(std::string_view text, void* addr16) {
  std::string s(text);
  return inet_pton(AF_INET6, s.c_str(), addr16) == 1;
}

bool numeric_host(std::string_view text, Family family, void* addr) {
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

int mask_to_prefix(Family family, const void* mask_bytes) {
  const uint8_t* mask = static_cast<const uint8_t*>(mask_bytes);
  size_t n = address_size(family);
  int bits = 0;
  size_t i = 0;
  for (; i < n && mask[i] == 0xff; i++) bits += 8;
  if (i < n) {
    unsigned m = mask[i];
    int k = 0;
    while (k < 8 && (m & (0x80u >> k))) k++;
    if (m & (0xffu >> k)) return -1;
    bits += k;
    for (i++; i < n; i++) {
      if (mask[i]) return -1;
    }
  }
  return bits;
}

void prefix_to_mask(Family family, unsigned bits, uint8_t* mask) {
  size_t n = address_size(family);
  for (size_t i = 0; i < n; i++) {
    unsigned left = bits > i * 8 ? static_cast<unsigned>(bits - i * 8) : 0;
    if (left > 8) left = 8;
    mask[i] = static_cast<uint8_t>((0xff00u >> left) & 0xff);
  }
}

bool parse_address(std::string_view text, Family family, uint8_t* addr, uint8_t* mask, ParseError& err) {
  const bool v4 = family == Family::ipv4;
  const size_t size = address_size(family);
  if (text.find(',') != std::string_view::npos) {
    // iptables would add one rule per address; a rule here is one kernel rule.
    fail(err, "address lists are not supported (iptables would add one rule per address): `" + std::string(text) + "'",
         text, "one address");
    return false;
  }
  size_t slash = text.rfind('/');
  std::string_view addr_text = slash == std::string_view::npos ? text : text.substr(0, slash);
  uint8_t m[16];
  if (slash == std::string_view::npos) {
    prefix_to_mask(family, static_cast<unsigned>(size * 8), m);
  } else {
    std::string_view mask_text = text.substr(slash + 1);
    bool ok;
    if (mask_text.find(v4 ? '.' : ':') != std::string_view::npos) {
      ok = parse_addr(mask_text, family, true, m);
    } else {
      uint64_t bits = 0;
      ok = strtoui(mask_text, size * 8, bits);
      if (ok) prefix_to_mask(family, static_cast<unsigned>(bits), m);
    }
    if (!ok) {
      fail(err, "invalid mask `" + std::string(mask_text) + "' specified", text,
           v4 ? "a prefix length 0-32 or a dotted mask" : "a prefix length 0-128 or an IPv6 mask");
      return false;
    }
  }
  // A zero mask matches everything: iptables does not even look at the address then.
  if (all_zero(m, size)) {
    std::memset(addr, 0, size);
    std::memcpy(mask, m, size);
    return true;
  }
  uint8_t a[16];
  if (!parse_addr(addr_text, family, false, a)) {
    std::string msg = "host/network `" + std::string(addr_text) + "' ";
    if (looks_like_name(addr_text, family)) {
      msg += "is a name: iptkit does no DNS, give a numeric ";
      msg += family_word(family);
      msg += " address";
    } else {
      msg += "is not a valid ";
      msg += family_word(family);
      msg += " address";
    }
    fail(err, std::move(msg), text, v4 ? "an IPv4 address like 10.0.0.0/8" : "an IPv6 address like fd00::/64");
    return false;
  }
  for (size_t i = 0; i < size; i++) addr[i] = a[i] & m[i];
  std::memcpy(mask, m, size);
  return true;
}

bool parse_interface(std::string_view text, char* name, unsigned char* mask, ParseError& err) {
  if (text.empty()) {
    fail(err, "Empty interface is likely to be undesired", text, "an interface name");
    return false;
  }
  if (text.size() >= kIfNameSize) {
    fail(err, "interface name `" + std::string(text) + "' must be shorter than IFNAMSIZ (" +
                  std::to_string(kIfNameSize - 1) + ")",
         text, "at most 15 bytes");
    return false;
  }
  if (text.find('\0') != std::string_view::npos) {
    // strcpy would stop there: the kernel would get another name than the one written.
    fail(err, "interface name holds a NUL byte", text, "an interface name");
    return false;
  }
  std::memset(name, 0, kIfNameSize);
  std::memset(mask, 0, kIfNameSize);
  std::memcpy(name, text.data(), text.size());
  if (text.back() == '+') {
    std::memset(mask, 0xff, text.size() - 1);  // the '+' stays in the name, as iptables keeps it
  } else {
    std::memset(mask, 0xff, text.size() + 1);  // the NUL too: "eth0" is not "eth00"
  }
  return true;
}

void format_address(Family family, const void* addr, std::string& out) {
  const uint8_t* b = static_cast<const uint8_t*>(addr);
  if (family == Family::ipv4) {
    char buf[16];  // "255.255.255.255"
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
      if (i) buf[n++] = '.';
      unsigned v = b[i];
      if (v >= 100) buf[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) buf[n++] = static_cast<char>('0' + v / 10 % 10);
      buf[n++] = static_cast<char>('0' + v % 10);
    }
    out.append(buf, n);
    return;
  }
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, b, buf, sizeof buf)) out += buf;
}

void format_mask(Family family, const void* mask, std::string& out) {
  int bits = mask_to_prefix(family, mask);
  if (bits == static_cast<int>(address_size(family) * 8)) return;  // "we don't want to see /32"
  out += '/';
  if (bits >= 0) append_u64(out, static_cast<uint64_t>(bits));
  else format_address(family, mask, out);
}

void format_address_save(Family family, const uint8_t* addr, const uint8_t* mask, std::string& out) {
  format_address(family, addr, out);
  out += '/';
  int bits = mask_to_prefix(family, mask);
  if (bits >= 0) append_u64(out, static_cast<uint64_t>(bits));
  else format_address(family, mask, out);
}

void format_address_list(Family family, const uint8_t* addr, const uint8_t* mask, bool numeric, std::string& out) {
  const size_t size = address_size(family);
  if (!numeric && all_zero(mask, size)) {
    out += "anywhere";
    return;
  }
  // Without -n iptables would look up a host or network name here; iptkit prints the number.
  format_address(family, addr, out);
  format_mask(family, mask, out);
}

bool format_interface_save(const char* name, const unsigned char* mask, bool invert, std::string& out) {
  if (mask[0] == 0) {
    if (!invert) return false;
    out += '+';
    return true;
  }
  char buf[kIfNameSize + 1];
  size_t n = 0;
  for (size_t i = 0; i < kIfNameSize; i++) {
    if (mask[i] != 0) {
      if (name[i] != '\0') buf[n++] = name[i];
    } else {
      // mask[0] != 0, so i >= 1 here.
      if (name[i - 1] != '\0') buf[n++] = '+';
      break;
    }
  }
  out.append(buf, n);
  return true;
}

}  // namespace dialect
}  // namespace iptkit
