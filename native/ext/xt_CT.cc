// The CT target (xt_CT.h) in the native dialect (libxt_CT): revision 0 takes struct
// xt_ct_target_info, revisions 1 and 2 struct xt_ct_target_info_v1 (adds the timeout policy
// name). iptables 1.8.9 writes revision 2, also for `-j NOTRACK` (flags
// XT_CT_NOTRACK|XT_CT_NOTRACK_ALIAS). The trailing `ct` pointer is kernel-private (usersize
// stops before it).
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CT.h>

#include <strings.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

// `-j CT [--notrack] [--helper NAME] [--timeout NAME] [--ctevents E,…] [--expevents new]
//        [--zone|--zone-orig|--zone-reply ID|mark]` and `-j NOTRACK` (libxt_CT). iptables
// 1.8.9 writes revision 2 for both; NOTRACK is flags NOTRACK|NOTRACK_ALIAS and only revision
// 2 prints back under that name.

constexpr dialect::OptionSpec kOptions[] = {
    {"notrack", nullptr, false, false, 0},
    {"helper", nullptr, true, false, 1},
    {"timeout", nullptr, true, false, 1},
    {"ctevents", nullptr, true, false, 1},
    {"expevents", nullptr, true, false, 1},
    {"zone-orig", nullptr, true, false, 1},
    {"zone-reply", nullptr, true, false, 1},
    {"zone", nullptr, true, false, 1},
    {nullptr, nullptr, false, false, 0},
};
enum : size_t { kNotrack, kHelper, kTimeout, kCtevents, kExpevents, kZoneOrig, kZoneReply, kZone };

struct Event {
  const char* name;
  unsigned bit;  // enum ip_conntrack_events / ip_conntrack_expect_events
};
// In iptables' order, which printing follows.
constexpr Event kCtEvents[] = {
    {"new", 0},       {"related", 1}, {"destroy", 2}, {"reply", 3}, {"assured", 4},
    {"protoinfo", 5}, {"helper", 6},  {"mark", 7},    {"natseqinfo", 8}, {"secmark", 9},
};
constexpr Event kExpEvents[] = {{"new", 0}};

template <size_t N>
bool parse_events(const dialect::ParsedOption& o, const Event (&table)[N], const dialect::ParseCtx& ctx,
                  uint32_t& mask) {
  mask = 0;
  std::string_view rest(o.value.c_str());  // strsep over the C string: empty words are words too
  for (;;) {
    size_t comma = rest.find(',');
    std::string_view word = rest.substr(0, comma);
    const Event* hit = nullptr;
    for (const Event& e : table) {
      if (word == e.name) {
        hit = &e;
        break;
      }
    }
    if (!hit) {
      std::string names;
      for (const Event& e : table) names += (names.empty() ? "" : ",") + std::string(e.name);
      return ctx.fail("CT: unknown event type \"" + std::string(word) + "\"", o.token, names);
    }
    mask |= 1u << hit->bit;
    if (comma == std::string_view::npos) return true;
    rest.remove_prefix(comma + 1);
  }
}

template <size_t N>
void print_events(std::string& out, const char* pfx, const Event (&table)[N], uint32_t mask) {
  ((out += ' ') += pfx) += ' ';
  const char* sep = "";
  for (const Event& e : table) {
    if (mask & (1u << e.bit)) {
      (out += sep) += e.name;
      sep = ",";
    }
  }
}

// The fields of both structs, revision 0's without a timeout.
struct Info {
  uint16_t flags = 0, zone = 0;
  uint32_t ct_events = 0, exp_events = 0;
  std::string_view helper, timeout;
};

bool parse_into(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx,
                xt_ct_target_info_v1& info) {
  namespace xo = dialect::xtopt;
  uint64_t seen = 0;
  for (const dialect::ParsedOption& o : options) {
    if (!xo::take(o, kOptions, seen, "CT", ctx)) return false;
    switch (dialect::option_index(o, kOptions)) {
      case kNotrack:
        info.flags |= XT_CT_NOTRACK;
        break;
      case kHelper:
        xo::put_string(info.helper, sizeof info.helper, o.value);
        break;
      case kTimeout:
        xo::put_string(info.timeout, sizeof info.timeout, o.value);
        break;
      case kCtevents:
        if (!parse_events(o, kCtEvents, ctx, info.ct_events)) return false;
        break;
      case kExpevents:
        if (!parse_events(o, kExpEvents, ctx, info.exp_events)) return false;
        break;
      case kZoneOrig:
      case kZoneReply:
      case kZone: {
        // ct_parse_zone_id: the direction flag adds up, the id is replaced.
        size_t i = dialect::option_index(o, kOptions);
        if (i == kZoneOrig) info.flags |= XT_CT_ZONE_DIR_ORIG;
        if (i == kZoneReply) info.flags |= XT_CT_ZONE_DIR_REPL;
        info.zone = 0;
        if (strcasecmp(o.value.c_str(), "mark") == 0) {
          info.flags |= XT_CT_ZONE_MARK;
        } else {
          uint64_t id = 0;
          if (!dialect::xtables_strtoul(o.value, 0, UINT16_MAX, id)) {
            return ctx.fail("CT: cannot parse " + o.value + " as a zone ID", o.token, "0-65535 or mark");
          }
          info.zone = static_cast<uint16_t>(id);
        }
        break;
      }
    }
  }
  return true;
}

bool parse(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
  xt_ct_target_info_v1 info{};
  if (!parse_into(options, ctx, info)) return false;
  std::memcpy(data, &info, offsetof(xt_ct_target_info_v1, ct));
  return true;
}

// notrack_ct2_tg_init; NOTRACK has no options.
bool parse_notrack(const std::vector<dialect::ParsedOption>& options, const dialect::ParseCtx& ctx, void* data) {
  xt_ct_target_info_v1 info{};
  if (!options.empty()) return ctx.fail("NOTRACK: unknown option \"" + options[0].token + "\"", options[0].token);
  info.flags = XT_CT_NOTRACK | XT_CT_NOTRACK_ALIAS;
  std::memcpy(data, &info, offsetof(xt_ct_target_info_v1, ct));
  return true;
}

Info read(const void* data, size_t len, uint8_t revision, xt_ct_target_info_v1& buf) {
  // Revision 0's struct is revision 1's without the timeout; read each by its own layout.
  Info i;
  if (revision == 0) {
    xt_ct_target_info v0{};
    std::memcpy(&v0, data, len < offsetof(xt_ct_target_info, ct) ? len : offsetof(xt_ct_target_info, ct));
    std::memcpy(buf.helper, v0.helper, sizeof buf.helper);
    i.flags = v0.flags;
    i.zone = v0.zone;
    i.ct_events = v0.ct_events;
    i.exp_events = v0.exp_events;
  } else {
    std::memcpy(&buf, data, len < offsetof(xt_ct_target_info_v1, ct) ? len : offsetof(xt_ct_target_info_v1, ct));
    i.flags = buf.flags;
    i.zone = buf.zone;
    i.ct_events = buf.ct_events;
    i.exp_events = buf.exp_events;
    i.timeout = dialect::xtopt::c_string(buf.timeout, sizeof buf.timeout);
  }
  i.helper = dialect::xtopt::c_string(buf.helper, sizeof buf.helper);
  return i;
}

// ct_print / ct_save and their _v1 twins after the name; `dash` is "--" for save.
void describe(const Info& i, const char* dash, std::string& out) {
  std::string d(dash);
  if (i.flags & XT_CT_NOTRACK) out += " " + d + "notrack";
  if (!i.helper.empty()) (out += " " + d + "helper ") += i.helper;
  if (!i.timeout.empty()) (out += " " + d + "timeout ") += i.timeout;
  if (i.ct_events) print_events(out, (d + "ctevents").c_str(), kCtEvents, i.ct_events);
  if (i.exp_events) print_events(out, (d + "expevents").c_str(), kExpEvents, i.exp_events);
  if ((i.flags & XT_CT_ZONE_MARK) || i.zone) {
    out += " " + d + "zone";
    const uint16_t dir = i.flags & (XT_CT_ZONE_DIR_ORIG | XT_CT_ZONE_DIR_REPL);
    if (dir == XT_CT_ZONE_DIR_ORIG) out += "-orig";
    if (dir == XT_CT_ZONE_DIR_REPL) out += "-reply";
    if (i.flags & XT_CT_ZONE_MARK) {
      out += " mark";
    } else {
      out += ' ';
      dialect::append_u64(out, i.zone);
    }
  }
}

// Only revision 2 has the alias (ct_print_name_alias): it saves as `-j NOTRACK`; revisions 0
// and 1 with the alias flag save as a bare `-j CT` (their save prints nothing for it).
void save(const void* data, size_t len, uint8_t revision, const dialect::PrintCtx&, std::string& out) {
  xt_ct_target_info_v1 buf{};
  Info i = read(data, len, revision, buf);
  const bool alias = i.flags & XT_CT_NOTRACK_ALIAS;
  if (alias && revision >= 2) {
    out += "-j NOTRACK";
    return;
  }
  out += "-j CT";
  if (!alias) describe(i, "--", out);
}

// ct_print_v1 shows the alias alone; revision 0's ct_print always says CT.
void list(const void* data, size_t len, uint8_t revision, const dialect::PrintCtx&, std::string& out) {
  xt_ct_target_info_v1 buf{};
  Info i = read(data, len, revision, buf);
  if (revision >= 1 && (i.flags & XT_CT_NOTRACK_ALIAS)) {
    out += "NOTRACK";
    return;
  }
  out += "CT";
  describe(i, "", out);
}

size_t size(uint8_t revision) {
  return revision == 0 ? XT_ALIGN(sizeof(xt_ct_target_info)) : XT_ALIGN(sizeof(xt_ct_target_info_v1));
}
size_t usersize(uint8_t revision) {
  return revision == 0 ? offsetof(xt_ct_target_info, ct) : offsetof(xt_ct_target_info_v1, ct);
}

constexpr dialect::OptionSpec kNoOptions[] = {{nullptr, nullptr, false, false, 0}};

const dialect::Extension ct_ext{"CT", nullptr, "CT", true, 0, 2, 0b111, size, usersize, kOptions, parse, nullptr,
                                save, list};
IPTKIT_REGISTER_EXTENSION(ct_ext);
// Parses `-j NOTRACK` only: CT prints what it writes (print_revisions 0).
const dialect::Extension notrack_ext{"NOTRACK", nullptr, "CT", true, 0, 2, 0, size, usersize, kNoOptions,
                                     parse_notrack, nullptr, save, list};
IPTKIT_REGISTER_EXTENSION(notrack_ext);

}  // namespace
}  // namespace iptkit
