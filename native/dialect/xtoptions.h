// What libxtables' xtoptions.c does for every option of a module before and after the
// module sees it, for the modules whose options go through it (the targets): the per-option
// checks of xtables_option_parse (once only, `!`, argument present), the final checks of
// xtables_options_fcheck (mandatory, mutually exclusive), xtables_strtoul as the
// extensions call it, and XTOPT_PUT's copy of a string into a fixed char array.
// Header-only: each module uses a few of these.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "extension.h"

namespace iptkit {
namespace dialect {
namespace xtopt {

inline bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// xtables_strtoul_base(s, &end, &value, min, max, 0): strtoumax's longest prefix (leading
// blanks and `+` allowed, `-` refused, 0x hex, 0-led octal), then the range check. `end` is
// the index just after the number. False when no digit starts it, it overflows or is out of
// [min, max].
inline bool strtoul_prefix(std::string_view s, uint64_t min, uint64_t max, uint64_t& value, size_t& end) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) i++;
  if (i < s.size() && s[i] == '-') return false;  // strtoumax would negate it
  if (i < s.size() && s[i] == '+') i++;
  unsigned base = 10;
  auto hex_digit = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  if (i < s.size() && s[i] == '0') {
    // "0x" counts as hex only when a hex digit follows; else the 0 alone is the number.
    if (i + 2 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X') && hex_digit(s[i + 2])) {
      base = 16;
      i += 2;
    } else {
      base = 8;
    }
  }
  uint64_t v = 0;
  bool overflow = false;
  size_t start = i;
  for (; i < s.size(); i++) {
    char c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else break;
    if (d >= base) break;
    if (v > (UINT64_MAX - d) / base) overflow = true;  // ERANGE; strtoumax still eats the digits
    else v = v * base + d;
  }
  if (i == start) return false;
  end = i;
  if (overflow || v < min || v > max) return false;
  value = v;
  return true;
}

// xtables_strtoul(s, NULL, …): the whole string must be the number.
inline bool strtoul_whole(std::string_view s, uint64_t min, uint64_t max, uint64_t& value) {
  size_t end = 0;
  uint64_t v = 0;
  if (!strtoul_prefix(s, min, max, v, end) || end != s.size()) return false;
  value = v;
  return true;
}

// xtables_option_parse's checks on one option, in its order: given twice, `!` where the option
// takes none, argument missing. `seen` is a bit per option index in `table` (xflags).
inline bool take(const ParsedOption& o, const OptionSpec* table, uint64_t& seen, const char* module,
                 const ParseCtx& ctx) {
  if (!once(o, table, seen, module, ctx)) return false;
  if (o.invert && !o.spec->invertible) {
    return ctx.fail(std::string(module) + ": option \"--" + o.spec->name + "\" cannot be inverted", o.token,
                    o.token + " without !");
  }
  if (o.spec->has_arg && !o.has_value) {
    return ctx.fail(std::string(module) + ": option \"--" + o.spec->name + "\" requires an argument", o.token,
                    "a value");
  }
  return true;
}

inline bool given(uint64_t seen, size_t index) { return (seen >> index) & 1; }

// XTOPT_MAND, checked after the module's own final check.
inline bool mandatory(uint64_t seen, const OptionSpec* table, size_t index, const char* module, const ParseCtx& ctx) {
  if (given(seen, index)) return true;
  return ctx.fail(std::string(module) + ": option \"--" + table[index].name + "\" must be specified", {},
                  std::string("--") + table[index].name);
}

// XTOPT_PUT of an XTTYPE_STRING into char[cap]: the first cap-1 bytes (a C string ends at a
// NUL), NUL-terminated. Bytes, not characters: a multibyte character may be cut, as in iptables.
inline void put_string(char* dst, size_t cap, std::string_view value) {
  size_t n = strnlen(value.data(), value.size());
  if (n >= cap) n = cap - 1;
  std::memcpy(dst, value.data(), n);
  dst[n] = '\0';
}

// The C string in a fixed char array of the kernel struct.
inline std::string_view c_string(const char* s, size_t cap) { return std::string_view(s, strnlen(s, cap)); }

}  // namespace xtopt
}  // namespace dialect
}  // namespace iptkit
