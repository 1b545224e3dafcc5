#include "wire.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace iptkit {

namespace {
const char kHex[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

void wire_escape(std::string& out, std::string_view value) {
  // Most values (chain names, numbers, addresses) need no escape: append them in runs.
  size_t run = 0;
  for (size_t i = 0; i < value.size(); i++) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x21 || c >= 0x7f || c == '%' || c == '=') {
      out.append(value.data() + run, i - run);
      char esc[3] = {'%', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, 3);
      run = i + 1;
    }
  }
  out.append(value.data() + run, value.size() - run);
}

bool wire_unescape(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i++) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

bool wire_parse_line(std::string_view line, WireLine& out, std::string& err) {
  out.kind.clear();
  out.words.clear();
  out.fields.clear();
  size_t pos = 0;
  bool first = true;
  std::string value;
  while (pos <= line.size()) {
    size_t tab = line.find('\t', pos);
    if (tab == std::string_view::npos) tab = line.size();
    std::string_view field = line.substr(pos, tab - pos);
    if (first) {
      out.kind.assign(field);
      first = false;
    } else {
      size_t eq = field.find('=');
      if (eq == std::string_view::npos) {
        if (!wire_unescape(field, value)) {
          err = "bad escape in wire word '" + std::string(field) + "'";
          return false;
        }
        out.words.push_back(value);
      } else {
        if (!wire_unescape(field.substr(eq + 1), value)) {
          err = "bad escape in wire field '" + std::string(field) + "'";
          return false;
        }
        out.fields.add(std::string(field.substr(0, eq)), value);
      }
    }
    pos = tab + 1;
  }
  return true;
}

// ---- Fields / FieldWriter / getters (declared in ext/codec.h) ----

const std::string* Fields::find(std::string_view key) const {
  for (const auto& kv : kv_) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

void FieldWriter::str(std::string_view key, std::string_view value) {
  out_ += '\t';
  out_.append(key);
  out_ += '=';
  wire_escape(out_, value);
}

// Numbers are written with to_chars: no temporary string and no locale, once per field of
// every rule read.
void FieldWriter::u64(std::string_view key, uint64_t value) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_ += '\t';
  out_.append(key);
  out_ += '=';
  out_.append(buf, r.ptr);
}

void FieldWriter::hex(std::string_view key, uint64_t value) {
  char buf[24] = {'0', 'x'};
  auto r = std::to_chars(buf + 2, buf + sizeof buf, value, 16);
  out_ += '\t';
  out_.append(key);
  out_ += '=';
  out_.append(buf, r.ptr);
}

void FieldWriter::bytes_hex(std::string_view key, const void* data, size_t len) {
  out_ += '\t';
  out_.append(key);
  out_ += '=';
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; i++) {
    out_ += kHex[p[i] >> 4];
    out_ += kHex[p[i] & 15];
  }
}

void FieldWriter::inet(std::string_view key, Family family, const void* addr) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == Family::ipv6 ? AF_INET6 : AF_INET, addr, buf, sizeof buf);
  str(key, buf);
}

bool get_u64(const Fields& f, std::string_view key, uint64_t max, uint64_t& out, std::string& err) {
  const std::string* v = f.find(key);
  if (!v) return true;
  const std::string& s = *v;
  if (s.empty()) {
    err = std::string(key) + " is empty";
    return false;
  }
  errno = 0;
  char* end = nullptr;
  unsigned long long n = strtoull(s.c_str(), &end, s.rfind("0x", 0) == 0 ? 16 : 10);
  if (errno != 0 || *end != '\0' || s[0] == '-' || n > max) {
    err = std::string(key) + "=" + s + " is not a number in 0.." + std::to_string(max);
    return false;
  }
  out = n;
  return true;
}

bool get_inet(const Fields& f, std::string_view key, Family family, void* addr, std::string& err) {
  const std::string* v = f.find(key);
  if (!v) return true;
  if (inet_pton(family == Family::ipv6 ? AF_INET6 : AF_INET, v->c_str(), addr) != 1) {
    err = std::string(key) + "=" + *v + " is not an " + (family == Family::ipv6 ? "IPv6" : "IPv4") + " address";
    return false;
  }
  return true;
}

bool get_hex_bytes(const Fields& f, std::string_view key, void* data, size_t len, std::string& err) {
  const std::string* v = f.find(key);
  if (!v) return true;
  if (v->size() != len * 2) {
    err = std::string(key) + " must be " + std::to_string(len) + " bytes of hex, got " + std::to_string(v->size() / 2);
    return false;
  }
  auto* p = static_cast<unsigned char*>(data);
  for (size_t i = 0; i < len; i++) {
    int hi = hex_value((*v)[2 * i]), lo = hex_value((*v)[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      err = std::string(key) + " is not hex";
      return false;
    }
    p[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

}  // namespace iptkit
