#include "commit.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "../dialect/parse.h"
#include "builtin.h"
#include "handles.h"
#include "rule_encode.h"
#include "socket.h"
#include "state_cache.h"

namespace iptkit {
namespace nft {

namespace {

// ---- the wire, parsed ----

// A kept rule (by handle) or a new one (rules[rule]); small, since a chain of 30,000 kept rules
// is 30,000 of them.
struct Item {
  bool keep = false;
  uint64_t handle = 0;  // keep
  size_t rule = 0;      // new: index into TableSpec::rules
};

struct NewRule {
  dialect::Rule rule;
  uint64_t packets = 0, bytes = 0;
  size_t line = 0;  // 1-based line in its table's wire string, for errors
};

struct ChainSpec {
  std::string name;
  bool has_policy = false;
  uint32_t policy = NF_ACCEPT;
  bool has_counters = false;  // pkts=/bytes=: the policy counters (restore -c)
  uint64_t packets = 0, bytes = 0;
  std::vector<Item> items;
  size_t new_rules = 0;
};

struct TableSpec {
  std::string name;
  const BuiltinTable* builtin = nullptr;
  bool append = false;  // `append=1`: rules are only appended to listed chains (docs/wire.md)
  std::vector<ChainSpec> chains;
  std::vector<NewRule> rules;  // the new rules of all chains, reserved up front: no moves of big structs
};

// Plain decimal, as the frame writes numbers; false for anything else or above `max`.
bool parse_decimal(std::string_view s, uint64_t max, uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (v > max) return false;
  out = v;
  return true;
}

// The tab-separated fields of a record; the last of `max` fields takes the rest of the line
// (a rule's text may hold anything but a line break).
void split_fields(std::string_view line, std::vector<std::string_view>& out, size_t max) {
  out.clear();
  size_t pos = 0;
  while (out.size() + 1 < max) {
    size_t tab = line.find('\t', pos);
    if (tab == std::string_view::npos) break;
    out.push_back(line.substr(pos, tab - pos));
    pos = tab + 1;
  }
  out.push_back(line.substr(pos));
}

// `keep\t<decimal>`: the one record a commit that keeps most rules is made of, read without the
// general path. Anything else is left to it, which gives the same result or says what is wrong.
bool fast_keep(std::string_view line, uint64_t& handle) {
  constexpr std::string_view kKeep = "keep\t";
  if (line.size() <= kKeep.size() || line.size() > kKeep.size() + 19 || line.compare(0, kKeep.size(), kKeep) != 0) {
    return false;
  }
  uint64_t h = 0;
  for (size_t i = kKeep.size(); i < line.size(); i++) {
    unsigned d = static_cast<unsigned char>(line[i]) - '0';
    if (d > 9) return false;
    h = h * 10 + d;  // at most 19 digits: no overflow
  }
  handle = h;
  return true;
}

OpError bad_wire(const std::string& table, size_t line, const std::string& what, const std::string& chain = {}) {
  return make_error(EINVAL, "commit", "table " + table + " wire line " + std::to_string(line) + ": " + what, table, chain);
}

// Calls fn(line) for each non-empty line of `text` (an empty line is no record).
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    if (nl > pos && !fn(text.substr(pos, nl - pos))) return;
    pos = nl + 1;
  }
}

OpError parse_table(const std::string& text, bool v6, TableSpec& out) {
  const Family family = v6 ? Family::ipv6 : Family::ipv4;
  OpError err;
  size_t lineno = 0;
  std::vector<std::string_view> f;
  ChainSpec* chain = nullptr;
  std::set<std::string, std::less<>> names;
  size_t rule_records = 0;
  for (size_t at = text.find("\nrule\t"); at != std::string::npos; at = text.find("\nrule\t", at + 1)) rule_records++;
  out.rules.reserve(rule_records);
  for_each_line(text, [&](std::string_view line) -> bool {
    lineno++;
    uint64_t kh = 0;
    if (chain && !out.append && fast_keep(line, kh)) {
      chain->items.push_back(Item{true, kh, 0});
      return true;
    }
    auto fail = [&](const std::string& what) {
      err = bad_wire(out.name.empty() ? "?" : out.name, lineno, what, chain ? chain->name : std::string());
      return false;
    };
    split_fields(line, f, line.compare(0, 5, "rule\t") == 0 ? 4 : SIZE_MAX);
    const std::string_view kind = f[0];
    if (lineno == 1) {
      if (kind != "table" || f.size() < 2 || f[1].empty()) return fail("the first record must be `table <name>`");
      out.name = std::string(f[1]);
      out.builtin = find_builtin_table(out.name);
      if (!out.builtin) return fail("'" + out.name + "' is not an iptables table");
      for (size_t i = 2; i < f.size(); i++) {
        if (f[i] == "family=ipv4" || f[i] == "family=ipv6") {
          if (f[i] != (v6 ? "family=ipv6" : "family=ipv4")) {
            return fail(std::string(f[i]) + " in a " + (v6 ? "ipv6" : "ipv4") + " commit");
          }
        } else if (f[i] == "append=1") {
          out.append = true;
        } else if (f[i] != "append=0") {
          return fail("unknown field '" + std::string(f[i]) + "' on the table record");
        }
      }
      return true;
    }
    if (kind == "chain") {
      if (f.size() < 2 || f[1].empty()) return fail("chain needs a name");
      std::string name(f[1]);
      if (!names.insert(name).second) return fail("chain " + name + " listed twice");
      out.chains.push_back(ChainSpec{});
      chain = &out.chains.back();
      chain->name = std::move(name);
      bool pkts = false, bytes = false;
      for (size_t i = 2; i < f.size(); i++) {
        std::string_view key = f[i].substr(0, f[i].find('='));
        if (key.size() == f[i].size()) return fail("'" + std::string(f[i]) + "' is not key=value");
        std::string_view value = f[i].substr(key.size() + 1);
        if (out.append && (key == "policy" || key == "pkts" || key == "bytes" || key == "was")) {
          return fail(std::string(key) + "= on chain " + chain->name + " in an append=1 table (it only appends rules)");
        }
        uint64_t n = 0;
        if (key == "policy") {
          if (value != "ACCEPT" && value != "DROP") return fail("policy=" + std::string(value) + " is not ACCEPT or DROP");
          if (!find_builtin_chain(out.builtin, chain->name)) {
            return fail("policy on " + chain->name + ", which is not a built-in chain of " + out.name);
          }
          chain->has_policy = true;
          chain->policy = value == "DROP" ? NF_DROP : NF_ACCEPT;
        } else if (key == "pkts" || key == "bytes" || key == "was") {
          if (!parse_decimal(value, UINT64_MAX, n)) return fail(std::string(key) + "=" + std::string(value) + " is not a number");
          if (key == "pkts") chain->packets = n, pkts = true;
          else if (key == "bytes") chain->bytes = n, bytes = true;
          // was= is legacy's guard; here the generation is (docs/wire.md).
        } else {
          return fail("unknown field '" + std::string(f[i]) + "' on chain " + chain->name);
        }
      }
      if (pkts != bytes) return fail("chain " + chain->name + ": pkts= and bytes= go together");
      chain->has_counters = pkts;
      return true;
    }
    if (!chain) return fail(std::string(kind) + " before any chain");
    if (kind == "keep") {
      if (out.append) return fail("keep in chain " + chain->name + " in an append=1 table (its rules are all kept)");
      uint64_t h = 0;
      if (f.size() != 2 || !parse_decimal(f[1], UINT64_MAX, h)) return fail("keep needs a rule handle");
      chain->items.push_back(Item{true, h, 0});
      return true;
    }
    if (kind == "rule") {
      if (f.size() < 3) return fail("rule needs <pkts|-> <bytes|-> <rule text>");
      std::string_view text = f.size() > 3 ? f[3] : std::string_view();
      const bool dash_p = f[1] == "-", dash_b = f[2] == "-";
      if (dash_p != dash_b) return fail("rule counters: give both or `-` for both");
      uint64_t packets = 0, bytes = 0;
      if (!dash_p && (!parse_decimal(f[1], UINT64_MAX, packets) || !parse_decimal(f[2], UINT64_MAX, bytes))) {
        return fail("rule counters '" + std::string(f[1]) + "' '" + std::string(f[2]) + "' are not numbers");
      }
      if (text.find('\r') != std::string_view::npos) return fail("a line break cannot be part of a rule");
      NewRule& nr = out.rules.emplace_back();  // parsed in place: a Rule is big to move
      nr.line = lineno;
      dialect::ParseError perr;
      // opaque_ok: a marker iptkit printed from the kernel goes back byte for byte.
      if (!dialect::parse_rule(text, family, nr.rule, perr, nullptr, /*opaque_ok=*/true)) {
        std::string what = "chain " + chain->name + ": rule '" + std::string(text) + "': " + perr.message;
        if (!perr.token.empty() && perr.message.find(perr.token) == std::string::npos) what += " (at '" + perr.token + "')";
        return fail(what);
      }
      nr.packets = dash_p && nr.rule.has_counters ? nr.rule.packets : packets;  // -c in the text itself
      nr.bytes = dash_p && nr.rule.has_counters ? nr.rule.bytes : bytes;
      chain->items.push_back(Item{false, 0, out.rules.size() - 1});
      chain->new_rules++;
      return true;
    }
    if (kind.size() && kind[0] == '#') return fail("a rule written by nft cannot be written back; keep it by its handle");
    return fail("unknown record '" + std::string(kind) + "'");
  });
  if (!err && lineno == 0) err = make_error(EINVAL, "commit", "an empty table string");
  return err;
}

// ---- the kernel's current state, as far as the commit needs it ----

// Rule dumps need only chain and handle: parse those two attributes, not the expressions.
int rule_handle_cb(const nlattr* attr, void* data) {
  auto** tb = static_cast<const nlattr**>(data);
  int type = mnl_attr_get_type(attr);
  if (type == NFTA_RULE_CHAIN || type == NFTA_RULE_HANDLE) tb[type] = attr;
  return MNL_CB_OK;
}

// ---- the batch ----

// What a batch message does, for the error that names it; the text is only built for an error.
// The names point into the parsed specs and the current state, which outlive the batch.
struct MsgInfo {
  enum Kind : uint8_t { kBatch, kBatchEnd, kCreateTable, kCreateChain, kSetPolicy, kFlushChain, kDeleteRule,
                        kDeleteChain, kNewRule } kind;
  const std::string* table = nullptr;
  const std::string* chain = nullptr;
  uint64_t a = 0, b = 0;  // kDeleteRule: handle; kNewRule: index in the chain, wire line

  std::string what() const {
    switch (kind) {
      case kBatch: return "batch";
      case kBatchEnd: return "batch end";
      case kCreateTable: return "create table";
      case kCreateChain: return "create chain";
      case kSetPolicy: return "set policy";
      case kFlushChain: return "flush chain";
      case kDeleteRule: return "delete rule handle " + std::to_string(a);
      case kDeleteChain: return "delete chain";
      case kNewRule: return "rule " + std::to_string(a) + " (wire line " + std::to_string(b) + ")";
    }
    return "";
  }
};

class Batch {
 public:
  explicit Batch(uint16_t family) : family_(family) {}

  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  ~Batch() { free(buf_); }

  // Room for one message of at most `bound` bytes, all zero (libmnl leaves attribute padding
  // as it finds it); valid until the next call. realloc, not a vector: a large block grows by
  // remapping rather than copying, and each byte is zeroed once, not on every growth.
  char* reserve(size_t bound) {
    if (cap_ < used_ + bound) {
      size_t cap = std::max(cap_ * 2, used_ + bound);
      char* p = static_cast<char*>(realloc(buf_, cap));
      if (!p) throw std::bad_alloc();
      buf_ = p;
      cap_ = cap;
    }
    // Bytes from used_ to zeroed_ are still zero: a message writes only its own length.
    if (zeroed_ < used_ + bound) {
      std::memset(buf_ + zeroed_, 0, used_ + bound - zeroed_);
      zeroed_ = used_ + bound;
    }
    return buf_ + used_;
  }
  nlmsghdr* hdr(uint16_t type, uint16_t flags, size_t bound, MsgInfo info) {
    char* p = reserve(bound);
    uint32_t seq = next_seq_++;
    info_.push_back(info);
    return nftnl_nlmsg_build_hdr(p, type, family_, flags, seq);
  }
  void done(nlmsghdr* nlh) { used_ += NLMSG_ALIGN(nlh->nlmsg_len); }

  // `guarded`: the batch carries `generation`, else no generation at all (an all-append commit).
  void begin(uint32_t seq0, uint32_t generation, bool guarded) {
    first_seq_ = seq0;
    next_seq_ = seq0;
    char* p = reserve(256);
    nlmsghdr* nlh = nftnl_batch_begin(p, next_seq_++);
    // The kernel refuses the whole batch with ERESTART unless the ruleset is still at this
    // generation: a writer that changed it since the read cannot be overwritten.
    if (guarded) mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(generation));
    info_.push_back({MsgInfo::kBatch});
    done(nlh);
  }
  void end() {
    char* p = reserve(256);
    nlmsghdr* nlh = nftnl_batch_end(p, next_seq_++);
    info_.push_back({MsgInfo::kBatchEnd});
    done(nlh);
  }
  const MsgInfo* info(uint32_t seq) const {
    if (seq < first_seq_ || seq - first_seq_ >= info_.size()) return nullptr;
    return &info_[seq - first_seq_];
  }
  uint32_t first_seq() const { return first_seq_; }
  uint32_t last_seq() const { return next_seq_ - 1; }
  const char* data() const { return buf_; }
  size_t size() const { return used_; }
  size_t messages() const { return info_.size(); }

 private:
  uint16_t family_;
  char* buf_ = nullptr;
  size_t cap_ = 0;
  size_t used_ = 0;
  size_t zeroed_ = 0;
  uint32_t first_seq_ = 0, next_seq_ = 0;
  std::vector<MsgInfo> info_;
};

void add_chain_msg(Batch& b, uint16_t type, uint16_t flags, nftnl_chain* c, MsgInfo info) {
  nlmsghdr* nlh = b.hdr(type, flags, 1024, info);
  nftnl_chain_nlmsg_build_payload(nlh, c);
  b.done(nlh);
}

void add_rule_msg(Batch& b, uint16_t type, uint16_t flags, nftnl_rule* r, size_t bound, MsgInfo info) {
  nlmsghdr* nlh = b.hdr(type, flags, bound, info);
  nftnl_rule_nlmsg_build_payload(nlh, r);
  b.done(nlh);
}

ChainPtr builtin_chain(const char* table, const BuiltinChain& bc, uint16_t family) {
  ChainPtr c(nftnl_chain_alloc());
  if (!c) throw std::bad_alloc();
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, family);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, bc.name);
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, bc.hook);
  nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, bc.prio);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, bc.type);
  return c;
}

OpError do_commit(bool v6, uint32_t generation, const std::vector<std::string>& wire) {
  const uint16_t family = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  const Family fam = v6 ? Family::ipv6 : Family::ipv4;
  std::vector<TableSpec> specs(wire.size());
  for (size_t i = 0; i < wire.size(); i++) {
    if (OpError e = parse_table(wire[i], v6, specs[i])) return e;
    for (size_t j = 0; j < i; j++) {
      if (specs[j].name == specs[i].name) return make_error(EINVAL, "commit", "table " + specs[i].name + " given twice", specs[i].name);
    }
  }

  // A call made only of append=1 tables needs no read and no generation guard: appends cannot
  // lose another writer's rules, so a concurrent change is no conflict. A call that mixes them
  // with normal tables keeps the guard (for the normal tables' sake).
  const bool guarded = !(!specs.empty() && std::all_of(specs.begin(), specs.end(), [](const TableSpec& s) { return s.append; }));
  const bool any_append = std::any_of(specs.begin(), specs.end(), [](const TableSpec& s) { return s.append; });

  NlSocket sock;
  if (int err = sock.open()) return make_error(err, "commit", std::string("cannot open a netfilter netlink socket: ") + strerror(err));
  uint32_t now = 0;
  if (guarded) {
    if (int err = sock.get_gen(now)) return make_error(err, "commit", std::string("NFT_MSG_GETGEN: ") + strerror(err));
  }
  if (guarded && now != generation) {
    return make_error(ERESTART, "commit",
                      "the ruleset changed since it was read (generation " + std::to_string(generation) + ", now " +
                          std::to_string(now) + "); re-read and plan again");
  }

  // What exists now (the generation check above and in the batch makes it what the caller read).
  // The read that gave the caller this generation in this namespace recorded it: then nothing
  // needs dumping, and the batch's NFTA_GEN_ID makes the kernel refuse the commit unless the
  // ruleset is still exactly that.
  std::map<std::string, CurTable> cur;
  int err = 0;
  // Append tables take no part in this: they are neither dumped nor looked up in the record.
  std::shared_ptr<const CachedState> cached;
  if (guarded) cached = state_cache_get(sock.netns_cookie(), family, generation);
  for (const auto& s : specs) {
    if (cached && !s.append && !cached->tables.count(s.name)) cached = nullptr;
  }
  if (!guarded) {
    // Nothing but appends: nothing to dump.
  } else if (cached) {
    for (const auto& s : specs) {
      if (!s.append) cur[s.name] = cached->tables.at(s.name);
    }
  } else {
  for (const auto& s : specs) {
    if (!s.append) cur[s.name];
  }
  err = sock.dump(NFT_MSG_GETTABLE, family, nullptr, [&](const nlmsghdr* nlh) -> int {
    TablePtr t(nftnl_table_alloc());
    if (!t) return ENOMEM;
    if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return EPROTO;
    const char* name = nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME);
    auto it = name ? cur.find(name) : cur.end();
    if (it != cur.end()) it->second.exists = true;
    return 0;
  });
  if (err) return make_error(err, "commit", std::string("dump tables: ") + strerror(err));
  err = sock.dump(NFT_MSG_GETCHAIN, family, nullptr, [&](const nlmsghdr* nlh) -> int {
    ChainPtr c(nftnl_chain_alloc());
    if (!c) return ENOMEM;
    if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return EPROTO;
    const char* table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
    const char* name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
    auto it = table ? cur.find(table) : cur.end();
    if (it == cur.end() || !name) return 0;
    CurChain& cc = it->second.chains[name];
    cc.base = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM);
    if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY)) cc.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY);
    return 0;
  });
  if (err) return make_error(err, "commit", std::string("dump chains: ") + strerror(err));
  for (const auto& s : specs) {
    if (s.append) continue;
    bool any_keep = false;
    for (const auto& c : s.chains) {
      for (const auto& it : c.items) any_keep |= it.keep;
    }
    CurTable& ct = cur[s.name];
    if (!any_keep || !ct.exists) continue;
    err = sock.dump(
        NFT_MSG_GETRULE, family, [&](nlmsghdr* nlh) { mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, s.name.c_str()); },
        [&](const nlmsghdr* nlh) -> int {
          const nlattr* tb[NFTA_RULE_MAX + 1] = {};
          if (mnl_attr_parse(nlh, sizeof(nfgenmsg), rule_handle_cb, tb) < 0) return EPROTO;
          if (!tb[NFTA_RULE_CHAIN] || !tb[NFTA_RULE_HANDLE]) return 0;
          auto it = ct.chains.find(mnl_attr_get_str(tb[NFTA_RULE_CHAIN]));
          if (it == ct.chains.end()) return EAGAIN;
          it->second.handles.push_back(be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE])));
          return 0;
        });
    if (err) return make_error(err, "commit", "dump rules of table " + s.name + ": " + strerror(err), s.name);
  }
  }

  // Append tables: every listed chain must exist. One dump of the family's chains (chains only,
  // no rules) tells; a chain deleted after it makes the kernel refuse its NEWRULE instead, and
  // the batch, being atomic, commits nothing either way.
  if (any_append) {
    std::map<std::string, std::set<std::string>> have;  // append table -> its chains now
    for (const auto& s : specs) {
      if (s.append) have[s.name];
    }
    err = sock.dump(NFT_MSG_GETCHAIN, family, nullptr, [&](const nlmsghdr* nlh) -> int {
      ChainPtr c(nftnl_chain_alloc());
      if (!c) return ENOMEM;
      if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return EPROTO;
      const char* table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
      const char* name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
      auto it = table ? have.find(table) : have.end();
      if (it != have.end() && name) it->second.insert(name);
      return 0;
    });
    if (err) return make_error(err, "commit", std::string("dump chains: ") + strerror(err));
    for (const auto& s : specs) {
      if (!s.append) continue;
      const auto& chains = have[s.name];
      for (const auto& c : s.chains) {
        if (!chains.count(c.name)) {
          return make_error(ENOENT, "commit",
                            "table " + s.name + " chain " + c.name + ": No chain/target/match by that name (append=1 adds rules to existing chains only)",
                            s.name, c.name);
        }
      }
    }
  }

  Batch b(family);
  b.begin(sock.next_seq(), generation, guarded);

  // 1. Tables and chains that must exist before rules refer to them.
  for (const auto& s : specs) {
    if (s.append) continue;
    CurTable& ct = cur[s.name];
    if (!ct.exists) {
      TablePtr t(nftnl_table_alloc());
      if (!t) throw std::bad_alloc();
      nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, family);
      nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, s.name.c_str());
      nlmsghdr* nlh = b.hdr(NFT_MSG_NEWTABLE, NLM_F_CREATE, 512, {MsgInfo::kCreateTable, &s.name});
      nftnl_table_nlmsg_build_payload(nlh, t.get());
      b.done(nlh);
    }
    for (const auto& c : s.chains) {
      const BuiltinChain* bc = find_builtin_chain(s.builtin, c.name);
      auto it = ct.chains.find(c.name);
      bool exists = it != ct.chains.end();
      const bool policy = c.has_policy;
      const uint32_t pol = c.policy;
      const bool counters = c.has_counters;
      if (bc && (!exists || (policy && (pol != it->second.policy || counters)))) {
        // As iptables-nft: the full base chain (hook, type, priority) with its policy, and on
        // restore -c the policy counters.
        ChainPtr ch = builtin_chain(s.name.c_str(), *bc, family);
        if (policy || !exists) nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, policy ? pol : NF_ACCEPT);
        if (policy && counters) {
          nftnl_chain_set_u64(ch.get(), NFTNL_CHAIN_PACKETS, c.packets);
          nftnl_chain_set_u64(ch.get(), NFTNL_CHAIN_BYTES, c.bytes);
        }
        add_chain_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, ch.get(), {exists ? MsgInfo::kSetPolicy : MsgInfo::kCreateChain, &s.name, &c.name});
      } else if (!bc && !exists) {
        ChainPtr ch(nftnl_chain_alloc());
        if (!ch) throw std::bad_alloc();
        nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_FAMILY, family);
        nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, s.name.c_str());
        nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
        add_chain_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, ch.get(), {MsgInfo::kCreateChain, &s.name, &c.name});
      }
    }
  }

  // 2. Rules not kept go (all of them at once where nothing is kept), including those of chains
  //    about to be deleted, so that no deleted chain is still jumped to from a deleted rule.
  auto del_rules = [&](const std::string& table, const std::string& chain, const uint64_t* handle) {
    RulePtr r(nftnl_rule_alloc());
    if (!r) throw std::bad_alloc();
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
    if (handle) nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, *handle);
    add_rule_msg(b, NFT_MSG_DELRULE, 0, r.get(), 512,
                 {handle ? MsgInfo::kDeleteRule : MsgInfo::kFlushChain, &table, &chain, handle ? *handle : 0});
  };
  for (const auto& s : specs) {
    if (s.append) continue;
    CurTable& ct = cur[s.name];
    std::set<std::string> wanted;
    for (const auto& c : s.chains) {
      wanted.insert(c.name);
      auto it = ct.chains.find(c.name);
      bool any_keep = std::any_of(c.items.begin(), c.items.end(), [](const Item& i) { return i.keep; });
      if (it == ct.chains.end()) {
        if (any_keep) return make_error(ENOENT, "commit", "keep in chain " + c.name + ", which does not exist", s.name, c.name);
        continue;
      }
      if (!any_keep) {
        del_rules(s.name, c.name, nullptr);
        continue;
      }
      // Kept handles appear in the chain's order: one merge walk finds the rules that go.
      const auto& handles = it->second.handles;
      size_t j = 0;
      bool merged = true;
      for (const auto& item : c.items) {
        if (!item.keep) continue;
        while (j < handles.size() && handles[j] != item.handle) del_rules(s.name, c.name, &handles[j++]);
        if (j == handles.size()) {
          merged = false;
          break;
        }
        j++;
      }
      if (merged) {
        while (j < handles.size()) del_rules(s.name, c.name, &handles[j++]);
        continue;
      }
      // A keep that is missing or out of order: say which (the batch is not sent).
      std::unordered_map<uint64_t, size_t> pos;
      for (size_t i = 0; i < handles.size(); i++) pos[handles[i]] = i;
      size_t last = 0;
      bool first = true;
      for (const auto& item : c.items) {
        if (!item.keep) continue;
        auto p = pos.find(item.handle);
        if (p == pos.end()) {
          return make_error(ENOENT, "commit",
                            "keep " + std::to_string(item.handle) + ": chain " + c.name + " has no rule with that handle",
                            s.name, c.name);
        }
        if (!first && p->second <= last) {
          return make_error(EINVAL, "commit", "keep " + std::to_string(item.handle) + " is out of order in chain " + c.name,
                            s.name, c.name);
        }
        first = false;
        last = p->second;
      }
      return make_error(EINVAL, "commit", "the keeps of chain " + c.name + " do not match its rules", s.name, c.name);
    }
    for (const auto& [name, cc] : ct.chains) {
      if (!wanted.count(name)) del_rules(s.name, name, nullptr);
    }
  }

  // 3. Chains absent from the wire (append tables leave unlisted chains alone).
  for (const auto& s : specs) {
    if (s.append) continue;
    CurTable& ct = cur[s.name];
    for (const auto& [name, cc] : ct.chains) {
      if (std::any_of(s.chains.begin(), s.chains.end(), [&](const ChainSpec& c) { return c.name == name; })) continue;
      ChainPtr ch(nftnl_chain_alloc());
      if (!ch) throw std::bad_alloc();
      nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_FAMILY, family);
      nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, s.name.c_str());
      nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, name.c_str());
      add_chain_msg(b, NFT_MSG_DELCHAIN, 0, ch.get(), {MsgInfo::kDeleteChain, &s.name, &name});
    }
  }

  // 4. New rules. Each goes before the next kept rule of its chain (so a run of new rules keeps
  //    its order), or at the end when no kept rule follows. An append table has no keeps: all
  //    its rules are NLM_F_APPEND without a position, as iptables-nft -A sends them.
  for (const auto& s : specs) {
    for (const auto& c : s.chains) {
      if (c.new_rules == 0) continue;
      size_t next = 0;  // the first kept item after the current one, or items.size()
      size_t index = 0;
      for (size_t i = 0; i < c.items.size(); i++) {
        const Item& it = c.items[i];
        index++;
        if (it.keep) continue;
        if (next <= i) {
          next = i + 1;
          while (next < c.items.size() && !c.items[next].keep) next++;
        }
        const NewRule& rule = s.rules[it.rule];
        RulePtr r(nftnl_rule_alloc());
        if (!r) throw std::bad_alloc();
        nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, s.name.c_str());
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, c.name.c_str());
        std::string e;
        if (!encode_rule(rule.rule, rule.packets, rule.bytes, fam, r.get(), e)) {
          return make_error(EINVAL, "commit",
                            "table " + s.name + " chain " + c.name + " rule " + std::to_string(index) + " (wire line " +
                                std::to_string(rule.line) + "): " + e,
                            s.name, c.name);
        }
        uint16_t flags = NLM_F_CREATE;
        if (next < c.items.size()) nftnl_rule_set_u64(r.get(), NFTNL_RULE_POSITION, c.items[next].handle);
        else flags |= NLM_F_APPEND;
        add_rule_msg(b, NFT_MSG_NEWRULE, flags, r.get(), encoded_size_bound(rule.rule),
                     {MsgInfo::kNewRule, &s.name, &c.name, index, rule.line});
      }
    }
  }
  b.end();
  sock.used_seq(b.last_seq());

  std::vector<BatchError> errors;
  bool overflowed = false;
  err = sock.send_batch(b.data(), b.size(), errors, overflowed);
  if (err) return make_error(err, "commit", std::string("sending the batch: ") + strerror(err));
  if (errors.empty()) {
    if (overflowed) return make_error(ENOBUFS, "commit", "the batch failed and its errors overflowed the socket buffer");
    return {};
  }
  auto first = std::min_element(errors.begin(), errors.end(), [](const BatchError& a, const BatchError& c) { return a.seq < c.seq; });
  if (guarded && (first->err == ERESTART || first->seq == b.first_seq())) {
    return make_error(first->err, "commit",
                      "the ruleset changed since generation " + std::to_string(generation) + " (" + strerror(first->err) +
                          "); re-read and plan again");
  }
  const MsgInfo* info = b.info(first->seq);
  if (!info) return make_error(first->err, "commit", std::string("nf_tables batch: ") + strerror(first->err));
  std::string msg = info->what();
  const std::string table = info->table ? *info->table : "", chain = info->chain ? *info->chain : "";
  if (!table.empty()) msg = "table " + table + (chain.empty() ? "" : " chain " + chain) + ": " + msg;
  return make_error(first->err, "commit", msg + ": " + strerror(first->err), table, chain);
}

}  // namespace

OpError commit_tables(bool v6, uint32_t generation, const std::vector<std::string>& tables) {
  // Allocation failures inside the encoders surface here, never across a C callback.
  try {
    return do_commit(v6, generation, tables);
  } catch (const std::bad_alloc&) {
    return make_error(ENOMEM, "commit", "out of memory building the nf_tables batch");
  }
}

}  // namespace nft
}  // namespace iptkit
