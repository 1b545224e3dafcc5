// The shape of one iptables extension (match or target) in the native dialect: its options,
// how the options after `-m NAME` / `-j NAME` fill the kernel's struct (with iptables' own
// accept/reject behaviour and messages), and how that struct prints in iptables-save syntax
// and in the `iptables -L` options column. One file per extension (native/ext/<module>.cc)
// defines one or more of these and registers them with IPTKIT_REGISTER_EXTENSION, as
// libxtables modules register themselves; nothing else in the addon knows an extension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "family.h"

namespace iptkit {
namespace dialect {

// One option of an extension, as getopt_long would see it.
struct OptionSpec {
  const char* name;            // long name without dashes: "dport"
  const char* alias;           // another accepted spelling ("destination-port"), or nullptr
  bool has_arg;
  bool invertible;             // `!` may precede it
  uint8_t nargs;               // arguments taken (tcp --tcp-flags MASK COMP: 2); 0 or 1 means one
};

// One option as the rule parser found it, in input order. For nargs > 1 the arguments are
// joined by one space in `value`.
struct ParsedOption {
  const OptionSpec* spec;      // the canonical spec (an alias reports its spec)
  std::string value;
  bool has_value = false;
  bool invert = false;
  std::string token;           // as written, for messages: "--dport"
};

// Where parse() reports a refusal: the message iptables gives (or the clearest one), the input
// token it blames and what was expected there. fail() returns false so parse() can
// `return ctx.fail(...)`.
struct ParseError {
  std::string message;
  std::string token;
  std::string expected;
  size_t line = 0;             // 1-based input line, 0 when not known
};

struct ParseCtx {
  Family family;
  uint16_t protocol = 0;       // the rule's -p number (0: none)
  bool protocol_invert = false;
  ParseError* err;
  // Reading back text iptkit printed itself (a commit), not user input: a module may accept
  // the forms its own printer writes for structs iptables can hold but not express (a NAT
  // port base the older structs drop prints as `/0`).
  bool own_text = false;
  // The command puts the rule in the kernel (-A, -I, -R, and -C/-D, which look for it there);
  // -N, -F, -P … carry matches iptables loads and checks the options of, but no rule.
  bool makes_rule = true;
  bool fail(std::string message, std::string token = {}, std::string expected = {}) const {
    err->message = std::move(message);
    err->token = std::move(token);
    err->expected = std::move(expected);
    return false;
  }
};

struct PrintCtx {
  Family family;
  bool numeric = true;         // -L without -n resolves service names; save is always numeric
  uint16_t protocol = 0;       // the rule's -p number: -L service names depend on it
};

struct Extension {
  const char* name;            // the name after -m / -j, the one iptables-save prints
  const char* alias;           // another name accepted after -m / -j, or nullptr
  const char* kernel_name;     // the kernel's extension name ("conntrack" for -m state)
  bool is_target;
  int family;                  // 0: both; else NFPROTO_IPV4 (2) / NFPROTO_IPV6 (10)
  uint8_t revision;            // the revision iptables 1.8.9 writes
  // The revisions this module prints (the written one included), as a bit mask: bit r.
  uint32_t print_revisions;
  // XT_ALIGN(sizeof(struct …)) for each revision it handles; `size(rev)`. A read struct of
  // another size is another layout and stays opaque.
  size_t (*size)(uint8_t revision);
  size_t (*usersize)(uint8_t revision);  // bytes userspace owns; the rest is kernel-private
  const OptionSpec* options;   // terminated by {nullptr}
  // Fills `data` (zeroed, size(revision) bytes) from the options given after -m / -j, in
  // input order; iptables' per-option checks and final check. False with ctx.err set.
  bool (*parse)(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data);
  // Whether this module prints a struct read from the kernel (state vs conntrack share
  // the kernel name); nullptr means always.
  bool (*accepts)(const void* data, size_t len, uint8_t revision);
  // iptables-save text, including `-m NAME` / `-j NAME`, appended to `out` without a leading
  // space: "-m tcp --dport 80".
  void (*save)(const void* data, size_t len, uint8_t revision, const PrintCtx& ctx, std::string& out);
  // `iptables -L` options-column text appended to `out` without a leading space ("tcp
  // dpt:80"); the printer puts one space before it when the module printed anything.
  void (*list)(const void* data, size_t len, uint8_t revision, const PrintCtx& ctx, std::string& out);
};

// The module for `-m NAME` (is_target false) or `-j NAME` in this family, or nullptr.
const Extension* find_by_user_name(std::string_view name, bool is_target, Family family);
// The module that prints a struct read from the kernel, or nullptr (the rule is opaque).
const Extension* find_for_kernel(std::string_view kernel_name, uint8_t revision, bool is_target, Family family,
                                 const void* data, size_t len);
// Every registered module (for -h listings and tests).
const std::vector<const Extension*>& all_extensions();

void register_extension(const Extension* ext);

struct ExtensionRegistrar {
  explicit ExtensionRegistrar(const Extension* ext) { register_extension(ext); }
};

#define IPTKIT_EXT_CAT2(a, b) a##b
#define IPTKIT_EXT_CAT(a, b) IPTKIT_EXT_CAT2(a, b)
#define IPTKIT_REGISTER_EXTENSION(ext) \
  static const ::iptkit::dialect::ExtensionRegistrar IPTKIT_EXT_CAT(iptkit_ext_, __LINE__)(&(ext))

// Names the kernel keeps an index for (an ipset's, which `-m set` holds by index): parsed
// and printed through the kernel of the calling thread's namespace, except where no kernel is
// asked at all — the pure dialect on the main thread (rule texts, a restore's steps and result
// on given tables), under an OfflineNames — where each name gets an index of this table, so
// that a text reads and prints back the same with no set in any namespace.
struct OfflineNames {
  OfflineNames();
  ~OfflineNames();
  OfflineNames(const OfflineNames&) = delete;
  OfflineNames& operator=(const OfflineNames&) = delete;
  std::vector<std::string> names;  // index i names names[i]
  OfflineNames* outer;
};
// The table in force on this thread, or nullptr (ask the kernel).
OfflineNames* offline_names();

// --- helpers every module uses -------------------------------------------------------------

// xtables_save_string: bare when only [A-Za-z0-9_-] and not empty, else "…" with a backslash
// before each `"`, `'` and `\`.
void save_string(std::string& out, std::string_view value);
// "! " when inverted (the save form's prefix).
inline void bang(std::string& out, bool invert) {
  if (invert) out += "! ";
}
void append_u64(std::string& out, uint64_t v);
// Refuses a second use of one option ("NAME: option \"--X\" can only be used once").
// `seen` is a bit per option index in the module's table.
bool once(const ParsedOption& o, const OptionSpec* table, uint64_t& seen, const char* module, const ParseCtx& ctx);
// Index of o.spec in table.
size_t option_index(const ParsedOption& o, const OptionSpec* table);
// xtables_strtoul as iptables 1.8.9 and its extensions call it (strtoumax, base 0): optional
// leading blanks and `+` (a `-` is refused: strtoumax would wrap it around), then decimal, 0x
// hex or 0-led octal. Without `end` the number must be the whole string; with it, it may stop
// early and *end is the index just after it (set once a digit was read, even when the value
// is then refused). True and `value` when it lies in [min, max].
bool xtables_strtoul(std::string_view s, uint64_t min, uint64_t max, uint64_t& value, size_t* end = nullptr);
// xtables_strtoui(s, NULL, &out, 0, max): the whole string, at most `max`.
inline bool strtoui(std::string_view s, uint64_t max, uint64_t& out) { return xtables_strtoul(s, 0, max, out); }

}  // namespace dialect
}  // namespace iptkit
