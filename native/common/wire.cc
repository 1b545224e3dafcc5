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

// The bytes docs/wire.md escapes: < 0x21, '%', '=', >= 0x7f. One table load per byte.
struct EscapeTable {
  bool v[256];
  constexpr EscapeTable() : v() {
    for (int c = 0; c < 256; c++) v[c] = c < 0x21 || c >= 0x7f || c == '%' || c == '=';
  }
};
constexpr EscapeTable kEscape;

inline bool needs_escape(unsigned char c) { return kEscape.v[c]; }

// Writes `\tkey=` at p (the caller has room) and returns the end.
inline char* put_key(char* p, std::string_view key) {
  *p++ = '\t';
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = '=';
  return p;
}

// Dotted decimal without leading zeros, as inet_ntop writes IPv4 (glibc formats it with
// sprintf: most of the cost of reading an address).
inline char* put_ipv4(char* p, const void* addr) {
  const auto* b = static_cast<const unsigned char*>(addr);
  for (int i = 0; i < 4; i++) {
    if (i) *p++ = '.';
    unsigned v = b[i];
    if (v >= 100) {
      *p++ = static_cast<char>('0' + v / 100);
      *p++ = static_cast<char>('0' + v / 10 % 10);
    } else if (v >= 10) {
      *p++ = static_cast<char>('0' + v / 10);
    }
    *p++ = static_cast<char>('0' + v % 10);
  }
  return p;
}

// Keys are short identifiers; a field whose key and value fit here is appended in one go.
constexpr size_t kFieldBuf = 128;
constexpr size_t kMaxFastKey = 48;
}  // namespace

char* wire_put_ipv4(char* p, const void* addr) { return put_ipv4(p, addr); }

char* wire_escape_to(char* p, std::string_view value) {
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (needs_escape(c)) {
      *p++ = '%';
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 15];
    } else {
      *p++ = ch;
    }
  }
  return p;
}

void wire_escape(std::string& out, std::string_view value) {
  // Most values (chain names, numbers, addresses) need no escape: append them in runs.
  const auto* v = reinterpret_cast<const unsigned char*>(value.data());
  size_t n = value.size(), i = 0;
  while (i < n && !needs_escape(v[i])) i++;
  if (i == n) {
    out.append(value.data(), n);
    return;
  }
  size_t run = 0;
  for (; i < n; i++) {
    unsigned char c = v[i];
    if (needs_escape(c)) {
      out.append(value.data() + run, i - run);
      char esc[3] = {'%', kHex[c >> 4], kHex[c & 15]};
      out.append(esc, 3);
      run = i + 1;
    }
  }
  out.append(value.data() + run, n - run);
}

bool wire_unescape(std::string_view in, std::string& out) {
  const char* pct = static_cast<const char*>(std::memchr(in.data(), '%', in.size()));
  if (!pct) {  // nearly every value: nothing to decode
    // Reused strings mostly get a value of the length they hold (ports, addresses of one
    // field): overwrite it without going through assign.
    if (out.size() == in.size()) {
      if (!in.empty()) std::memcpy(&out[0], in.data(), in.size());
    } else {
      out.assign(in.data(), in.size());
    }
    return true;
  }
  out.assign(in.data(), static_cast<size_t>(pct - in.data()));
  for (size_t i = static_cast<size_t>(pct - in.data()); i < in.size(); i++) {
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
  // Lines of one shape repeat (every rule has the same match and target lines), so a line's
  // words and fields are decoded into the strings the previous line of this WireLine left:
  // while the keys match, only the values are rewritten. Fields is this file's class; its
  // vector is not const, only handed out as such.
  auto& kv = const_cast<std::vector<std::pair<std::string, std::string>>&>(out.fields.all());
  size_t nwords = 0, nfields = 0;
  size_t pos = 0;
  bool first = true;
  auto cut = [&] {
    out.words.resize(nwords);
    kv.resize(nfields);
  };
  while (pos <= line.size()) {
    const char* t = static_cast<const char*>(std::memchr(line.data() + pos, '\t', line.size() - pos));
    size_t tab = t ? static_cast<size_t>(t - line.data()) : line.size();
    std::string_view field = line.substr(pos, tab - pos);
    if (first) {
      if (std::string_view(out.kind) != field) out.kind.assign(field.data(), field.size());
      first = false;
    } else {
      const char* e = static_cast<const char*>(std::memchr(field.data(), '=', field.size()));
      if (!e) {
        if (nwords == out.words.size()) out.words.emplace_back();
        if (!wire_unescape(field, out.words[nwords])) {
          cut();
          err = "bad escape in wire word '" + std::string(field) + "'";
          return false;
        }
        nwords++;
      } else {
        size_t eq = static_cast<size_t>(e - field.data());
        std::string_view key = field.substr(0, eq);
        if (nfields < kv.size() && std::string_view(kv[nfields].first) != key) kv.resize(nfields);
        if (nfields == kv.size()) kv.emplace_back(std::string(key), std::string());
        if (!wire_unescape(field.substr(eq + 1), kv[nfields].second)) {
          cut();
          err = "bad escape in wire field '" + std::string(field) + "'";
          return false;
        }
        nfields++;
      }
    }
    pos = tab + 1;
  }
  cut();
  return true;
}

// ---- Fields / FieldWriter / getters (declared in ext/codec.h) ----

const std::string* Fields::find(std::string_view key) const {
  for (const auto& kv : kv_) {
    if (kv.first.size() == key.size() && std::memcmp(kv.first.data(), key.data(), key.size()) == 0) return &kv.second;
  }
  return nullptr;
}

void FieldWriter::str(std::string_view key, std::string_view value) {
  if (key.size() <= kMaxFastKey && value.size() <= kFieldBuf - kMaxFastKey - 2) {
    const auto* v = reinterpret_cast<const unsigned char*>(value.data());
    size_t i = 0;
    while (i < value.size() && !needs_escape(v[i])) i++;
    if (i == value.size()) {
      char buf[kFieldBuf];
      char* p = put_key(buf, key);
      std::memcpy(p, value.data(), value.size());
      p += value.size();
      out_.append(buf, static_cast<size_t>(p - buf));
      return;
    }
  }
  out_ += '\t';
  out_.append(key);
  out_ += '=';
  wire_escape(out_, value);
}

// Numbers are written with to_chars: no temporary string and no locale, once per field of
// every rule read; the whole `\tkey=value` goes in with one append.
void FieldWriter::u64(std::string_view key, uint64_t value) {
  if (key.size() <= kMaxFastKey) {
    char buf[kFieldBuf];
    char* p = put_key(buf, key);
    p = std::to_chars(p, buf + sizeof buf, value).ptr;
    out_.append(buf, static_cast<size_t>(p - buf));
    return;
  }
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_ += '\t';
  out_.append(key);
  out_ += '=';
  out_.append(buf, r.ptr);
}

void FieldWriter::hex(std::string_view key, uint64_t value) {
  if (key.size() <= kMaxFastKey) {
    char buf[kFieldBuf];
    char* p = put_key(buf, key);
    *p++ = '0';
    *p++ = 'x';
    p = std::to_chars(p, buf + sizeof buf, value, 16).ptr;
    out_.append(buf, static_cast<size_t>(p - buf));
    return;
  }
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
  size_t start = out_.size();
  out_.resize(start + 2 * len);
  char* o = &out_[start];
  for (size_t i = 0; i < len; i++) {
    o[2 * i] = kHex[p[i] >> 4];
    o[2 * i + 1] = kHex[p[i] & 15];
  }
}

void FieldWriter::inet(std::string_view key, Family family, const void* addr) {
  if (family != Family::ipv6 && key.size() <= kMaxFastKey) {
    char buf[kFieldBuf];
    char* p = put_ipv4(put_key(buf, key), addr);
    out_.append(buf, static_cast<size_t>(p - buf));
    return;
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == Family::ipv6 ? AF_INET6 : AF_INET, addr, buf, sizeof buf);
  str(key, buf);
}

bool wire_get_u64(std::string_view key, std::string_view s, uint64_t max, uint64_t& out, std::string& err) {
  if (s.empty()) {
    err = std::string(key) + " is empty";
    return false;
  }
  // Plain decimal (nearly every value) is parsed here; anything else (0x…, and what strtoull
  // also takes: leading blanks, '+') goes through strtoull as it always did.
  if (s.size() <= 19) {  // 19 digits cannot overflow 64 bits
    uint64_t n = 0;
    bool digits = true;
    for (char c : s) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (digits) {
      if (n > max) {
        err = std::string(key) + "=" + std::string(s) + " is not a number in 0.." + std::to_string(max);
        return false;
      }
      out = n;
      return true;
    }
  }
  std::string str(s);
  errno = 0;
  char* end = nullptr;
  unsigned long long n = strtoull(str.c_str(), &end, str.rfind("0x", 0) == 0 ? 16 : 10);
  if (errno != 0 || *end != '\0' || str[0] == '-' || n > max) {
    err = std::string(key) + "=" + str + " is not a number in 0.." + std::to_string(max);
    return false;
  }
  out = n;
  return true;
}

bool get_u64(const Fields& f, std::string_view key, uint64_t max, uint64_t& out, std::string& err) {
  const std::string* v = f.find(key);
  if (!v) return true;
  return wire_get_u64(key, *v, max, out, err);
}

bool wire_plain_ipv4(std::string_view s, unsigned char* out) {
  size_t i = 0;
  unsigned char b[4];
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      i++;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    size_t n = i - start;
    if (n == 0 || v > 255 || (n > 1 && s[start] == '0')) return false;
    b[part] = static_cast<unsigned char>(v);
  }
  if (i != s.size()) return false;
  std::memcpy(out, b, 4);
  return true;
}

bool get_inet(const Fields& f, std::string_view key, Family family, void* addr, std::string& err) {
  const std::string* v = f.find(key);
  if (!v) return true;
  if (family != Family::ipv6 && wire_plain_ipv4(*v, static_cast<unsigned char*>(addr))) return true;
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
