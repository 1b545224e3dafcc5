// The LOG target (xt_LOG.h, struct xt_log_info, revision 0, both families) in the native
// dialect (libxt_LOG).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_LOG.h>

#include <cstring>
#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

// `-j LOG [--log-level L] [--log-prefix P] [--log-tcp-sequence] [--log-tcp-options]
// [--log-ip-options] [--log-uid] [--log-macdecode]` (libxt_LOG).

constexpr unsigned kDefaultLevel = 4;  // LOG_WARNING, LOG_init's level

constexpr dialect::OptionSpec kOptions[] = {
    {"log-level", nullptr, true, false, 1},
    {"log-prefix", nullptr, true, false, 1},
    {"log-tcp-sequence", nullptr, false, false, 0},
    {"log-tcp-options", nullptr, false, false, 0},
    {"log-ip-options", nullptr, false, false, 0},
    {"log-uid", nullptr, false, false, 0},
    {"log-macdecode", nullptr, false, false, 0},
    {nullptr, nullptr, false, false, 0},
};

// The flag options: kernel bit, save option, listing word, in the order iptables prints them.
struct Flag {
  uint8_t bit;
  const char* option;
  const char* word;
};
constexpr Flag kFlags[] = {
    {XT_LOG_TCPSEQ, "log-tcp-sequence", "tcp-sequence"},
    {XT_LOG_TCPOPT, "log-tcp-options", "tcp-options"},
    {XT_LOG_IPOPT, "log-ip-options", "ip-options"},
    {XT_LOG_UID, "log-uid", "uid"},
    {XT_LOG_MACDECODE, "log-macdecode", "macdecode"},
};

// XTTYPE_SYSLOGLEVEL's names besides 0..7 (case-sensitive).
struct Level {
  const char* name;
  uint8_t level;
};
constexpr Level kLevelNames[] = {
    {"alert", 1}, {"crit", 2}, {"debug", 7}, {"emerg", 0}, {"error", 3},
    {"info", 6},  {"notice", 5}, {"panic", 0}, {"warning", 4},
};

// What `-L` prints for a level: the first of glibc's prioritynames with that value
// (INTERNAL_NOPRI, 0x10, is "none"); nullptr when it has none.
const char* priority_name(unsigned level) {
  static const char* const names[] = {"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"};
  if (level < 8) return names[level];
  if (level == 0x10) return "none";
  return nullptr;
}

bool parse(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
  namespace xo = dialect::xtopt;
  xt_log_info l{};
  l.level = kDefaultLevel;
  uint64_t seen = 0;
  for (const dialect::ParsedOption& o : options) {
    if (!xo::take(o, kOptions, seen, "LOG", ctx)) return false;
    std::string_view n = o.spec->name;
    if (n == "log-level") {
      uint64_t v = 0;
      bool ok = dialect::xtables_strtoul(o.value, 0, 7, v);
      for (size_t k = 0; !ok && k < sizeof kLevelNames / sizeof kLevelNames[0]; k++) {
        if (o.value == kLevelNames[k].name) {
          v = kLevelNames[k].level;
          ok = true;
        }
      }
      if (!ok) return ctx.fail("LOG: log level \"" + o.value + "\" unknown", o.token, "0-7 or a syslog level name");
      l.level = static_cast<unsigned char>(v);
    } else if (n == "log-prefix") {
      if (strnlen(o.value.c_str(), o.value.size()) < 1) {
        return ctx.fail("LOG: --log-prefix must have a minimum length of 1 character", o.token, "a prefix");
      }
      if (o.value.find('\n') != std::string::npos) {
        return ctx.fail("LOG: newlines not allowed in --log-prefix", o.token);
      }
      xo::put_string(l.prefix, sizeof l.prefix, o.value);  // the first 29 bytes, silently
    } else {
      for (const Flag& f : kFlags) {
        if (n == f.option) l.logflags |= f.bit;
      }
    }
  }
  std::memcpy(data, &l, sizeof l);
  return true;
}

xt_log_info read(const void* data, size_t len) {
  xt_log_info l{};
  std::memcpy(&l, data, len < sizeof l ? len : sizeof l);
  return l;
}

void save(const void* data, size_t len, uint8_t, const dialect::PrintCtx&, std::string& out) {
  xt_log_info l = read(data, len);
  std::string_view prefix = dialect::xtopt::c_string(l.prefix, sizeof l.prefix);
  out += "-j LOG";
  if (!prefix.empty()) {
    out += " --log-prefix ";
    dialect::save_string(out, prefix);
  }
  if (l.level != kDefaultLevel) {
    out += " --log-level ";
    dialect::append_u64(out, l.level);
  }
  for (const Flag& f : kFlags) {
    if (l.logflags & f.bit) (out += " --") += f.option;
  }
}

void list(const void* data, size_t len, uint8_t, const dialect::PrintCtx& ctx, std::string& out) {
  xt_log_info l = read(data, len);
  std::string_view prefix = dialect::xtopt::c_string(l.prefix, sizeof l.prefix);
  out += "LOG";
  if (ctx.numeric) {
    out += " flags ";
    dialect::append_u64(out, l.logflags);
    out += " level ";
    dialect::append_u64(out, l.level);
  } else {
    if (const char* name = priority_name(l.level)) {
      (out += " level ") += name;
    } else {
      out += " UNKNOWN level ";
      dialect::append_u64(out, l.level);
    }
    for (const Flag& f : kFlags) {
      if (l.logflags & f.bit) (out += ' ') += f.word;
    }
    if (l.logflags & ~XT_LOG_MASK) out += " unknown-flags";
  }
  if (!prefix.empty()) {
    out += " prefix \"";
    out += prefix;
    out += '"';
  }
}

size_t size(uint8_t) { return XT_ALIGN(sizeof(xt_log_info)); }

const dialect::Extension extension{"LOG", nullptr, "LOG", true, 0, 0, 0b1, size, size, kOptions, parse, nullptr,
                                   save, list};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
