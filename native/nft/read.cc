#include "read.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "../dialect/print.h"
#include "builtin.h"
#include "dump.h"
#include "expr_decode.h"
#include "handles.h"
#include "socket.h"
#include "state_cache.h"

namespace iptkit {
namespace nft {

namespace {

// A dump that raced with a writer is redone; this many times before giving up with EAGAIN.
constexpr int kReadAttempts = 20;

struct ChainData {
  std::string name;
  bool base = false;
  uint32_t hook = 0;
  uint32_t policy = NF_ACCEPT;
  uint64_t pkts = 0, bytes = 0;
  std::string rules;  // each rule's line (canonical text or `#\t…`), in kernel order
  std::vector<uint64_t> counters;  // two per rule
  std::vector<uint64_t> handles;   // one per rule; also what a commit needs (state_cache.h)
};

struct TableData {
  std::string name;
  std::vector<ChainData> chains;
  std::map<std::string, size_t> index;
  std::map<std::string, uint64_t> refs;
};

// A rule's line: its canonical text (iptables-save's after `-A CHAIN`), on one line whatever
// a comment written by another tool holds.
void add_rule(ChainData& cd, const dialect::Rule& rule, Family family, uint64_t handle) {
  size_t at = cd.rules.size();
  dialect::save_rule(rule, family, cd.rules);
  if (cd.rules.size() > at) cd.rules.erase(at, 1);  // save_rule puts a space before each option
  for (size_t i = at; i < cd.rules.size(); i++) {
    if (cd.rules[i] == '\n' || cd.rules[i] == '\r') cd.rules[i] = ' ';
  }
  cd.rules += '\n';
  cd.counters.push_back(rule.packets);
  cd.counters.push_back(rule.bytes);
  cd.handles.push_back(handle);
}

// A rule not in iptables-nft form: `#\t<what it is>`, a rule of its chain like any other.
void add_foreign(ChainData& cd, const nftnl_rule* r, uint64_t handle) {
  std::string what;
  uint64_t packets = 0, bytes = 0;
  describe_foreign(r, what, packets, bytes);
  cd.rules += "#\t";
  cd.rules += what;
  cd.rules += '\n';
  cd.counters.push_back(packets);
  cd.counters.push_back(bytes);
  cd.handles.push_back(handle);
}

// One attempt at reading all tables; EINTR when the dump was inconsistent.
int read_once(NlSocket& sock, uint16_t family, const std::vector<std::string>& wanted, std::vector<TableData>& tables,
              std::string& failure) {
  tables.clear();
  std::vector<std::string> present;
  int err = dump_table_names(sock, family, [&](const char* name) { present.emplace_back(name); });
  if (err) {
    failure = "dump tables";
    return err;
  }
  for (const auto& w : wanted) {
    if (std::find(present.begin(), present.end(), w) == present.end()) continue;
    TableData td;
    td.name = w;
    tables.push_back(std::move(td));
  }
  if (tables.empty()) return 0;

  auto find_table = [&](const char* name) -> TableData* {
    if (!name) return nullptr;
    for (auto& t : tables) {
      if (t.name == name) return &t;
    }
    return nullptr;
  };

  err = dump_chains(sock, family, [&](const nftnl_chain* c, const char* table, const char* name) -> int {
    TableData* t = find_table(table);
    if (!t) return 0;
    ChainData cd;
    cd.name = name;
    cd.base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
    if (cd.base) {
      cd.hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
      if (nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY)) cd.policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
      // The base chain's own counters count the packets its policy decided: iptables-nft-save
      // shows them as the policy counters.
      if (nftnl_chain_is_set(c, NFTNL_CHAIN_PACKETS)) cd.pkts = nftnl_chain_get_u64(c, NFTNL_CHAIN_PACKETS);
      if (nftnl_chain_is_set(c, NFTNL_CHAIN_BYTES)) cd.bytes = nftnl_chain_get_u64(c, NFTNL_CHAIN_BYTES);
    }
    t->index[cd.name] = t->chains.size();
    t->chains.push_back(std::move(cd));
    return 0;
  });
  if (err) {
    failure = "dump chains";
    return err;
  }

  // The rules chain by chain, as iptables-nft-save asks for them. The kernel resumes a dump by
  // walking the dumped list again from its start for every 32 KiB it sends, so one dump per
  // chain walks far less than one per table (measured: a third less CPU for 30,000 rules).
  // (Two sockets dumping chains in parallel cost more CPU than they saved in time on 2 cores.)
  const Family fam = family == NFPROTO_IPV6 ? Family::ipv6 : Family::ipv4;
  std::vector<std::string> jumps;
  std::string why;
  dialect::Rule rule;
  for (auto& t : tables) {
    for (auto& cd : t.chains) {
      err = sock.dump(
          NFT_MSG_GETRULE, family,
          [&](nlmsghdr* nlh) {
            mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, t.name.c_str());
            mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, cd.name.c_str());
          },
          [&](const nlmsghdr* nlh) -> int {
            // Rules in iptables-nft form straight from the message; anything else through libnftnl.
            uint64_t handle = 0;
            bool other = false;
            jumps.clear();
            rule = dialect::Rule{};
            if (decode_rule_nlmsg(nlh, fam, t.name, cd.name, rule, jumps, handle, other)) {
              if (other) return 0;
              add_rule(cd, rule, fam, handle);
              for (const auto& j : jumps) t.refs[j]++;
              return 0;
            }
            RulePtr r(nftnl_rule_alloc());
            if (!r) return ENOMEM;
            if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return EPROTO;
            const char* tname = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
            const char* cname = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
            if (!tname || t.name != tname || !cname || cd.name != cname) return 0;
            handle = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
            jumps.clear();
            why.clear();
            rule = dialect::Rule{};
            if (decode_rule(r.get(), fam, rule, why, jumps)) {
              add_rule(cd, rule, fam, handle);
            } else {
              add_foreign(cd, r.get(), handle);
            }
            for (const auto& j : jumps) t.refs[j]++;
            return 0;
          });
      if (err) {
        failure = "dump rules of table " + t.name;
        return err;
      }
    }
  }
  return 0;
}

// The frame of docs/wire.md's Read around the chains' rule lines, with counters and handles in
// the same order.
void to_wire(const TableData& t, bool v6, TableRead& out) {
  out.wire.clear();
  out.counters.clear();
  out.handles.clear();
  std::vector<const ChainData*> order;
  size_t bytes = 64, rules = 0;
  for (const auto& c : t.chains) {
    order.push_back(&c);
    bytes += c.name.size() + 64 + c.rules.size();
    rules += c.handles.size();
  }
  out.wire.reserve(bytes);
  out.counters.reserve(2 * rules);
  out.handles.reserve(rules);
  out.wire += "table\t";
  out.wire += t.name;
  out.wire += v6 ? "\tipv6\n" : "\tipv4\n";
  // Built-in chains first in hook order, then user chains by name (as iptables-save lists them).
  std::sort(order.begin(), order.end(), [](const ChainData* a, const ChainData* b) {
    if (a->base != b->base) return a->base;
    if (a->base && a->hook != b->hook) return a->hook < b->hook;
    return a->name < b->name;
  });
  for (const ChainData* c : order) {
    out.wire += "chain\t";
    out.wire += c->name;
    if (c->base) {
      out.wire += c->policy == NF_DROP ? "\tDROP\t" : "\tACCEPT\t";
      dialect::append_u64(out.wire, c->pkts);
      out.wire += '\t';
      dialect::append_u64(out.wire, c->bytes);
    } else {
      auto it = t.refs.find(c->name);
      out.wire += "\t-\t";
      dialect::append_u64(out.wire, it == t.refs.end() ? 0 : it->second);
    }
    out.wire += '\t';
    dialect::append_u64(out.wire, c->handles.size());
    out.wire += '\n';
    out.wire += c->rules;
    out.counters.insert(out.counters.end(), c->counters.begin(), c->counters.end());
    out.handles.insert(out.handles.end(), c->handles.begin(), c->handles.end());
  }
}

// What a commit at this generation needs to know (state_cache.h), taken from the read itself.
void remember(NlSocket& sock, uint16_t family, uint32_t generation, const std::vector<std::string>& wanted,
              std::vector<TableData>& tables) {
  auto state = std::make_shared<CachedState>();
  state->netns = sock.netns_cookie();
  if (state->netns == 0) return;
  state->family = family;
  state->generation = generation;
  for (const auto& w : wanted) state->tables[w];
  for (auto& t : tables) {
    CurTable& ct = state->tables[t.name];
    ct.exists = true;
    for (auto& c : t.chains) {
      CurChain& cc = ct.chains[c.name];
      cc.base = c.base;
      cc.policy = c.policy;
      cc.handles = std::move(c.handles);
    }
  }
  state_cache_put(std::move(state));
}

}  // namespace

OpError read_tables(bool v6, const std::vector<std::string>* only, ReadResult& out) {
  std::vector<std::string> wanted;
  if (only) {
    for (const auto& name : *only) {
      if (!find_builtin_table(name)) {
        return make_error(EINVAL, "read", "'" + name + "' is not an iptables table (filter, nat, mangle, raw, security)",
                          name);
      }
      wanted.push_back(name);
    }
  } else {
    for (const auto& t : kBuiltinTables) wanted.emplace_back(t.name);
  }
  NlSocket sock;
  if (int err = sock.open()) return make_error(err, "read", std::string("cannot open a netfilter netlink socket: ") + strerror(err));
  const uint16_t family = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  std::vector<TableData> tables;
  for (int attempt = 0; attempt < kReadAttempts; attempt++) {
    uint32_t before = 0, after = 0;
    if (int err = sock.get_gen(before)) return make_error(err, "read", std::string("NFT_MSG_GETGEN: ") + strerror(err));
    std::string failure;
    int err = read_once(sock, family, wanted, tables, failure);
    if (err == EINTR) continue;  // the kernel flagged the dump as interrupted by a change
    if (err) return make_error(err, "read", failure + ": " + strerror(err));
    if (int e2 = sock.get_gen(after)) return make_error(e2, "read", std::string("NFT_MSG_GETGEN: ") + strerror(e2));
    if (before != after) continue;  // changed while dumping: the data may mix generations
    out.generation = before;
    out.netns = sock.netns_cookie();
    out.tables.resize(tables.size());
    for (size_t i = 0; i < tables.size(); i++) to_wire(tables[i], v6, out.tables[i]);
    remember(sock, family, before, wanted, tables);  // takes the handles: after to_wire
    return {};
  }
  return make_error(EAGAIN, "read", "the ruleset kept changing while it was read (" + std::to_string(kReadAttempts) + " attempts)");
}

OpError table_names(bool v6, std::vector<std::string>& out) {
  NlSocket sock;
  if (int err = sock.open()) return make_error(err, "read", std::string("cannot open a netfilter netlink socket: ") + strerror(err));
  std::vector<std::string> present;
  int err = dump_table_names(sock, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, [&](const char* name) { present.emplace_back(name); });
  if (err) return make_error(err, "read", std::string("dump tables: ") + strerror(err));
  for (const auto& t : kBuiltinTables) {
    if (std::find(present.begin(), present.end(), t.name) != present.end()) out.emplace_back(t.name);
  }
  return {};
}

OpError holds_rules(bool v6, bool& holds) {
  holds = false;
  const uint16_t family = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  NlSocket sock;
  if (int err = sock.open()) return make_error(err, "read", std::string("cannot open a netfilter netlink socket: ") + strerror(err));
  std::vector<std::string> tables;
  int err = dump_table_names(sock, family, [&](const char* name) {
    if (find_builtin_table(name)) tables.emplace_back(name);
  });
  if (err) return make_error(err, "read", std::string("dump tables: ") + strerror(err));
  if (tables.empty()) return {};
  std::vector<std::pair<std::string, std::string>> chains;  // table, chain
  err = dump_chains(sock, family, [&](const nftnl_chain* c, const char* table, const char* name) -> int {
    if (std::find(tables.begin(), tables.end(), table) == tables.end()) return 0;
    if (!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) holds = true;  // a user-defined chain
    if (nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) && nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) != NF_ACCEPT) holds = true;
    chains.emplace_back(table, name);
    return 0;
  });
  if (err) return make_error(err, "read", std::string("dump chains: ") + strerror(err));
  if (holds) return {};
  // Only built-in chains with an ACCEPT policy: does any hold a rule? The first message of a
  // chain's rule dump answers; its socket is then dropped undrained, so the kernel stops there.
  for (const auto& [table, chain] : chains) {
    NlSocket rules;
    if (int e = rules.open()) return make_error(e, "read", std::string("cannot open a netfilter netlink socket: ") + strerror(e));
    err = rules.dump(
        NFT_MSG_GETRULE, family,
        [&](nlmsghdr* nlh) {
          mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
          mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain.c_str());
        },
        [&](const nlmsghdr*) -> int { return ECANCELED; }, false);
    if (err == ECANCELED) {
      holds = true;
      return {};
    }
    if (err == ENOENT) continue;  // the chain went away since the chain dump
    if (err) return make_error(err, "read", "dump rules of table " + table + ": " + strerror(err));
  }
  return {};
}

}  // namespace nft
}  // namespace iptkit
