// The line format of docs/wire.md on the C++ side: escaping, splitting a line into its
// record kind, positional words and key=value fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../ext/codec.h"

namespace iptkit {

// Appends `value` escaped (%XX for bytes < 0x21, '%', '=', and >= 0x7f).
void wire_escape(std::string& out, std::string_view value);
// Writes `value` escaped at p (room for 3 * value.size() bytes); returns the end.
char* wire_escape_to(char* p, std::string_view value);
// The dotted quads inet_pton(AF_INET) certainly accepts (four parts of 1-3 digits, each at
// most 255, no leading zero), into the same 4 bytes; false for anything else (which the
// caller then gives to inet_pton: glibc formats and parses IPv4 slowly).
bool wire_plain_ipv4(std::string_view s, unsigned char* out);
// Writes an IPv4 address in inet_ntop's dotted decimal at p (room for 15 bytes); returns the end.
char* wire_put_ipv4(char* p, const void* addr);
// False on a malformed %XX sequence.
bool wire_unescape(std::string_view in, std::string& out);

struct WireLine {
  std::string kind;                 // first field: "chain", "rule", "match", …
  std::vector<std::string> words;   // positional fields (no '='), unescaped
  Fields fields;                    // key=value fields, unescaped
};

// get_u64 (ext/codec.h) on a value at hand: the same accepted forms, result and messages.
bool wire_get_u64(std::string_view key, std::string_view value, uint64_t max, uint64_t& out, std::string& err);

// Splits one line (without its '\n'). False and `err` on bad escaping.
bool wire_parse_line(std::string_view line, WireLine& out, std::string& err);

// Calls `fn(line)` for each non-empty line of `text`.
template <typename Fn>
void wire_for_each_line(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    if (nl > pos) {
      if (!fn(text.substr(pos, nl - pos))) return;
    }
    pos = nl + 1;
  }
}

}  // namespace iptkit
