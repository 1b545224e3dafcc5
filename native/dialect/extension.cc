// The extension registry and the small helpers every extension module shares.
#include "extension.h"

#include <charconv>

namespace iptkit {
namespace dialect {
namespace {

std::vector<const Extension*>& registry() {
  static std::vector<const Extension*> list;  // registration order: the first that fits wins
  return list;
}

bool fits(const Extension* e, Family family) { return e->family == 0 || e->family == static_cast<int>(family); }

}  // namespace

void register_extension(const Extension* ext) { registry().push_back(ext); }

namespace {
thread_local OfflineNames* t_offline = nullptr;
}  // namespace

OfflineNames::OfflineNames() : outer(t_offline) { t_offline = this; }
OfflineNames::~OfflineNames() { t_offline = outer; }
OfflineNames* offline_names() { return t_offline; }

const std::vector<const Extension*>& all_extensions() { return registry(); }

const Extension* find_by_user_name(std::string_view name, bool is_target, Family family) {
  for (const Extension* e : registry()) {
    if (e->is_target != is_target || !fits(e, family)) continue;
    if (name == e->name || (e->alias && name == e->alias)) return e;
  }
  return nullptr;
}

const Extension* find_for_kernel(std::string_view kernel_name, uint8_t revision, bool is_target, Family family,
                                 const void* data, size_t len) {
  if (revision >= 32) return nullptr;
  for (const Extension* e : registry()) {
    if (e->is_target != is_target || !fits(e, family) || kernel_name != e->kernel_name) continue;
    if (!(e->print_revisions & (1u << revision))) continue;
    if (e->size(revision) != len) continue;
    if (e->accepts && !e->accepts(data, len, revision)) continue;
    return e;
  }
  return nullptr;
}

void save_string(std::string& out, std::string_view value) {
  bool bare = !value.empty();
  for (char c : value) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

size_t option_index(const ParsedOption& o, const OptionSpec* table) { return static_cast<size_t>(o.spec - table); }

bool once(const ParsedOption& o, const OptionSpec* table, uint64_t& seen, const char* module, const ParseCtx& ctx) {
  uint64_t bit = 1ull << option_index(o, table);
  if (seen & bit) {
    return ctx.fail(std::string(module) + ": option \"--" + o.spec->name + "\" can only be used once", o.token,
                    "the option once");
  }
  seen |= bit;
  return true;
}

bool xtables_strtoul(std::string_view s, uint64_t min, uint64_t max, uint64_t& value, size_t* end) {
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 99;
  };
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) i++;
  if (i < s.size() && s[i] == '-') return false;
  if (i < s.size() && s[i] == '+') i++;
  int base = 10;
  size_t first = i;
  if (i < s.size() && s[i] == '0') {
    // `0x` counts as hex only with a hex digit after it; else strtoumax reads the 0 alone.
    if (i + 2 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X') && digit(s[i + 2]) < 16) {
      base = 16;
      first = i + 2;
    } else {
      base = 8;
    }
  }
  uint64_t v = 0;
  bool overflow = false;
  size_t k = first;
  for (; k < s.size(); k++) {
    int d = digit(s[k]);
    if (d >= base) break;
    uint64_t ud = static_cast<uint64_t>(d);
    if (v > (UINT64_MAX - ud) / static_cast<uint64_t>(base)) overflow = true;  // ERANGE; the digits are still eaten
    else v = v * static_cast<uint64_t>(base) + ud;
  }
  if (k == first) return false;  // no digits: strtoumax's end is the start
  if (end) *end = k;
  else if (k != s.size()) return false;
  if (overflow || v < min || v > max) return false;
  value = v;
  return true;
}

}  // namespace dialect
}  // namespace iptkit
