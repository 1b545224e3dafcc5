// What libxtables' xtoptions.c does for every option of a module before and after the
// module sees it, for the modules whose options go through it (the targets): the per-option
// checks of xtables_option_parse (once only, `!`, argument present), the final checks of
// xtables_options_fcheck (mandatory, mutually exclusive) and XTOPT_PUT's copy of a string
// into a fixed char array. Numbers: xtables_strtoul in extension.h.
// Header-only: each module uses a few of these.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "extension.h"

namespace iptkit {
namespace dialect {
namespace xtopt {

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

// XTTYPE_MARKMASK32 (xtables_parse_val_mask): VALUE[/MASK], each a 32-bit number as
// xtables_strtoul reads it, the mask all ones when absent; iptables' two words for a bad one.
inline bool mark_mask(const ParsedOption& o, const char* module, const ParseCtx& ctx, uint32_t& mark, uint32_t& mask) {
  const std::string_view arg(o.value.c_str());  // a C string, as argv: a NUL ends it
  const std::string option = std::string("\"--") + o.spec->name + "\"";
  const auto bad = [&] {
    return ctx.fail(std::string(module) + ": bad integer value for option " + option + ", or out of range.", o.token,
                    "VALUE[/MASK], each 0-0xffffffff");
  };
  const auto garbage = [&] {
    return ctx.fail(std::string(module) + ": trailing garbage after value for option " + option + ".", o.token,
                    "VALUE[/MASK]");
  };
  size_t end = 0;
  uint64_t v = 0, m = 0xffffffff;
  if (!xtables_strtoul(arg, 0, 0xffffffff, v, &end)) return bad();
  if (end != arg.size()) {
    if (arg[end] != '/') return garbage();
    const std::string_view rest = arg.substr(end + 1);
    if (!xtables_strtoul(rest, 0, 0xffffffff, m, &end)) return bad();
    if (end != rest.size()) return garbage();
  }
  mark = static_cast<uint32_t>(v);
  mask = static_cast<uint32_t>(m);
  return true;
}

// XTTYPE_UINT32 (and the narrower types, with their max): a number as xtables_strtoul reads it, in
// [min, max], refused in iptables' words.
inline bool uint_option(const ParsedOption& o, const char* module, const ParseCtx& ctx, uint64_t min, uint64_t max,
                        uint64_t& out) {
  if (xtables_strtoul(o.value, min, max, out)) return true;
  return ctx.fail(std::string(module) + ": bad value for option \"--" + o.spec->name + "\", or out of range (" +
                      std::to_string(min) + "-" + std::to_string(max) + ").",
                  o.token, "a number " + std::to_string(min) + " to " + std::to_string(max));
}

// xtables_print_mark_mask: "0x%x/0x%x", or "0x%x" when the mask is all ones (no leading space).
inline void append_mark_mask(std::string& out, uint32_t mark, uint32_t mask) {
  char buf[32];
  if (mask != 0xffffffffu) std::snprintf(buf, sizeof buf, "0x%x/0x%x", mark, mask);
  else std::snprintf(buf, sizeof buf, "0x%x", mark);
  out += buf;
}

// The C string in a fixed char array of the kernel struct.
inline std::string_view c_string(const char* s, size_t cap) { return std::string_view(s, strnlen(s, cap)); }

}  // namespace xtopt
}  // namespace dialect
}  // namespace iptkit
