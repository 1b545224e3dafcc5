// The `sctp` match (xt_sctp.h, struct xt_sctp_info, revision 0), as iptables 1.8.9's
// libxt_sctp reads and prints it: --sport/--source-port and --dport/--destination-port (a
// port or LO:HI, numbers or services known for sctp) and --chunk-types MATCHTYPE CHUNKS.
//
// iptables-nft 1.8.9 has no native expressions for it: it writes `meta l4proto sctp` for the
// -p and the struct below as a compat `match` expression (name sctp, rev 0), so the nft
// backend needs nothing of this module beyond the bytes.
#include <linux/netfilter/x_tables.h>

// The uapi header declares two helpers returning C's _Bool, which C++ does not know; the
// struct and flag definitions are what this module uses, and those are plain C.
#define _Bool bool
#include <linux/netfilter/xt_sctp.h>
#undef _Bool

#include <netinet/in.h>
#include <strings.h>

#include <cstdio>
#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/ports.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

enum { kSport, kDport, kChunkTypes };

const OptionSpec sctp_options[] = {
    {"sport", "source-port", true, true, 0},
    {"dport", "destination-port", true, true, 0},
    // MATCHTYPE CHUNKS: iptables takes the second word itself (argv[optind]) unless it starts
    // with `-` or `!`; the rule parser hands both over joined by one space.
    {"chunk-types", nullptr, true, true, 2},
    {nullptr},
};

// libxt_sctp's sctp_chunk_names, in its order. The order matters beyond printing: iptables
// records a chunk's flags under its *index* in this table, not its chunk type (a bug of
// libxt_sctp in 1.8.9, kept here so that the kernel gets the same bytes), and prints flags
// with the valid_flags of the entry whose index is the chunk type. For the first 15 entries
// index and type agree; for I_DATA (index 15, type 64) the flags land on type 15 and are
// neither matched against I_DATA nor printed.
struct ChunkName {
  const char* name;
  uint8_t type;
  const char* valid_flags;  // bit 7 first; `-` is no flag (yet `-` itself is accepted: bit 7)
};
const ChunkName chunk_names[] = {
    {"DATA", 0, "----IUBE"},
    {"INIT", 1, "--------"},
    {"INIT_ACK", 2, "--------"},
    {"SACK", 3, "--------"},
    {"HEARTBEAT", 4, "--------"},
    {"HEARTBEAT_ACK", 5, "--------"},
    {"ABORT", 6, "-------T"},
    {"SHUTDOWN", 7, "--------"},
    {"SHUTDOWN_ACK", 8, "--------"},
    {"ERROR", 9, "--------"},
    {"COOKIE_ECHO", 10, "--------"},
    {"COOKIE_ACK", 11, "--------"},
    {"ECN_ECNE", 12, "--------"},
    {"ECN_CWR", 13, "--------"},
    {"SHUTDOWN_COMPLETE", 14, "-------T"},
    {"I_DATA", 64, "----IUBE"},
    {"RE_CONFIG", 130, "--------"},
    {"PAD", 132, "--------"},
    {"ASCONF", 193, "--------"},
    {"ASCONF_ACK", 128, "--------"},
    {"FORWARD_TSN", 192, "--------"},
    {"I_FORWARD_TSN", 194, "--------"},
};
constexpr size_t kChunkNames = sizeof chunk_names / sizeof chunk_names[0];
constexpr size_t kChunkWords = sizeof(xt_sctp_info::chunkmap) / sizeof(xt_sctp_info::chunkmap[0]);

// The C locale's toupper/isupper: iptables never sets a locale, and a byte outside ASCII
// matches no flag letter whatever its case.
char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
bool ascii_is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// save_chunk_flag_info: one flag bit of the chunk at `index` into the entry for that index,
// a new entry while there are fewer than XT_NUM_SCTP_FLAGS.
bool save_flag(xt_sctp_info& m, size_t index, unsigned bit, bool set, const ParseCtx& ctx, const std::string& token) {
  const uint8_t mask = static_cast<uint8_t>(1u << bit);
  for (int i = 0; i < m.flag_count; i++) {
    if (m.flag_info[i].chunktype == index) {
      m.flag_info[i].flag_mask |= mask;
      if (set) m.flag_info[i].flag |= mask;
      return true;
    }
  }
  if (m.flag_count == XT_NUM_SCTP_FLAGS) {
    return ctx.fail("Number of chunk types with flags exceeds currently allowed limit. Increasing this limit "
                    "involves changing IPT_NUM_SCTP_FLAGS and recompiling both the kernel space and user space "
                    "modules",
                    token, "flags on at most 4 chunk types");
  }
  xt_sctp_flag_info& f = m.flag_info[m.flag_count++];
  f.chunktype = static_cast<uint8_t>(index);
  f.flag_mask |= mask;
  if (set) f.flag |= mask;
  return true;
}

// parse_sctp_chunk: ALL or NONE alone (any case), else NAME[:FLAGS] separated by commas,
// empty items skipped (strtok). A flag letter in upper case must be set, in lower case clear.
bool parse_chunks(std::string_view text, xt_sctp_info& m, const ParseCtx& ctx, const std::string& token) {
  std::memset(m.chunkmap, 0, sizeof m.chunkmap);
  const std::string all(text);
  if (strcasecmp(all.c_str(), "ALL") == 0) {
    std::memset(m.chunkmap, 0xff, sizeof m.chunkmap);  // every word, as SCTP_CHUNKMAP_SET_ALL
    return true;
  }
  if (strcasecmp(all.c_str(), "NONE") == 0) return true;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) continue;
    size_t colon = item.find(':');
    const std::string name(item.substr(0, colon));
    size_t index = 0;
    while (index < kChunkNames && strcasecmp(chunk_names[index].name, name.c_str()) != 0) index++;
    if (index == kChunkNames) {
      return ctx.fail("Unknown sctp chunk `" + name + "'", token,
                      "chunk types DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT, SHUTDOWN, "
                      "SHUTDOWN_ACK, ERROR, COOKIE_ECHO, COOKIE_ACK, ECN_ECNE, ECN_CWR, SHUTDOWN_COMPLETE, "
                      "I_DATA, RE_CONFIG, PAD, ASCONF, ASCONF_ACK, FORWARD_TSN, I_FORWARD_TSN, or ALL / NONE alone");
    }
    const uint8_t type = chunk_names[index].type;
    m.chunkmap[type / 32] |= 1u << (type % 32);
    if (colon == std::string_view::npos) continue;
    // Everything after the first `:` is flags: a second `:` is a bad flag.
    const std::string_view valid = chunk_names[index].valid_flags;
    for (char c : item.substr(colon + 1)) {
      size_t at = valid.find(ascii_upper(c));
      if (at == std::string_view::npos) {
        // iptables names the table index here, not the chunk type (the same index bug).
        return ctx.fail("Invalid flags for chunk type " + std::to_string(index), token,
                        std::string("flags of ") + chunk_names[index].name + ": " + std::string(valid) +
                            " (upper case set, lower case clear)");
      }
      if (!save_flag(m, index, static_cast<unsigned>(7 - at), ascii_is_upper(c), ctx, token)) return false;
    }
  }
  return true;
}

bool option_value(const ParsedOption& o, const ParseCtx& ctx) {
  return o.has_value || ctx.fail(o.token + " requires an argument", o.token, "a value");
}

bool sctp_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  xt_sctp_info* m = static_cast<xt_sctp_info*>(data);
  // sctp_init: the unused flag entries hold chunk type -1 (0xff in the kernel's u8); a
  // delete by rule compares every byte of the struct, these included.
  for (xt_sctp_flag_info& f : m->flag_info) f.chunktype = 0xff;
  for (const ParsedOption& o : options) {
    switch (dialect::option_index(o, sctp_options)) {
      case kSport:
        if (m->flags & XT_SCTP_SRC_PORTS) {
          return ctx.fail("Only one `--source-port' allowed", o.token, "the option once");
        }
        // parse_sctp_ports is libxt_tcp's parse: xtables_parse_port with sctp services.
        if (!option_value(o, ctx) || !dialect::parse_port_range(o.value, "sctp", ctx, o.token, m->spts)) return false;
        m->flags |= XT_SCTP_SRC_PORTS;
        if (o.invert) m->invflags |= XT_SCTP_SRC_PORTS;
        break;
      case kDport:
        if (m->flags & XT_SCTP_DEST_PORTS) {
          return ctx.fail("Only one `--destination-port' allowed", o.token, "the option once");
        }
        if (!option_value(o, ctx) || !dialect::parse_port_range(o.value, "sctp", ctx, o.token, m->dpts)) return false;
        m->flags |= XT_SCTP_DEST_PORTS;
        if (o.invert) m->invflags |= XT_SCTP_DEST_PORTS;
        break;
      case kChunkTypes: {
        if (m->flags & XT_SCTP_CHUNK_TYPES) {
          return ctx.fail("Only one `--chunk-types' allowed", o.token, "the option once");
        }
        if (!option_value(o, ctx)) return false;
        // The match type is the first word. A match type holding a space is refused either
        // way, though then as an unknown chunk rather than as a bad match type.
        std::string_view v = o.value;
        size_t space = v.find(' ');
        if (space == std::string_view::npos) {
          return ctx.fail("--chunk-types requires two args", o.token, "all|any|only and the chunk types");
        }
        const std::string type(v.substr(0, space));
        if (strcasecmp(type.c_str(), "ANY") == 0) {
          m->chunk_match_type = SCTP_CHUNK_MATCH_ANY;
        } else if (strcasecmp(type.c_str(), "ALL") == 0) {
          m->chunk_match_type = SCTP_CHUNK_MATCH_ALL;
        } else if (strcasecmp(type.c_str(), "ONLY") == 0) {
          m->chunk_match_type = SCTP_CHUNK_MATCH_ONLY;
        } else {
          return ctx.fail("Match type has to be one of \"ALL\", \"ANY\" or \"ONLY\"", o.token, "all, any or only");
        }
        // A C string ends at a NUL, as the argument iptables reads.
        std::string_view chunks = v.substr(space + 1);
        chunks = chunks.substr(0, strnlen(chunks.data(), chunks.size()));
        if (!parse_chunks(chunks, *m, ctx, o.token)) return false;
        m->flags |= XT_SCTP_CHUNK_TYPES;
        if (o.invert) m->invflags |= XT_SCTP_CHUNK_TYPES;
        break;
      }
      default:
        return ctx.fail("sctp: unknown option " + o.token, o.token);
    }
  }
  // The kernel's xt_sctp is registered for IPPROTO_SCTP only.
  return dialect::require_protocol(ctx, IPPROTO_SCTP, "sctp", "sctp");
}

xt_sctp_info read_sctp(const void* data, size_t len) {
  xt_sctp_info m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  // The kernel refuses more entries; a negative count compares as huge there and is refused too.
  if (m.flag_count < 0) m.flag_count = 0;
  if (m.flag_count > XT_NUM_SCTP_FLAGS) m.flag_count = XT_NUM_SCTP_FLAGS;
  return m;
}

bool chunk_set(const xt_sctp_info& m, unsigned type) { return (m.chunkmap[type / 32] >> (type % 32)) & 1; }

// print_chunk_flags: `:` and the flag letters from bit 7 down, upper case when set. The
// letters come from the table entry whose index is the chunk type (see chunk_names); a type
// past the table (only in a struct iptables did not write; iptables reads past its array
// there) prints `-` for each flag.
void append_chunk_flags(std::string& out, unsigned type, uint8_t flag, uint8_t mask) {
  if (mask) out += ':';
  const char* valid = type < kChunkNames ? chunk_names[type].valid_flags : "--------";
  for (int bit = 7; bit >= 0; bit--) {
    if (!(mask & (1u << bit))) continue;
    char c = valid[7 - bit];
    out += (flag & (1u << bit)) ? c : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
}

// print_chunks: ` any|all|only`, then ` NONE`, ` ALL` (every word of the map, all 2048 bits
// the uapi struct holds) or the chunk types set among the first 256: names, or `0x%04X` for
// -L -n; a type without a name prints nothing (iptables has none to print).
void append_chunks(std::string& out, const xt_sctp_info& m, bool numeric) {
  switch (m.chunk_match_type) {
    case SCTP_CHUNK_MATCH_ANY: out += " any"; break;
    case SCTP_CHUNK_MATCH_ALL: out += " all"; break;
    case SCTP_CHUNK_MATCH_ONLY: out += " only"; break;
    // A value the kernel lets through (0, or several bits) but iptables never writes;
    // iptables prints this text and a newline, which would break the line here.
    default: out += "Never reach here"; break;
  }
  bool clear = true, full = true;
  for (size_t w = 0; w < kChunkWords; w++) {
    clear = clear && m.chunkmap[w] == 0;
    full = full && m.chunkmap[w] == ~0u;
  }
  if (clear) {
    out += " NONE";
    return;
  }
  if (full) {
    out += " ALL";
    return;
  }
  bool first = true;
  for (unsigned type = 0; type < 256; type++) {
    if (!chunk_set(m, type)) continue;
    out += first ? ' ' : ',';
    first = false;
    if (numeric) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%04X", type);
      out += buf;
    } else {
      for (const ChunkName& n : chunk_names) {
        if (n.type == type) out += n.name;
      }
    }
    for (int j = 0; j < m.flag_count; j++) {
      const xt_sctp_flag_info& f = m.flag_info[j];
      if (f.chunktype == type) append_chunk_flags(out, type, f.flag, f.flag_mask);
    }
  }
}

// sctp_save prints a port option whenever its flag is set, 0:65535 included (libxt_tcp and
// libxt_udp print nothing for the whole range, so dialect::save_port_range does not fit).
void save_ports(std::string& out, const char* option, const uint16_t range[2], bool invert) {
  if (invert) out += " !";
  out += " --";
  out += option;
  out += ' ';
  dialect::append_u64(out, range[0]);
  if (range[0] != range[1]) {
    out += ':';
    dialect::append_u64(out, range[1]);
  }
}

void sctp_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  const xt_sctp_info m = read_sctp(data, len);
  out += "-m sctp";
  if (m.flags & XT_SCTP_SRC_PORTS) save_ports(out, "sport", m.spts, m.invflags & XT_SCTP_SRC_PORTS);
  if (m.flags & XT_SCTP_DEST_PORTS) save_ports(out, "dport", m.dpts, m.invflags & XT_SCTP_DEST_PORTS);
  if (m.flags & XT_SCTP_CHUNK_TYPES) {
    out += (m.invflags & XT_SCTP_CHUNK_TYPES) ? " ! --chunk-types" : " --chunk-types";
    append_chunks(out, m, false);  // names, whatever the listing mode
  }
}

void sctp_list(const void* data, size_t len, uint8_t, const PrintCtx& ctx, std::string& out) {
  const xt_sctp_info m = read_sctp(data, len);
  out += "sctp";
  // print_ports is libxt_tcp's: nothing for 0:65535 unless inverted; sctp service names.
  if (m.flags & XT_SCTP_SRC_PORTS) {
    dialect::list_port_range(out, "spt", m.spts, m.invflags & XT_SCTP_SRC_PORTS, "sctp", ctx.numeric);
  }
  if (m.flags & XT_SCTP_DEST_PORTS) {
    dialect::list_port_range(out, "dpt", m.dpts, m.invflags & XT_SCTP_DEST_PORTS, "sctp", ctx.numeric);
  }
  if (m.flags & XT_SCTP_CHUNK_TYPES) {
    if (m.invflags & XT_SCTP_CHUNK_TYPES) out += " !";
    append_chunks(out, m, ctx.numeric);
  }
}

size_t sctp_size(uint8_t revision) { return revision == 0 ? XT_ALIGN(sizeof(xt_sctp_info)) : 0; }
size_t sctp_usersize(uint8_t revision) { return revision == 0 ? sizeof(xt_sctp_info) : 0; }

const dialect::Extension sctp_extension{
    "sctp", nullptr, "sctp", false, 0, 0, 1u << 0, sctp_size, sctp_usersize, sctp_options,
    sctp_parse, nullptr, sctp_save, sctp_list,
};
IPTKIT_REGISTER_EXTENSION(sctp_extension);

}  // namespace
}  // namespace iptkit
