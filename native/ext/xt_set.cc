// The `set` match, revision 4 (xt_set.h, struct xt_set_info_match_v4), in the native dialect
// (libxt_set of iptables 1.8.9, which writes the newest revision the kernel has, 4: its
// revision 5, physdev:, came later). `-m set [!] --match-set NAME src|dst[,…]` tests the
// packet's addresses against an ipset; Docker 28.0.0 matches its bridges' subnets this way.
//
// The kernel's struct holds the set's index, not its name: the parse asks the ipset module
// for the index of the name and the printers for the name of the index, as libxt_set does,
// over getsockopt(SOL_IP, SO_IP_SET) on a raw socket of the calling thread's network
// namespace (ipsets are per namespace; the kernel paths run in the target one). A set the
// kernel has not, or of the other family, is refused as iptables refuses it; an index whose
// set is gone prints as nothing here, so the rule is carried as its bytes.
#include <netinet/in.h>  // before the linux headers, which would define in_addr again
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_set.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../dialect/extension.h"
#include "../dialect/xtoptions.h"

namespace iptkit {
namespace {

using dialect::OptionSpec;
using dialect::ParseCtx;
using dialect::ParsedOption;
using dialect::PrintCtx;

enum {
  O_MATCH_SET,
  O_RETURN_NOMATCH,
  O_UPDATE_COUNTERS,
  O_PACKETS_EQ,
  O_PACKETS_LT,
  O_PACKETS_GT,
  O_BYTES_EQ,
  O_BYTES_LT,
  O_BYTES_GT,
  O_UPDATE_SUBCOUNTERS,
};
// set_opts_v3, an old-style (getopt) table: every option reaches the module with its `!`,
// and the module decides (so all are invertible here). `--set` is the deprecated spelling.
const OptionSpec kOptions[] = {
    {"match-set", "set", true, true, 2},
    {"return-nomatch", nullptr, false, true, 0},
    {"update-counters", nullptr, false, true, 0},
    {"packets-eq", nullptr, true, true, 1},
    {"packets-lt", nullptr, true, true, 1},
    {"packets-gt", nullptr, true, true, 1},
    {"bytes-eq", nullptr, true, true, 1},
    {"bytes-lt", nullptr, true, true, 1},
    {"bytes-gt", nullptr, true, true, 1},
    {"update-subcounters", nullptr, false, true, 0},
    {nullptr, nullptr, false, false, 0},
};

size_t set_size(uint8_t) { return XT_ALIGN(sizeof(xt_set_info_match_v4)); }

// A raw socket of this thread's namespace that the ipset module answers on, with the
// protocol version it speaks (get_version); -1 and errno when there is none.
int ipset_socket(unsigned& version) {
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return -1;
  ip_set_req_version req{};
  req.op = IP_SET_OP_VERSION;
  socklen_t size = sizeof req;
  if (getsockopt(fd, SOL_IP, SO_IP_SET, &req, &size) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  version = req.version;
  return fd;
}

// get_set_byname: IP_SET_OP_GET_FNAME (index and family), as iptables 1.8.9 asks; with no
// kernel asked (OfflineNames), the name's place in the thread's table.
bool set_index(const std::string& name, const ParseCtx& ctx, const std::string& token, ip_set_id_t& index) {
  if (dialect::OfflineNames* offline = dialect::offline_names()) {
    size_t i = 0;
    while (i < offline->names.size() && offline->names[i] != name) i++;
    if (i == offline->names.size()) offline->names.push_back(name);
    index = static_cast<ip_set_id_t>(i);
    return true;
  }
  unsigned version = 0;
  int fd = ipset_socket(version);
  if (fd < 0) {
    return ctx.fail("set: cannot ask the kernel for ipset " + name + " (is module ip_set loaded?): " + strerror(errno),
                    token, "an existing ipset");
  }
  ip_set_req_get_set_family req{};
  req.op = IP_SET_OP_GET_FNAME;
  req.version = version;
  std::memcpy(req.set.name, name.data(), name.size());  // checked shorter than IPSET_MAXNAMELEN
  socklen_t size = sizeof req;
  int rc = getsockopt(fd, SOL_IP, SO_IP_SET, &req, &size);
  int e = errno;
  close(fd);
  if (rc != 0 || size != sizeof req) {
    return ctx.fail("set: problem when communicating with ipset: " + std::string(strerror(rc ? e : EPROTO)), token,
                    "an existing ipset");
  }
  if (req.set.index == IPSET_INVALID_ID) {
    return ctx.fail("set: Set " + name + " doesn't exist.", token, "an existing ipset");
  }
  if (req.family != static_cast<unsigned>(ctx.family) && req.family != NFPROTO_UNSPEC) {
    return ctx.fail("set: The protocol family of set " + name + " is " +
                        (req.family == NFPROTO_IPV4 ? "IPv4" : "IPv6") + ", which is not applicable.",
                    token, "an ipset of the rule's family");
  }
  index = req.set.index;
  return true;
}

// get_set_byid: the name of an index, or false when the kernel (or OfflineNames) has none.
bool set_name(ip_set_id_t index, std::string& name) {
  if (dialect::OfflineNames* offline = dialect::offline_names()) {
    if (index >= offline->names.size()) return false;
    name = offline->names[index];
    return true;
  }
  unsigned version = 0;
  int fd = ipset_socket(version);
  if (fd < 0) return false;
  ip_set_req_get_set req{};
  req.op = IP_SET_OP_GET_BYINDEX;
  req.version = version;
  req.set.index = index;
  socklen_t size = sizeof req;
  int rc = getsockopt(fd, SOL_IP, SO_IP_SET, &req, &size);
  close(fd);
  if (rc != 0 || size != sizeof req || req.set.name[0] == '\0') return false;
  name.assign(req.set.name, strnlen(req.set.name, IPSET_MAXNAMELEN));
  return true;
}

// parse_dirs: up to IPSET_DIM_MAX comma-separated words, each starting `src` or `dst`
// (strncmp of three bytes, so `srcfoo` counts as src); dimension i's src is bit i.
bool parse_dirs(std::string_view arg, xt_set_info& info, const ParseCtx& ctx, const std::string& token) {
  size_t pos = 0;
  bool more = true;
  while (info.dim < IPSET_DIM_MAX && more) {
    info.dim++;
    size_t comma = arg.find(',', pos);
    std::string_view word = arg.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    more = comma != std::string_view::npos;
    pos = more ? comma + 1 : arg.size();
    if (word.substr(0, 3) == "src") {
      info.flags |= static_cast<uint8_t>(1u << info.dim);
    } else if (word.substr(0, 3) != "dst") {
      return ctx.fail("set: You must spefify (the comma separated list of) 'src' or 'dst'.", token, "src or dst");
    }
  }
  if (more) {
    return ctx.fail("set: Can't be more src/dst options than " + std::to_string(IPSET_DIM_MAX) + ".", token,
                    "at most " + std::to_string(IPSET_DIM_MAX) + " of src,dst");
  }
  return true;
}

// parse_counter: xtables_strtoul, base 0, the whole 64 bits.
bool counter(const ParsedOption& o, const ParseCtx& ctx, ip_set_counter_match& c, uint8_t op, const char* which) {
  if (c.op != IPSET_COUNTER_NONE) {
    return ctx.fail(std::string("set: only one of the --") + which + "-[eq|lt|gt] is allowed", o.token,
                    std::string("one --") + which + "-* option");
  }
  uint64_t v = 0;
  if (!dialect::xtables_strtoul(o.value, 0, UINT64_MAX, v)) {
    return ctx.fail("set: Cannot parse " + o.value + " as a counter value", o.token, "a number");
  }
  c.op = op;
  c.value = v;
  return true;
}

bool set_parse(const std::vector<ParsedOption>& options, const ParseCtx& ctx, void* data) {
  auto* info = static_cast<xt_set_info_match_v4*>(data);
  for (const ParsedOption& o : options) {
    size_t index = dialect::option_index(o, kOptions);
    if (o.invert && (index == O_RETURN_NOMATCH || index == O_PACKETS_LT || index == O_PACKETS_GT ||
                     index == O_BYTES_LT || index == O_BYTES_GT)) {
      return ctx.fail(std::string("set: --") + o.spec->name + (index == O_RETURN_NOMATCH ? " flag" : " option") +
                          " cannot be inverted",
                      o.token, o.token + " without !");
    }
    switch (index) {
      case O_MATCH_SET: {
        if (info->match_set.dim) {
          return ctx.fail("set: --match-set can be specified only once", o.token, "one --match-set");
        }
        // NAME and FLAGS joined by one space; a quoted name may hold spaces, the flags not.
        size_t sp = o.value.rfind(' ');
        std::string name = o.value.substr(0, sp);
        std::string_view dirs = std::string_view(o.value).substr(sp + 1);
        if (name.size() > IPSET_MAXNAMELEN - 1) {
          return ctx.fail("set: setname `" + name + "' too long, max " + std::to_string(IPSET_MAXNAMELEN - 1) +
                              " characters.",
                          o.token, "a set name of at most 31 bytes");
        }
        if (name.find('\0') != std::string::npos) {
          return ctx.fail("set: a set name cannot hold a NUL byte", o.token, "a set name");
        }
        if (o.invert) info->match_set.flags |= IPSET_INV_MATCH;
        if (!set_index(name, ctx, o.token, info->match_set.index)) return false;
        if (!parse_dirs(dirs, info->match_set, ctx, o.token)) return false;
        break;
      }
      case O_RETURN_NOMATCH:
        info->flags |= IPSET_FLAG_RETURN_NOMATCH;
        break;
      case O_UPDATE_COUNTERS:
      case O_UPDATE_SUBCOUNTERS:
        // Only the negated form does anything: counters are updated by default.
        if (o.invert) {
          info->flags |= index == O_UPDATE_COUNTERS ? IPSET_FLAG_SKIP_COUNTER_UPDATE : IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE;
        }
        break;
      case O_PACKETS_EQ:
        if (!counter(o, ctx, info->packets, o.invert ? IPSET_COUNTER_NE : IPSET_COUNTER_EQ, "packets")) return false;
        break;
      case O_PACKETS_LT:
        if (!counter(o, ctx, info->packets, IPSET_COUNTER_LT, "packets")) return false;
        break;
      case O_PACKETS_GT:
        if (!counter(o, ctx, info->packets, IPSET_COUNTER_GT, "packets")) return false;
        break;
      case O_BYTES_EQ:
        if (!counter(o, ctx, info->bytes, o.invert ? IPSET_COUNTER_NE : IPSET_COUNTER_EQ, "bytes")) return false;
        break;
      case O_BYTES_LT:
        if (!counter(o, ctx, info->bytes, IPSET_COUNTER_LT, "bytes")) return false;
        break;
      case O_BYTES_GT:
        if (!counter(o, ctx, info->bytes, IPSET_COUNTER_GT, "bytes")) return false;
        break;
    }
  }
  if (!info->match_set.dim) {
    return ctx.fail("set: You must specify `--match-set' with proper arguments", "-m set", "--match-set NAME src|dst");
  }
  return true;
}

xt_set_info_match_v4 read_info(const void* data, size_t len) {
  xt_set_info_match_v4 m{};
  std::memcpy(&m, data, len < sizeof m ? len : sizeof m);
  return m;
}

// Printed only when the kernel still names the index (a set deleted under a rule cannot be:
// the kernel refuses to destroy a set a rule refers to, but a read may race a swap).
bool set_accepts(const void* data, size_t len, uint8_t) {
  if (len < sizeof(xt_set_info_match_v4)) return false;
  std::string name;
  return set_name(read_info(data, len).match_set.index, name);
}

void append_counter(std::string& out, const ip_set_counter_match& c, const char* name, const char* sep) {
  if (c.op == IPSET_COUNTER_NONE) return;
  out += c.op == IPSET_COUNTER_NE ? " ! " : " ";
  out += sep;
  out += name;
  out += c.op == IPSET_COUNTER_LT ? "-lt " : c.op == IPSET_COUNTER_GT ? "-gt " : "-eq ";
  dialect::append_u64(out, c.value);
}

// set_print_v3_matchinfo: `sep` is "--" for save and "" for -L.
void print(const void* data, size_t len, const char* sep, std::string& out) {
  xt_set_info_match_v4 m = read_info(data, len);
  std::string name;
  set_name(m.match_set.index, name);
  if (m.match_set.flags & IPSET_INV_MATCH) out += "! ";
  out += sep;
  out += "match-set ";
  out += name;
  for (int i = 1; i <= m.match_set.dim; i++) {
    out += i == 1 ? " " : ",";
    out += m.match_set.flags & (1u << i) ? "src" : "dst";
  }
  if (m.flags & IPSET_FLAG_RETURN_NOMATCH) (out += " ", out += sep, out += "return-nomatch");
  if (m.flags & IPSET_FLAG_SKIP_COUNTER_UPDATE) (out += " ! ", out += sep, out += "update-counters");
  if (m.flags & IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE) (out += " ! ", out += sep, out += "update-subcounters");
  append_counter(out, m.packets, "packets", sep);
  append_counter(out, m.bytes, "bytes", sep);
}

void set_save(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  out += "-m set ";
  print(data, len, "--", out);
}

void set_list(const void* data, size_t len, uint8_t, const PrintCtx&, std::string& out) {
  print(data, len, "", out);
}

const dialect::Extension extension{
    "set", nullptr, "set", false, 0, 4, 1u << 4, set_size, set_size, kOptions,
    set_parse, set_accepts, set_save, set_list,
};
IPTKIT_REGISTER_EXTENSION(extension);

}  // namespace
}  // namespace iptkit
