// The `state` match in the native dialect (libxt_conntrack's `state` modules): revision 0
// (xt_state.h, struct xt_state_info) is what older iptables wrote for `-m state`; iptables
// 1.8.9 writes `-m state` as conntrack revision 3 with XT_CONNTRACK_STATE_ALIAS instead.
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_state.h>

#include <cstring>
#include <strings.h>

#include "../dialect/conntrack_dump.h"
#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

// `-m state` is written as conntrack revision 3 with XT_CONNTRACK_STATE_ALIAS (libxt_conntrack
// registers `state` as an alias of conntrack); a struct with that flag prints as `-m state`,
// one without it belongs to `-m conntrack` (accepts). The state revision 0 module only prints
// what older tools wrote. Both live here, the alias first, so that `-m state` finds it.

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

const OptionSpec kOptions[] = {
    {"state", nullptr, true, true, 1},
    {nullptr, nullptr, false, false, 0},
};

// state_parse_state: XT_CONNTRACK_STATE_* bits, 0 for an unknown name.
unsigned int parse_one_state(const char* state, size_t len) {
  if (strncasecmp(state, "INVALID", len) == 0) return XT_CONNTRACK_STATE_INVALID;
  if (strncasecmp(state, "NEW", len) == 0) return XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
  if (strncasecmp(state, "ESTABLISHED", len) == 0) return XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED);
  if (strncasecmp(state, "RELATED", len) == 0) return XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
  if (strncasecmp(state, "UNTRACKED", len) == 0) return XT_CONNTRACK_STATE_UNTRACKED;
  return 0;
}

// state_parse_states; the message quotes the list from the bad name on.
bool parse_states(const ParsedOption& o, const ParseCtx& ctx, unsigned int& mask) {
  const char* arg = o.value.c_str();
  const char* comma;
  const char* expected = "INVALID,ESTABLISHED,NEW,RELATED,UNTRACKED";
  while ((comma = std::strchr(arg, ',')) != nullptr) {
    unsigned int flag = comma == arg ? 0 : parse_one_state(arg, static_cast<size_t>(comma - arg));
    if (flag == 0) return ctx.fail(std::string("Bad state \"") + arg + "\"", o.token, expected);
    mask |= flag;
    arg = comma + 1;
  }
  if (*arg == '\0') {
    return ctx.fail("\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED", o.token,
                    "ESTABLISHED,RELATED");
  }
  unsigned int flag = parse_one_state(arg, std::strlen(arg));
  if (flag == 0) return ctx.fail(std::string("Bad state \"") + arg + "\"", o.token, expected);
  mask |= flag;
  return true;
}

bool state_options(const std::vector<ParsedOption>& options, const ParseCtx& ctx, unsigned int& mask, bool& invert) {
  uint64_t seen = 0;
  for (const ParsedOption& o : options) {
    if (!dialect::xtopt::take(o, kOptions, seen, "state", ctx)) return false;
    mask = 0;
    if (!parse_states(o, ctx, mask)) return false;
    invert = o.invert;
  }
  if (!dialect::xtopt::given(seen, 0)) return ctx.fail("state: option \"--state\" must be specified", "-m state", "--state STATES");
  return true;
}

// -- `-m state` as conntrack revision 3 (state_ct23_parse)

size_t alias_size(uint8_t) { return XT_ALIGN(sizeof(xt_conntrack_mtinfo3)); }

bool alias_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_conntrack_mtinfo3*>(data);
  unsigned int mask = 0;
  bool invert = false;
  if (!state_options(options, ctx, mask, invert)) return false;
  info->match_flags = XT_CONNTRACK_STATE | XT_CONNTRACK_STATE_ALIAS;
  info->state_mask = static_cast<uint16_t>(mask);
  if (invert) info->invert_flags |= XT_CONNTRACK_STATE;
  return true;
}

xt_conntrack_mtinfo3 read_ct(const void* data, size_t len) {
  xt_conntrack_mtinfo3 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

bool alias_accepts(const void* data, size_t len, uint8_t) {
  return (read_ct(data, len).match_flags & XT_CONNTRACK_STATE_ALIAS) != 0;
}

// The kernel struct is conntrack's, so iptables prints it with conntrack3_mt_save/_print.
void alias_save(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  out += "-m state";
  dialect::conntrack_dump(read_ct(data, len), "--", ctx.family, true, out);
}

void alias_list(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  std::string s;
  dialect::conntrack_dump(read_ct(data, len), "", ctx.family, ctx.numeric, s);
  out.append(s, s.empty() ? 0 : 1, std::string::npos);
}

const dialect::Extension state_alias{
    "state", nullptr, "conntrack", false, 0, 3, 1u << 3, alias_size, alias_size, kOptions,
    alias_parse, alias_accepts, alias_save, alias_list,
};
IPTKIT_REGISTER_EXTENSION(state_alias);

// -- the state revision 0 match (xt_state_info; state_parse, state_print, state_save)

size_t v0_size(uint8_t) { return XT_ALIGN(sizeof(xt_state_info)); }

bool v0_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_state_info*>(data);
  unsigned int mask = 0;
  bool invert = false;
  if (!state_options(options, ctx, mask, invert)) return false;
  info->statemask = invert ? ~mask : mask;
  return true;
}

// state_print_state reads the statemask with the conntrack bits (UNTRACKED is bit 8 there,
// not xt_state's bit 6), as iptables 1.8.9 does.
void append_v0_states(const void* data, size_t len, std::string& out) {
  xt_state_info m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  dialect::conntrack_append_states(out, m.statemask & (XT_CONNTRACK_STATE_INVALID | XT_CONNTRACK_STATE_BIT(IP_CT_NEW) |
                                                       XT_CONNTRACK_STATE_BIT(IP_CT_RELATED) |
                                                       XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) |
                                                       XT_CONNTRACK_STATE_UNTRACKED),
                                   "");
}

void v0_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  out += "-m state --state ";
  append_v0_states(data, len, out);
}

void v0_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  out += "state ";
  append_v0_states(data, len, out);
}

const dialect::Extension state_v0{
    "state", nullptr, "state", false, 0, 0, 1u << 0, v0_size, v0_size, kOptions,
    v0_parse, nullptr, v0_save, v0_list,
};
IPTKIT_REGISTER_EXTENSION(state_v0);

}  // namespace
}  // namespace iptkit
