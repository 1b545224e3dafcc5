// Ports, service names and ICMP types for the transport matches (see ports.h).
#include "ports.h"

#include <fstream>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace iptkit {
namespace dialect {
namespace {

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// --- the services file, as glibc's nss "files" source reads it ------------------------------

struct ServicesDb {
  std::unordered_map<std::string, uint16_t> by_name;     // "proto/name" → port
  std::unordered_map<std::string, uint16_t> by_name_any; // name → port (proto NULL)
  std::unordered_map<std::string, std::string> by_port;  // "proto/port" → official name
  std::unordered_map<uint32_t, std::string> by_port_any; // port → official name (proto NULL)
};

std::mutex services_mutex;
constexpr const char kServicesPath[] = "/etc/services";
bool services_loaded = false;
ServicesDb services_db;

std::string port_key(std::string_view proto, uint16_t port) {
  std::string k(proto);
  k += '/';
  append_u64(k, port);
  return k;
}

// One line: NAME PORT/PROTO [ALIAS…], `#` to the end of the line a comment. The port is
// strtoul's, cut to 16 bits (htons), as glibc's parser does; a line it cannot read is skipped.
void load_line(std::string_view line, ServicesDb& db) {
  size_t hash = line.find('#');
  if (hash != std::string_view::npos) line = line.substr(0, hash);
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) i++;
    size_t from = i;
    while (i < line.size() && !is_space(line[i])) i++;
    if (i > from) words.push_back(line.substr(from, i - from));
  }
  if (words.size() < 2) return;
  std::string_view field = words[1];
  size_t k = 0;
  if (k < field.size() && (field[k] == '+' || field[k] == '-')) k++;
  size_t digits = k;
  uint64_t v = 0;
  while (k < field.size() && field[k] >= '0' && field[k] <= '9') v = v * 10 + static_cast<uint64_t>(field[k++] - '0');
  if (k == digits) return;
  if (field[0] == '-') v = 0 - v;
  std::string_view proto;
  if (k < field.size()) {
    if (field[k] != '/') return;
    proto = field.substr(k + 1);
  }
  uint16_t port = static_cast<uint16_t>(v);
  std::string pk = port_key(proto, port);
  if (!db.by_port.count(pk)) db.by_port.emplace(pk, std::string(words[0]));
  if (!db.by_port_any.count(port)) db.by_port_any.emplace(port, std::string(words[0]));
  for (size_t w = 0; w < words.size(); w++) {
    if (w == 1) continue;
    std::string nk(proto);
    nk += '/';
    nk += words[w];
    if (!db.by_name.count(nk)) db.by_name.emplace(std::move(nk), port);
    std::string name(words[w]);
    if (!db.by_name_any.count(name)) db.by_name_any.emplace(std::move(name), port);
  }
}

// Under services_mutex.
const ServicesDb& services() {
  if (services_loaded) return services_db;
  services_db = ServicesDb{};
  std::ifstream in(kServicesPath);  // no file: every port prints as its number
  std::string line;
  while (std::getline(in, line)) load_line(line, services_db);
  services_loaded = true;
  return services_db;
}

}  // namespace

// getaddrinfo(NULL, text, NULL) as xtables_getportbyname uses it: a decimal service
// (strtoul base 10, the whole string) is taken as an int and cut to 16 bits; anything else,
// or a number that turns negative as an int, is a service name looked up for each transport
// protocol in glibc's order, the first that knows it giving the port.
bool xtables_getportbyname(std::string_view text, uint16_t& port) {
  size_t i = 0;
  while (i < text.size() && is_space(text[i])) i++;
  bool neg = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
  size_t digits = i;
  uint64_t v = 0;
  bool overflow = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (v > (UINT64_MAX - d) / 10) overflow = true;
    else v = v * 10 + d;
  }
  if (i > digits && i == text.size()) {
    if (overflow) v = UINT64_MAX;  // ERANGE: ULONG_MAX, whatever the sign
    else if (neg) v = 0 - v;
    int32_t num = static_cast<int32_t>(static_cast<uint32_t>(v));
    if (num >= 0) {
      port = static_cast<uint16_t>(num);
      return true;
    }
  }
  for (const char* proto : {"tcp", "udp", "dccp", "udplite", "sctp"}) {
    if (service_to_port(text, proto, port)) return true;
  }
  return false;
}

bool service_to_port(std::string_view name, const char* proto, uint16_t& port) {
  std::lock_guard<std::mutex> lock(services_mutex);
  const ServicesDb& db = services();
  const auto& table = proto ? db.by_name : db.by_name_any;
  std::string key;
  if (proto) {
    key = proto;
    key += '/';
  }
  key += name;
  auto it = table.find(key);
  if (it == table.end()) return false;
  port = it->second;
  return true;
}

bool port_to_service(uint16_t port, const char* proto, std::string& name) {
  std::lock_guard<std::mutex> lock(services_mutex);
  const ServicesDb& db = services();
  if (!proto) {
    auto it = db.by_port_any.find(port);
    if (it == db.by_port_any.end()) return false;
    name = it->second;
    return true;
  }
  auto it = db.by_port.find(port_key(proto, port));
  if (it == db.by_port.end()) return false;
  name = it->second;
  return true;
}

bool require_protocol(const ParseCtx& ctx, uint16_t proto, const char* module, const char* proto_name) {
  if (!ctx.makes_rule || (ctx.protocol == proto && !ctx.protocol_invert)) return true;
  return ctx.fail(std::string("-m ") + module + " needs -p " + proto_name + ": the kernel refuses the " + module +
                      " match on any other protocol (iptables reports \"Invalid argument\")",
                  std::string("-m ") + module, std::string("-p ") + proto_name);
}

bool parse_port(std::string_view text, const char* proto, const ParseCtx& ctx, const std::string& token,
                uint16_t& port) {
  uint64_t n = 0;
  if (xtables_strtoul(text, 0, 0xffff, n)) {
    port = static_cast<uint16_t>(n);
    return true;
  }
  if (proto && service_to_port(text, proto, port)) return true;
  return ctx.fail("invalid port/service `" + std::string(text) + "' specified", token,
                  "a port number 0-65535 or a service name");
}

bool parse_port_range(std::string_view text, const char* proto, const ParseCtx& ctx, const std::string& token,
                      uint16_t range[2]) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    if (!parse_port(text, proto, ctx, token, range[0])) return false;
    range[1] = range[0];
    return true;
  }
  std::string_view lo = text.substr(0, colon), hi = text.substr(colon + 1);
  range[0] = 0;
  range[1] = 0xffff;
  if (!lo.empty() && !parse_port(lo, proto, ctx, token, range[0])) return false;
  if (!hi.empty() && !parse_port(hi, proto, ctx, token, range[1])) return false;
  if (range[0] > range[1]) {
    return ctx.fail("invalid portrange (min > max)", token, "a range LO:HI with LO ≤ HI, got " + std::string(text));
  }
  return true;
}

bool parse_port_range_any(std::string_view text, const char* module, const char* option, const ParseCtx& ctx,
                          const std::string& token, uint16_t range[2]) {
  size_t n = 0, pos = 0;
  for (;;) {
    size_t colon = text.find(':', pos);
    std::string_view part = text.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos);
    if (n == 2) {
      return ctx.fail(std::string(module) + ": Too many components for option \"--" + option + "\" (max: 2)", token,
                      "a port or a range LO:HI");
    }
    uint16_t port = 0;
    if (part.empty()) {
      port = n == 0 ? 0 : 0xffff;
    } else if (!xtables_getportbyname(part, port)) {
      return ctx.fail("Port \"" + std::string(part) + "\" does not resolve to anything.", token,
                      "a port number or a service name");
    }
    range[n++] = port;
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }
  if (n == 1) range[1] = range[0];
  return true;
}

void append_port(std::string& out, uint16_t port, const char* proto, bool numeric) {
  std::string name;
  if (!numeric && port_to_service(port, proto, name)) out += name;
  else append_u64(out, port);
}

void save_port_range(std::string& out, const char* option, const uint16_t range[2], bool invert) {
  // iptables-save drops `! --dport 0:65535` (a match of nothing) along with the `!`; canonical
  // text is a rule's identity, so it keeps it.
  if (range[0] == 0 && range[1] == 0xffff && !invert) return;
  if (invert) out += " !";
  out += " --";
  out += option;
  out += ' ';
  append_u64(out, range[0]);
  if (range[0] != range[1]) {
    out += ':';
    append_u64(out, range[1]);
  }
}

void list_port_range(std::string& out, const char* name, const uint16_t range[2], bool invert, const char* proto,
                     bool numeric) {
  if (range[0] == 0 && range[1] == 0xffff && !invert) return;
  out += ' ';
  out += name;
  if (range[0] == range[1]) {
    out += invert ? ":!" : ":";
    append_port(out, range[0], proto, numeric);
  } else {
    out += invert ? "s:!" : "s:";
    append_port(out, range[0], proto, numeric);
    out += ':';
    append_port(out, range[1], proto, numeric);
  }
}

bool parse_icmp_type(std::string_view text, const IcmpName* names, size_t count, const char* label,
                     const ParseCtx& ctx, const std::string& token, uint8_t& type, uint8_t code[2]) {
  const std::string shown(text);
  // A name the text begins (strncasecmp over the text's length: "" begins every name).
  size_t match = count;
  for (size_t i = 0; i < count; i++) {
    std::string_view name = names[i].name;
    if (text.size() > name.size()) continue;
    bool prefix = true;
    for (size_t k = 0; k < text.size() && prefix; k++) prefix = lower(text[k]) == lower(name[k]);
    if (!prefix) continue;
    if (match != count) {
      return ctx.fail(std::string("Ambiguous ") + label + " type `" + shown + "': `" + names[match].name + "' or `" +
                          names[i].name + "'?",
                      token, std::string("one ") + label + " type");
    }
    match = i;
  }
  if (match != count) {
    type = names[match].type;
    code[0] = names[match].code_min;
    code[1] = names[match].code_max;
    return true;
  }
  // N or N:M (parse_range); `next` is where the numbers stopped.
  auto range = [&](size_t from, uint64_t r[2], size_t& next) {
    size_t used = 0;
    if (!xtables_strtoul(text.substr(from), 0, 255, r[0], &used)) return false;
    r[1] = r[0];
    next = from + used;
    if (next < text.size() && text[next] == ':') {
      if (!xtables_strtoul(text.substr(next + 1), 0, 255, r[1], &used)) return false;
      next = next + 1 + used;
    }
    return true;
  };
  uint64_t types[2], codes[2] = {0, 255};
  size_t next = 0;
  if (!range(0, types, next)) {
    return ctx.fail(std::string("Unknown ") + label + " type `" + shown + "'", token,
                    std::string("an ") + label + " type name or TYPE[/CODE] with numbers 0-255");
  }
  if (next < text.size() && text[next] == '/') {
    if (!range(next + 1, codes, next)) {
      return ctx.fail(std::string("Unknown ") + label + " code `" + shown + "'", token, "a code 0-255");
    }
  }
  if (next < text.size()) {
    return ctx.fail(std::string("unknown character ") + text[next], token,
                    std::string("an ") + label + " type name or TYPE[/CODE]");
  }
  if (types[0] != types[1]) {
    return ctx.fail(std::string(label) + " type range not supported", token, std::string("one ") + label + " type");
  }
  type = static_cast<uint8_t>(types[0]);
  code[0] = static_cast<uint8_t>(codes[0]);
  code[1] = static_cast<uint8_t>(codes[1]);
  return true;
}

void list_icmp_type(std::string& out, const char* prefix, const IcmpName* names, size_t count, uint8_t type,
                    const uint8_t code[2], bool invert, bool numeric) {
  out += prefix;
  if (!numeric) {
    for (size_t i = 0; i < count; i++) {
      if (names[i].type == type && names[i].code_min == code[0] && names[i].code_max == code[1]) {
        out += invert ? " !" : " ";
        out += names[i].name;
        return;
      }
    }
  }
  if (invert) out += " !";
  out += "type ";
  append_u64(out, type);
  if (code[0] == code[1]) {
    out += " code ";
    append_u64(out, code[0]);
  } else if (code[0] != 0 || code[1] != 0xff) {
    out += " codes ";
    append_u64(out, code[0]);
    out += '-';
    append_u64(out, code[1]);
  }
}

}  // namespace dialect
}  // namespace iptkit
