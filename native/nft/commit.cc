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

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "../dialect/parse.h"
#include "builtin.h"
#include "handles.h"
#include "rule_encode.h"
#include "rule_sink.h"
#include "dump.h"
#include "socket.h"
#include "state_cache.h"

namespace iptkit {
namespace nft {

namespace {

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
  uint64_t a = 0, b = 0;  // kDeleteRule: handle; kNewRule: index in the chain, input line
  const char* line_word = "wire line";  // kNewRule: what `b` counts

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
      case kNewRule: return "rule " + std::to_string(a) + " (" + line_word + " " + std::to_string(b) + ")";
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

  // About how many messages the batch will hold (its MsgInfos are reserved at once).
  void expect(size_t messages) { info_.reserve(messages); }
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
  // The new rules of chain `c` of `t`, written elsewhere (a sink's mapping), take the next
  // `count` sequence numbers: one record for them all, their MsgInfos made only when an error
  // names one (a MsgInfo each was 14 MB at 300,000 rules, at the send, the peak).
  uint32_t claim_rules(const commit::TablePlan& t, const commit::ChainPlan& c, uint32_t count) {
    if (count > 0) runs_.push_back(Run{next_seq_, count, claimed_, &t, &c});
    claimed_ += count;
    const uint32_t seq = next_seq_;
    next_seq_ += count;
    return seq;
  }
  // Bytes written elsewhere go out here, between what the batch wrote before and after.
  void external(const iovec& v) {
    if (used_ > cut_) parts_.push_back({true, cut_, used_ - cut_});
    cut_ = used_;
    external_.push_back(v);
    parts_.push_back({false, external_.size() - 1, v.iov_len});
  }
  // The batch as iovecs, in order (valid while the batch and the external bytes are).
  std::vector<iovec> iovecs() const {
    std::vector<iovec> out;
    for (const Part& p : parts_) out.push_back(p.own ? iovec{buf_ + p.at, p.len} : external_[p.at]);
    if (used_ > cut_) out.push_back(iovec{buf_ + cut_, used_ - cut_});
    return out;
  }
  std::optional<MsgInfo> info(uint32_t seq) const {
    if (seq < first_seq_ || seq >= next_seq_) return std::nullopt;
    auto after = std::upper_bound(runs_.begin(), runs_.end(), seq, [](uint32_t q, const Run& r) { return q < r.seq; });
    size_t claimed_before = 0;
    if (after != runs_.begin()) {
      const Run& r = *(after - 1);
      if (seq - r.seq < r.count) return r.rule(seq - r.seq);
      claimed_before = r.before + r.count;
    }
    const size_t own = seq - first_seq_ - claimed_before;
    if (own >= info_.size()) return std::nullopt;
    return info_[own];
  }
  uint32_t first_seq() const { return first_seq_; }
  uint32_t last_seq() const { return next_seq_ - 1; }
  size_t messages() const { return info_.size(); }

 private:
  uint16_t family_;
  char* buf_ = nullptr;
  size_t cap_ = 0;
  size_t used_ = 0;
  size_t zeroed_ = 0;
  uint32_t first_seq_ = 0, next_seq_ = 0;
  std::vector<MsgInfo> info_;  // the batch's own messages, in order
  // claim_rules's runs, in order; `before`: messages claimed by the runs before it.
  struct Run {
    uint32_t seq, count;
    size_t before;
    const commit::TablePlan* table;
    const commit::ChainPlan* chain;
    // The k-th new rule of the chain.
    MsgInfo rule(uint32_t k) const {
      size_t index = 0;
      for (const commit::Item& it : chain->items) {
        index++;
        if (it.keep || k-- > 0) continue;
        return {MsgInfo::kNewRule, &table->name, &chain->name, index, table->rules[it.rule].line, table->line_word};
      }
      return {MsgInfo::kNewRule, &table->name, &chain->name};
    }
  };
  std::vector<Run> runs_;
  size_t claimed_ = 0;
  // Offsets, not pointers, into buf_ (realloc moves it).
  struct Part {
    bool own;
    size_t at, len;  // own: offset in buf_; else index into external_
  };
  std::vector<Part> parts_;
  std::vector<iovec> external_;
  size_t cut_ = 0;  // where buf_'s part after the last external one starts
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

using commit::Item;
using commit::TablePlan;

int gen_id_cb(const nlattr* attr, void* data) {
  auto** tb = static_cast<const nlattr**>(data);
  if (mnl_attr_get_type(attr) == NFTA_GEN_ID) tb[NFTA_GEN_ID] = attr;
  return MNL_CB_OK;
}

uint32_t verdict_of(const std::string& policy);

// After a commit that asked for echoes: each plan's new handles, and, when every new rule came
// back and the batch made exactly the next generation, the tables as committed (chains as the
// plan lists them, rules as kept and added) recorded for the next commit at that generation.
void learn_echo(const std::vector<TablePlan>& specs, const std::vector<std::vector<uint32_t>>& seqs,
                const std::unordered_map<uint32_t, uint64_t>& echoed, bool next_generation, uint32_t after,
                std::map<std::string, CurTable>& cur, const std::shared_ptr<const CachedState>& cached, uint64_t netns,
                uint16_t family, CommitEcho& out) {
  out.handles.assign(specs.size(), {});
  bool all = true;
  for (size_t si = 0; si < specs.size(); si++) {
    for (uint32_t seq : seqs[si]) {
      auto it = echoed.find(seq);
      if (it == echoed.end()) {
        all = false;
        break;
      }
      out.handles[si].push_back(it->second);
    }
  }
  if (!all || !next_generation) return;
  if (netns == 0) return;
  out.known = true;
  out.generation = after;
  out.netns = netns;
  auto state = std::make_shared<CachedState>();
  state->netns = netns;
  state->family = family;
  state->generation = after;
  if (cached) state->tables = cached->tables;
  for (size_t si = 0; si < specs.size(); si++) {
    const TablePlan& s = specs[si];
    const BuiltinTable* bt = find_builtin_table(s.name);
    const CurTable& was = cur[s.name];
    CurTable now;
    now.exists = true;
    size_t k = 0;
    for (const auto& c : s.chains) {
      CurChain cc;
      auto old = was.chains.find(c.name);
      if (old != was.chains.end()) {
        cc.base = old->second.base;
        cc.policy = old->second.policy;
      } else {
        cc.base = bt && find_builtin_chain(bt, c.name);
      }
      if (!c.policy.empty()) cc.policy = verdict_of(c.policy);
      cc.handles.reserve(c.items.size());
      for (const Item& it : c.items) cc.handles.push_back(it.keep ? it.at : out.handles[si][k++]);
      now.chains.emplace(c.name, std::move(cc));
    }
    state->tables[s.name] = std::move(now);
  }
  state_cache_put(std::move(state));
}

uint32_t verdict_of(const std::string& policy) { return policy == "DROP" ? NF_DROP : NF_ACCEPT; }

OpError do_commit(bool v6, uint32_t generation, std::vector<TablePlan>& specs, CommitEcho* echo) {
  const uint16_t family = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  const Family fam = v6 ? Family::ipv6 : Family::ipv4;
  std::vector<const BuiltinTable*> builtin(specs.size());
  for (size_t i = 0; i < specs.size(); i++) {
    builtin[i] = find_builtin_table(specs[i].name);
    if (!builtin[i]) return make_error(EINVAL, "commit", "'" + specs[i].name + "' is not an iptables table", specs[i].name);
    for (size_t j = 0; j < i; j++) {
      if (specs[j].name == specs[i].name) return make_error(EINVAL, "commit", "table " + specs[i].name + " given twice", specs[i].name);
    }
  }

  // A call made only of append=1 tables needs no read and no generation guard: appends cannot
  // lose another writer's rules, so a concurrent change is no conflict. A call that mixes them
  // with normal tables keeps the guard (for the normal tables' sake).
  const bool guarded = !(!specs.empty() && std::all_of(specs.begin(), specs.end(), [](const TablePlan& s) { return s.append; }));
  const bool any_append = std::any_of(specs.begin(), specs.end(), [](const TablePlan& s) { return s.append; });

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
  err = dump_table_names(sock, family, [&](const char* name) {
    auto it = cur.find(name);
    if (it != cur.end()) it->second.exists = true;
  });
  if (err) return make_error(err, "commit", std::string("dump tables: ") + strerror(err));
  err = dump_chains(sock, family, [&](const nftnl_chain* c, const char* table, const char* name) -> int {
    auto it = cur.find(table);
    if (it == cur.end()) return 0;
    CurChain& cc = it->second.chains[name];
    cc.base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY)) cc.policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
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

  // `keeprun` keeps name rules by their position as read: the read's handles, in its order
  // (the generation check makes `cur` that very read).
  for (auto& s : specs) {
    if (s.append) continue;
    for (auto& c : s.chains) {
      if (std::none_of(c.items.begin(), c.items.end(), [](const Item& i) { return i.keep && i.position; })) continue;
      auto ch = cur[s.name].chains.find(c.name);
      const std::vector<uint64_t>* hs = ch == cur[s.name].chains.end() ? nullptr : &ch->second.handles;
      for (Item& it : c.items) {
        if (!it.keep || !it.position) continue;
        if (!hs || it.at >= hs->size()) {
          return make_error(ENOENT, "commit",
                            "keep position " + std::to_string(it.at) + ": chain " + c.name + " has " +
                                std::to_string(hs ? hs->size() : 0) + " rules",
                            s.name, c.name);
        }
        it.at = (*hs)[it.at];
        it.position = false;
      }
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
    err = dump_chains(sock, family, [&](const nftnl_chain*, const char* table, const char* name) -> int {
      auto it = have.find(table);
      if (it != have.end()) it->second.insert(name);
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

  // A small commit asks for its new rules back (NLM_F_ECHO), to know their handles: the
  // caller, and the next commit, then know the tables as committed without a read.
  size_t new_rules = 0;
  for (const auto& s : specs) {
    for (const auto& c : s.chains) new_rules += c.items.size() - c.keeps;
  }
  const bool want_echo = echo != nullptr && guarded && !any_append && new_rules <= kEchoRules;
  std::vector<std::vector<uint32_t>> echo_seqs(want_echo ? specs.size() : 0);

  Batch b(family);
  // One MsgInfo a message the batch writes (the sink's runs of messages aside): at most one a
  // new rule, and a few a chain and a table. Reserved whole: a vector grown by doubling leaves
  // its outgrown copies in the malloc arena, part of RSS at the send.
  size_t messages = 2;
  for (const auto& s : specs) {
    messages += 2;
    for (const auto& c : s.chains) messages += 3 + (c.items.size() - c.keeps);
  }
  b.expect(messages);
  b.begin(sock.next_seq(), generation, guarded);

  // 1. Tables and chains that must exist before rules refer to them.
  for (size_t si = 0; si < specs.size(); si++) {
    const TablePlan& s = specs[si];
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
      const BuiltinChain* bc = find_builtin_chain(builtin[si], c.name);
      auto it = ct.chains.find(c.name);
      bool exists = it != ct.chains.end();
      const bool policy = !c.policy.empty();
      const uint32_t pol = verdict_of(c.policy);
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
        while (j < handles.size() && handles[j] != item.at) del_rules(s.name, c.name, &handles[j++]);
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
        auto p = pos.find(item.at);
        if (p == pos.end()) {
          return make_error(ENOENT, "commit",
                            "keep " + std::to_string(item.at) + ": chain " + c.name + " has no rule with that handle",
                            s.name, c.name);
        }
        if (!first && p->second <= last) {
          return make_error(EINVAL, "commit", "keep " + std::to_string(item.at) + " is out of order in chain " + c.name,
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
      if (std::any_of(s.chains.begin(), s.chains.end(), [&](const commit::ChainPlan& c) { return c.name == name; })) continue;
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
  //    Each rule's attributes but table, chain and position come from the plan's sink, which
  //    encoded it when it was parsed (rule_sink.h), or are encoded here for a rule the plan
  //    parsed itself (the native restore's).
  //    A table whose every new rule its sink holds as an appending message goes out as the
  //    sink's mappings (rule_sink.h): nothing is copied; each run of messages that lie back to
  //    back in a mapping is one iovec (rules of lines= chains were taken after the rest).
  auto whole = [](const TablePlan& s, const PayloadSink& sink) {
    size_t n = 0;
    for (const auto& c : s.chains) {
      bool kept_after = false;
      for (size_t i = c.items.size(); i-- > 0;) {
        const Item& it = c.items[i];
        if (it.keep) {
          kept_after = true;
          continue;
        }
        if (kept_after || s.rules[it.rule].rule) return false;
        n++;
      }
    }
    return n == sink.taken();
  };
  for (size_t si = 0; si < specs.size(); si++) {
    const TablePlan& s = specs[si];
    auto* sink = dynamic_cast<PayloadSink*>(s.sink.get());
    if (s.sink && !sink) return make_error(EINVAL, "commit", "internal: table " + s.name + " was parsed for another back end", s.name);
    if (sink && sink->taken() > 0 && whole(s, *sink)) {
      iovec run{nullptr, 0};
      for (const auto& c : s.chains) {
        uint32_t seq = b.claim_rules(s, c, static_cast<uint32_t>(c.items.size() - c.keeps));
        for (const Item& it : c.items) {
          if (it.keep) continue;
          nlmsghdr* nlh = sink->message(s.rules[it.rule].encoded);
          nlh->nlmsg_seq = seq++;
          if (want_echo) {
            nlh->nlmsg_flags |= NLM_F_ECHO;
            echo_seqs[si].push_back(nlh->nlmsg_seq);
          }
          if (static_cast<char*>(run.iov_base) + run.iov_len == reinterpret_cast<char*>(nlh)) {
            run.iov_len += nlh->nlmsg_len;
            continue;
          }
          if (run.iov_len) b.external(run);
          run = iovec{nlh, nlh->nlmsg_len};
        }
      }
      if (run.iov_len) b.external(run);
      continue;
    }
    for (const auto& c : s.chains) {
      if (c.items.size() == c.keeps) continue;
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
        const commit::NewRule& rule = s.rules[it.rule];
        std::string_view attrs;
        if (rule.rule) {
          std::string e;
          if (!encode_payload(*rule.rule, rule.packets, rule.bytes, fam, attrs, e)) {
            return make_error(EINVAL, "commit",
                              "table " + s.name + " chain " + c.name + " rule " + std::to_string(index) + " (" + s.line_word + " " +
                                  std::to_string(rule.line) + "): " + e,
                              s.name, c.name);
          }
        } else if (sink) {
          attrs = sink->use(rule.encoded);
        }
        if (attrs.empty()) {
          return make_error(EINVAL, "commit", "internal: table " + s.name + " chain " + c.name + " rule " + std::to_string(index) + " has no encoding", s.name, c.name);
        }
        const bool before = next < c.items.size();
        const uint16_t flags = (before ? NLM_F_CREATE : NLM_F_CREATE | NLM_F_APPEND) | (want_echo ? NLM_F_ECHO : 0);
        nlmsghdr* nlh = b.hdr(NFT_MSG_NEWRULE, flags, 256 + s.name.size() + c.name.size() + attrs.size(),
                              {MsgInfo::kNewRule, &s.name, &c.name, index, rule.line, s.line_word});
        if (want_echo) echo_seqs[si].push_back(nlh->nlmsg_seq);
        // As nftnl_rule_nlmsg_build_payload orders them: table, chain, position, then the rest.
        mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, s.name.c_str());
        mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, c.name.c_str());
        if (before) mnl_attr_put_u64(nlh, NFTA_RULE_POSITION, htobe64(c.items[next].at));
        std::memcpy(mnl_nlmsg_get_payload_tail(nlh), attrs.data(), attrs.size());
        nlh->nlmsg_len += static_cast<uint32_t>(attrs.size());
        b.done(nlh);
      }
    }
  }
  b.end();
  sock.used_seq(b.last_seq());

  std::vector<BatchError> errors;
  bool overflowed = false;
  // The echoes: request sequence number -> the new rule's handle; and the generation after.
  std::unordered_map<uint32_t, uint64_t> echoed;
  uint32_t after = 0;
  bool have_after = false;
  const std::function<void(const nlmsghdr*, uint32_t)> on_reply = [&](const nlmsghdr* m, uint32_t marker) {
    const uint16_t type = m->nlmsg_type & 0xff;
    if ((m->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES) return;
    if (type == NFT_MSG_NEWGEN && m->nlmsg_seq == marker) {
      const nlattr* tb[NFTA_GEN_MAX + 1] = {};
      if (mnl_attr_parse(m, sizeof(nfgenmsg), gen_id_cb, tb) >= 0 && tb[NFTA_GEN_ID]) {
        after = ntohl(mnl_attr_get_u32(tb[NFTA_GEN_ID]));
        have_after = true;
      }
    } else if (type == NFT_MSG_NEWRULE) {
      const nlattr* tb[NFTA_RULE_MAX + 1] = {};
      if (mnl_attr_parse(m, sizeof(nfgenmsg), rule_handle_cb, tb) >= 0 && tb[NFTA_RULE_HANDLE]) {
        echoed[m->nlmsg_seq] = be64toh(mnl_attr_get_u64(tb[NFTA_RULE_HANDLE]));
      }
    }
  };
  err = sock.send_batch(b.iovecs(), errors, overflowed, want_echo ? &on_reply : nullptr);
  if (err) return make_error(err, "commit", std::string("sending the batch: ") + strerror(err));
  if (errors.empty()) {
    if (overflowed) return make_error(ENOBUFS, "commit", "the batch failed and its errors overflowed the socket buffer");
    if (want_echo) learn_echo(specs, echo_seqs, echoed, have_after && after == generation + 1, after, cur, cached, sock.netns_cookie(), family, *echo);
    return {};
  }
  auto first = std::min_element(errors.begin(), errors.end(), [](const BatchError& a, const BatchError& c) { return a.seq < c.seq; });
  if (guarded && (first->err == ERESTART || first->seq == b.first_seq())) {
    return make_error(first->err, "commit",
                      "the ruleset changed since generation " + std::to_string(generation) + " (" + strerror(first->err) +
                          "); re-read and plan again");
  }
  const std::optional<MsgInfo> info = b.info(first->seq);
  if (!info) return make_error(first->err, "commit", std::string("nf_tables batch: ") + strerror(first->err));
  std::string msg = info->what();
  const std::string table = info->table ? *info->table : "", chain = info->chain ? *info->chain : "";
  if (!table.empty()) msg = "table " + table + (chain.empty() ? "" : " chain " + chain) + ": " + msg;
  return make_error(first->err, "commit", msg + ": " + strerror(first->err), table, chain);
}

}  // namespace

OpError commit_tables(bool v6, uint32_t generation, std::vector<TablePlan>& tables, CommitEcho* echo) {
  // Allocation failures inside the encoders surface here, never across a C callback.
  try {
    return do_commit(v6, generation, tables, echo);
  } catch (const std::bad_alloc&) {
    return make_error(ENOMEM, "commit", "out of memory building the nf_tables batch");
  }
}

}  // namespace nft
}  // namespace iptkit
