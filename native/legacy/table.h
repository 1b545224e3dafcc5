// The legacy back end's work on one family, written once over a traits type that names the
// libiptc (IPv4) or libip6tc (IPv6) functions and the entry struct (ipt_entry / ip6t_entry);
// iptc4.cc and iptc6.cc instantiate it. Holds: reading a table into the wire (rules printed
// by the native dialect), parsing a commit wire into ready-made entries (rules parsed by it),
// turning a libiptc handle into the wanted table, and committing several tables all or
// nothing. Callers hold the libiptc mutex and the netns. The wire is docs/wire.md.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../commit/plan.h"
#include "../common/error.h"
#include "../common/intent.h"
#include "../dialect/parse.h"
#include "../dialect/print.h"
#include "entry.h"

namespace iptkit::legacy {

// libiptc's EAGAIN: the table changed size between our read and the replace.
constexpr int kCommitAttempts = 5;

// A rule of a wanted chain: an old rule kept by index, or a new entry in the table's arena.
struct WantItem {
  int64_t keep = -1;  // old index, or -1 for a new rule
  size_t off = 0;     // new rule: offset of its entry in WantTable::arena
  int line = 0;       // input line, for messages
};

struct WantChain {
  std::string name;
  int line = 0;
  std::string policy;  // empty: leave the built-in chain's policy (and counters) alone
  bool has_counters = false;
  xt_counters counters{};
  bool has_was = false;
  uint64_t was = 0;
  size_t keeps = 0;
  std::vector<WantItem> items;
};

struct WantJump {
  std::string chain;  // the chain the rule is in
  std::string to;     // the chain it jumps to
  int line = 0;
};

struct WantTable {
  std::string name;
  // append=1: only appends to the listed chains; other chains are left alone (docs/wire.md).
  bool append = false;
  // append=1: extension targets, which must not name a chain of the kernel's table
  // (jump: the rule's chain, to: the target's name, line: its wire line).
  std::vector<WantJump> targets;
  std::vector<WantChain> chains;
  std::string arena;  // the new entries, back to back (each size is XT_ALIGNed)
  std::vector<WantJump> jumps;  // checked against the kernel's built-in chains before any change
  const char* line_word = "wire line";  // what WantItem/WantJump lines count (commit::TablePlan)
};

// Arenas kept from one commit to the next: a 30,000-rule commit writes megabytes of entries,
// and every fresh page costs a page fault. Callers hold the libiptc mutex, so one commit at a
// time takes and gives them; an arena grown past kKeepArena is let go.
inline std::vector<std::string>& spare_arenas() {
  static std::vector<std::string> spare;
  return spare;
}

inline std::string take_arena() {
  std::vector<std::string>& spare = spare_arenas();
  if (spare.empty()) return {};
  std::string a = std::move(spare.back());
  spare.pop_back();
  return a;
}

inline void give_arena(std::string&& arena) {
  constexpr size_t kKeepArena = 32u << 20, kKeep = 4;
  std::vector<std::string>& spare = spare_arenas();
  // A small one (a moved-from string keeps its inline buffer) is not worth a spare's place.
  if (arena.capacity() < 4096 || arena.capacity() > kKeepArena || spare.size() >= kKeep) return;
  arena.clear();
  spare.push_back(std::move(arena));
}

// Gives the arenas of a commit's tables back when the commit ends, however it ends.
class ArenaReturn {
 public:
  explicit ArenaReturn(std::vector<WantTable>& tables) : tables_(tables) {}
  ~ArenaReturn() {
    for (WantTable& t : tables_) give_arena(std::move(t.arena));
  }
  ArenaReturn(const ArenaReturn&) = delete;
  ArenaReturn& operator=(const ArenaReturn&) = delete;

 private:
  std::vector<WantTable>& tables_;
};

template <class T>
class Handle {
 public:
  Handle() = default;
  explicit Handle(xtc_handle* h) : h_(h) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  void reset(xtc_handle* h = nullptr) {
    if (h_) T::free(h_);
    h_ = h;
  }
  xtc_handle* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  xtc_handle* h_ = nullptr;
};

template <class T>
std::string what_table(const std::string& table) {
  return std::string(T::kFamilyName) + " table " + table;
}

template <class T>
OpError init_error(const char* op, const std::string& table) {
  int err = errno;
  if (err == 0) err = EPROTO;  // libiptc: "version error"
  return make_error(err, op, "cannot open " + what_table<T>(table) + ": " + T::strerror(err), table);
}

template <class T>
uint64_t count_rules(const char* chain, xtc_handle* h) {
  uint64_t n = 0;
  for (const auto* e = T::first_rule(chain, h); e; e = T::next_rule(e, h)) n++;
  return n;
}

// ---- read ----

// A raw socket of the family, for x_tables' getsockopts (the one libiptc opens too).
class XtSocket {
 public:
  explicit XtSocket(int family) : fd(socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) {}
  ~XtSocket() {
    if (fd >= 0) close(fd);
  }
  XtSocket(const XtSocket&) = delete;
  XtSocket& operator=(const XtSocket&) = delete;
  const int fd;
};

// IPT_SO_GET_INFO (IP6T_…) of `table` into `info`; `found` false when the kernel has no such
// table (ENOENT).
template <class T>
OpError get_info(const XtSocket& sock, const std::string& table, typename T::GetInfo& info, bool& found) {
  info = typename T::GetInfo{};
  std::strncpy(info.name, table.c_str(), sizeof info.name - 1);
  socklen_t len = sizeof info;
  found = getsockopt(sock.fd, T::kSockLevel, T::kGetInfo, &info, &len) == 0;
  if (found || errno == ENOENT) return {};
  int err = errno;
  return make_error(err, "read", "cannot open " + what_table<T>(table) + ": " + strerror(err), table);
}

template <class T>
OpError socket_error(const std::string& table) {
  int err = errno;
  return make_error(err, "read", "cannot open a socket for " + what_table<T>(table) + ": " + strerror(err), table);
}

// A digest of what a table holds: its entries as the kernel gives them back with their counters
// zeroed, and where each hook's chain starts and ends. Equal exactly when nothing of the table
// changed but counters (the kernel's copy is the same bytes for the same rules). One copy of
// the entries, no libiptc: DockerHost.apply's check that nothing changed since its last commit.
// `exists` false: the kernel has no such table.
template <class T>
OpError table_fingerprint(const std::string& table, bool& exists, uint64_t& out) {
  exists = false;
  out = 0;
  XtSocket sock(T::kSocketFamily);
  if (sock.fd < 0) return socket_error<T>(table);
  std::vector<char> buf;
  for (int attempt = 0; attempt < kCommitAttempts; attempt++) {
    typename T::GetInfo info;
    bool found = false;
    if (OpError err = get_info<T>(sock, table, info, found)) return err;
    if (!found) return {};
    buf.assign(sizeof(typename T::GetEntries) + info.size, 0);
    auto* ge = reinterpret_cast<typename T::GetEntries*>(buf.data());
    std::strncpy(ge->name, table.c_str(), sizeof ge->name - 1);
    ge->size = info.size;
    socklen_t len = static_cast<socklen_t>(buf.size());
    if (getsockopt(sock.fd, T::kSockLevel, T::kGetEntries, ge, &len) < 0) {
      int err = errno;
      if (err == EAGAIN) continue;  // replaced between the two calls: ask again
      return make_error(err, "read", "cannot read " + what_table<T>(table) + ": " + strerror(err), table);
    }
    char* entries = reinterpret_cast<char*>(ge->entrytable);
    for (size_t off = 0; off < info.size;) {
      auto* e = reinterpret_cast<typename T::Entry*>(entries + off);
      if (e->next_offset < sizeof(typename T::Entry) || off + e->next_offset > info.size) {
        return make_error(EPROTO, "read", what_table<T>(table) + ": an entry the kernel gave has a bad length", table);
      }
      std::memset(&e->counters, 0, sizeof e->counters);
      off += e->next_offset;
    }
    intent::Digest d;
    d.add_u64(info.valid_hooks);
    d.add_u64(info.num_entries);
    for (unsigned h = 0; h < NF_INET_NUMHOOKS; h++) {
      d.add_u64(info.hook_entry[h]);
      d.add_u64(info.underflow[h]);
    }
    d.add(entries, info.size);
    exists = true;
    out = d.value();
    return {};
  }
  return make_error(EAGAIN, "read", what_table<T>(table) + " kept being replaced while it was read (" +
                                        std::to_string(kCommitAttempts) + " attempts)", table);
}

// Whether a table holds anything (`--backend auto`): a rule, a user-defined chain or a policy
// other than ACCEPT. The kernel's entry count (one getsockopt, no entries copied) answers for
// any table but one of built-in chains alone (an entry per chain, and the closing ERROR
// entry), whose few entries libiptc then reads for the policies.
template <class T>
OpError holds_rules(const std::string& table, bool& holds) {
  holds = false;
  typename T::GetInfo info;
  {
    XtSocket sock(T::kSocketFamily);
    if (sock.fd < 0) return socket_error<T>(table);
    bool found = false;
    if (OpError err = get_info<T>(sock, table, info, found)) return err;
    if (!found) return {};  // gone since it was listed
  }
  if (info.num_entries > static_cast<unsigned>(__builtin_popcount(info.valid_hooks)) + 1) {
    holds = true;
    return {};
  }
  Handle<T> h(T::init(table.c_str()));
  if (!h) return init_error<T>("read", table);
  for (const char* c = T::first_chain(h.get()); c; c = T::next_chain(h.get())) {
    xt_counters n{};
    const char* policy = T::builtin(c, h.get()) ? T::get_policy(c, &n, h.get()) : nullptr;
    if (!policy || std::strcmp(policy, "ACCEPT") != 0 || T::first_rule(c, h.get())) {
      holds = true;
      return {};
    }
  }
  return {};
}

// The read wire of docs/wire.md: every record after the table line is written as '\n' and
// its text, so that the space save_rule puts before a rule's first option becomes the
// newline before the rule, in place. `counters` gets two entries per rule, in wire order.
template <class T>
OpError read_table(const std::string& table, std::string& out, std::vector<uint64_t>& counters) {
  Handle<T> h(T::init(table.c_str()));
  if (!h) return init_error<T>("read", table);
  // One pass to size the outputs (libiptc's lists are in memory): growing a multi-megabyte
  // string by doubling would copy it over and over. The chain records need the counts anyway.
  std::vector<uint64_t> per_chain;
  size_t rules = 0;
  for (const char* chain = T::first_chain(h.get()); chain; chain = T::next_chain(h.get())) {
    per_chain.push_back(count_rules<T>(chain, h.get()));
    rules += per_chain.back();
  }
  out.clear();
  out.reserve(64 + per_chain.size() * 64 + rules * 72);
  counters.clear();
  counters.reserve(2 * rules);
  out += "table\t";
  out += table;
  out += '\t';
  out += T::kFamilyName;
  EntryReader<T> reader;
  std::string why;
  size_t ci = 0;
  for (const char* chain = T::first_chain(h.get()); chain; chain = T::next_chain(h.get()), ci++) {
    out += "\nchain\t";
    out += chain;
    if (T::builtin(chain, h.get())) {
      xt_counters c{};
      const char* policy = T::get_policy(chain, &c, h.get());
      out += '\t';
      out += policy ? policy : "ACCEPT";
      out += '\t';
      dialect::append_u64(out, c.pcnt);
      out += '\t';
      dialect::append_u64(out, c.bcnt);
    } else {
      unsigned int refs = 0;
      T::get_references(&refs, chain, h.get());
      out += "\t-\t";
      dialect::append_u64(out, refs);
    }
    out += '\t';
    dialect::append_u64(out, per_chain[ci]);
    uint64_t index = 0;
    for (const auto* e = T::first_rule(chain, h.get()); e; e = T::next_rule(e, h.get()), index++) {
      if (!reader.read(*e, h.get(), why)) {
        return make_error(EPROTO, "read",
                          "rule " + std::to_string(index) + " of chain " + chain + " in " + what_table<T>(table) +
                              ": " + why,
                          table, chain);
      }
      const size_t at = out.size();
      dialect::save_rule(reader.rule(), T::family, out);
      if (out.size() == at) {
        out += '\n';  // a rule without options: -A CHAIN alone
      } else {
        if (out[at] == ' ') out[at] = '\n';
        else out.insert(at, 1, '\n');
        // A comment written by another tool may hold a line break: a space on the wire.
        for (size_t i = at + 1; i < out.size(); i++) {
          if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
        }
      }
      counters.push_back(e->counters.pcnt);
      counters.push_back(e->counters.bcnt);
    }
  }
  out += '\n';
  return {};
}

// ---- a commit plan, made into entries ----

// The RuleSink (commit/plan.h) of a legacy commit: each new rule becomes its entry in the
// arena as soon as it is parsed, and only what the checks against the table need of it stays
// beside: every jump, and each extension target name once per chain (its first line).
template <class T>
class EntrySink : public commit::RuleSink {
 public:
  static std::unique_ptr<commit::RuleSink> make() { return std::make_unique<EntrySink<T>>(); }

  void reserve(size_t rules) override {
    if (rules == 0 || arena.capacity() > 0) return;
    arena = take_arena();
    arena.reserve(rules * (sizeof(typename T::Entry) + kStandardTargetSize + 96));
  }

  bool take(const dialect::Rule& rule, std::string_view chain, commit::NewRule& nr, std::string& why) override {
    const int line = static_cast<int>(nr.line);
    if (rule.target_kind == dialect::TargetKind::kJump || rule.target_kind == dialect::TargetKind::kGoto) {
      jumps.push_back(WantJump{std::string(chain), rule.target_name, line});
    } else if (rule.target_kind == dialect::TargetKind::kExtension) {
      std::string key = std::string(chain) + '\0' + rule.target.name;
      if (seen_.insert(std::move(key)).second) targets.push_back(WantJump{std::string(chain), rule.target.name, line});
    }
    nr.encoded = arena.size();
    return append_entry<T>(rule, nr.packets, nr.bytes, arena, why);
  }

  std::string arena;
  std::vector<WantJump> jumps;    // -j/-g CHAIN rules: (their chain, the chain named, line)
  std::vector<WantJump> targets;  // extension targets: (chain, target name, first line)

 private:
  std::unordered_set<std::string> seen_;
};

// The plan's new rules as entries in the table's arena (made by its EntrySink as they were
// parsed, or here for a plan that kept its Rules), and its jumps and targets checked against
// its chains and listed for the checks against the kernel's table (apply_table, append_table).
template <class T>
OpError build_want(commit::TablePlan& plan, WantTable& out) {
  out = WantTable{};
  out.name = plan.name;
  out.append = plan.append;
  out.line_word = plan.line_word;
  auto fail = [&](const std::string& chain, size_t line, const std::string& what) {
    std::string where = what_table<T>(plan.name);
    if (line > 0) where += " " + std::string(plan.line_word) + " " + std::to_string(line);
    if (!chain.empty()) where += " (chain " + chain + ")";
    return make_error(EINVAL, "commit", where + ": " + what, plan.name, chain);
  };
  if (!plan.sink) plan.sink = EntrySink<T>::make();
  auto* sink = dynamic_cast<EntrySink<T>*>(plan.sink.get());
  if (!sink) return make_error(EINVAL, "commit", "internal: " + what_table<T>(plan.name) + " was parsed for another back end", plan.name);
  std::string why;
  bool reserved = false;
  for (const commit::ChainPlan& c : plan.chains) {
    if (c.name.size() > dialect::kMaxChainName) {
      return fail(c.name, c.line, "chain name " + c.name + " is longer than " + std::to_string(dialect::kMaxChainName) + " bytes");
    }
    for (const commit::Item& it : c.items) {
      commit::NewRule& nr = plan.rules[it.rule];
      if (it.keep || !nr.rule) continue;
      if (!reserved) sink->reserve(plan.rules.size()), reserved = true;
      if (!sink->take(*nr.rule, c.name, nr, why)) return fail(c.name, nr.line, why);
    }
  }
  // Jumps must name a chain of this table; an extension target must not (libiptc would take
  // it for a jump). -j NAME with no module for NAME parses as a jump, so a jump to no chain is
  // also how an unknown target shows. In an append=1 plan the chains are the kernel's:
  // checked when applied.
  if (!plan.append) {
    std::unordered_set<std::string_view> names;
    names.reserve(plan.chains.size() * 2);
    for (const commit::ChainPlan& c : plan.chains) names.insert(c.name);
    for (const WantJump& j : sink->jumps) {
      if (!names.count(j.to)) return fail(j.chain, static_cast<size_t>(j.line), j.to + " is neither a chain of the table nor a target iptkit knows");
    }
    for (const WantJump& t : sink->targets) {
      if (names.count(t.to)) return fail(t.chain, static_cast<size_t>(t.line), "target " + t.to + " is also a chain name of the table");
    }
  } else {
    out.targets = std::move(sink->targets);
  }
  out.jumps = std::move(sink->jumps);
  out.arena = std::move(sink->arena);
  out.chains.reserve(plan.chains.size());
  for (const commit::ChainPlan& c : plan.chains) {
    WantChain& wc = out.chains.emplace_back();
    wc.name = c.name;
    wc.line = static_cast<int>(c.line);
    wc.policy = c.policy;
    wc.has_counters = c.has_counters;
    wc.counters.pcnt = c.packets;
    wc.counters.bcnt = c.bytes;
    wc.has_was = c.has_was;
    wc.was = c.was;
    wc.keeps = c.keeps;
    wc.items.reserve(c.items.size());
    int64_t last_keep = -1;
    for (const commit::Item& it : c.items) {
      if (it.keep) {
        if (static_cast<int64_t>(it.at) <= last_keep) {
          return fail(c.name, c.line, "keep " + std::to_string(it.at) + " after keep " + std::to_string(last_keep) +
                                          ": kept positions must be strictly increasing");
        }
        last_keep = static_cast<int64_t>(it.at);
        wc.items.push_back(WantItem{last_keep, 0, 0});
        continue;
      }
      const commit::NewRule& nr = plan.rules[it.rule];
      wc.items.push_back(WantItem{-1, nr.encoded, static_cast<int>(nr.line)});
    }
  }
  return {};
}

// ---- capture (the table as it is, for putting it back) ----

// The handle's current table as a WantTable whose rules are all new and carry their read
// counters, and whose built-in chains set policy and counters: applying it to the kernel
// later restores this state (counters included, as of this read).
template <class T>
OpError capture_table(xtc_handle* h, const std::string& table, WantTable& img) {
  using Entry = typename T::Entry;
  img = WantTable{};
  img.name = table;
  img.arena = take_arena();
  for (const char* chain = T::first_chain(h); chain; chain = T::next_chain(h)) {
    WantChain wc;
    wc.name = chain;
    if (T::builtin(chain, h)) {
      const char* policy = T::get_policy(chain, &wc.counters, h);
      wc.policy = policy ? policy : "ACCEPT";
      wc.has_counters = true;
    }
    for (const Entry* e = T::first_rule(chain, h); e; e = T::next_rule(e, h)) {
      size_t off = img.arena.size();
      img.arena.append(reinterpret_cast<const char*>(e), e->next_offset);
      char* p = &img.arena[off];
      xt_entry_target t;
      memcpy(&t, p + e->target_offset, sizeof t);
      if (t.u.user.name[0] == '\0' && t.u.target_size == kStandardTargetSize) {
        // libiptc maps a standard target by name: give it back the name it resolved.
        int verdict;
        memcpy(&verdict, p + e->target_offset + sizeof t, sizeof verdict);
        const char* name = verdict < 0 ? verdict_name(verdict) : T::get_target(e, h);
        if (!name) {
          return make_error(ENOTSUP, "commit",
                            "cannot keep a copy of " + what_table<T>(table) + ": chain " + chain +
                                " has a standard verdict " + std::to_string(verdict) + " iptables cannot express",
                            table, chain);
        }
        memset(t.u.user.name, 0, sizeof t.u.user.name);
        memcpy(t.u.user.name, name, strnlen(name, kMaxChainName));
        memcpy(p + e->target_offset, &t, sizeof t);
      }
      Entry copy;
      memcpy(&copy, p, sizeof copy);
      copy.comefrom = 0;
      copy.nfcache = 0;
      memcpy(p, &copy, sizeof copy);
      wc.items.push_back(WantItem{-1, off, 0});
    }
    img.chains.push_back(std::move(wc));
  }
  return {};
}

// ---- apply: turn a handle into the wanted table ----

// libiptc maps a built-in chain's counters as "zeroed since the read" (iptables-legacy -A
// resets them), so once anything changes, every built-in chain gets its counters set
// explicitly: from `set` when it has them (restore -c), else as read.
template <class T>
OpError keep_builtin_counters(xtc_handle* h, const std::string& table) {
  std::vector<std::pair<std::string, std::pair<std::string, xt_counters>>> builtins;
  for (const char* c = T::first_chain(h); c; c = T::next_chain(h)) {
    if (!T::builtin(c, h)) continue;
    xt_counters cnt{};
    const char* policy = T::get_policy(c, &cnt, h);
    builtins.push_back({c, {policy ? policy : "ACCEPT", cnt}});
  }
  for (auto& b : builtins) {
    if (!T::set_policy(b.first.c_str(), b.second.first.c_str(), &b.second.second, h)) {
      int err = errno ? errno : EINVAL;
      return make_error(err, "commit",
                        what_table<T>(table) + ", chain " + b.first + ": cannot set the policy: " + T::strerror(err),
                        table, b.first);
    }
  }
  return {};
}

// append=1: every listed chain must exist; its rules stay and the wire's rules go at its end.
// Chains not listed are not looked at.
template <class T>
OpError append_table(xtc_handle* h, const WantTable& want) {
  using Entry = typename T::Entry;
  const std::string& table = want.name;
  auto error = [&](int err, const std::string& chain, const std::string& what) {
    return make_error(err, "commit", what_table<T>(table) + ", chain " + chain + ": " + what, table, chain);
  };
  for (const WantChain& wc : want.chains) {
    if (!T::is_chain(wc.name.c_str(), h)) {
      return error(ENOENT, wc.name, "No chain/target/match by that name (append=1 only adds rules to existing chains)");
    }
  }
  for (const WantJump& j : want.jumps) {
    if (!T::is_chain(j.to.c_str(), h)) {
      return error(ENOENT, j.chain, "the rule of " + std::string(want.line_word) + " " + std::to_string(j.line) + " jumps to " + j.to +
                                        ": No chain/target/match by that name");
    }
    if (T::builtin(j.to.c_str(), h)) {
      return error(EINVAL, j.chain, "the rule of " + std::string(want.line_word) + " " + std::to_string(j.line) + " jumps to built-in chain " +
                                        j.to + "; only user-defined chains can be jump targets");
    }
  }
  for (const WantJump& t : want.targets) {
    if (T::is_chain(t.to.c_str(), h)) {
      return error(EINVAL, t.chain, "the rule of " + std::string(want.line_word) + " " + std::to_string(t.line) + ": target " + t.to +
                                        " is also a chain name of the table");
    }
  }
  bool changed = false;
  for (const WantChain& wc : want.chains) {
    for (const auto& it : wc.items) {
      const auto* e = reinterpret_cast<const Entry*>(want.arena.data() + it.off);
      if (!T::append_entry(wc.name.c_str(), e, h)) {
        int err = errno ? errno : EINVAL;
        return error(err, wc.name, "cannot add the rule of " + std::string(want.line_word) + " " + std::to_string(it.line) + ": " + T::strerror(err));
      }
      changed = true;
    }
  }
  if (!changed) return {};
  return keep_builtin_counters<T>(h, table);
}

template <class T>
OpError apply_table(xtc_handle* h, const WantTable& want) {
  using Entry = typename T::Entry;
  const std::string& table = want.name;
  auto error = [&](int err, const std::string& chain, const std::string& what) {
    return make_error(err, "commit", what_table<T>(table) + ", chain " + chain + ": " + what, table, chain);
  };
  auto lib_error = [&](const std::string& chain, const std::string& what) {
    int err = errno ? errno : EINVAL;
    return error(err, chain, what + ": " + T::strerror(err));
  };

  if (want.append) return append_table<T>(h, want);

  // 1. Guards, and the chains new in the wire (first, so that new rules can jump to them).
  bool changed = false;  // whether libiptc's handle differs from the kernel's table
  std::vector<uint64_t> counts(want.chains.size(), 0);
  std::unordered_set<std::string_view> wanted;
  wanted.reserve(want.chains.size() * 2);
  for (size_t i = 0; i < want.chains.size(); i++) {
    const WantChain& wc = want.chains[i];
    const char* name = wc.name.c_str();
    wanted.insert(wc.name);
    bool exists = T::is_chain(name, h);
    if (!exists) {
      if (wc.has_was || wc.keeps > 0) {
        std::string read = wc.has_was ? "it was read with " + std::to_string(wc.was) + " rules" : "the wire keeps its rules";
        return error(ESTALE, wc.name, "the chain no longer exists (" + read + "); re-read and plan again");
      }
      if (!wc.policy.empty()) {
        return error(EINVAL, wc.name, "policy=" + wc.policy + " on a chain that is not a built-in chain of the table");
      }
      if (!T::create_chain(name, h)) return lib_error(wc.name, "cannot create the chain");
      changed = true;
      continue;
    }
    uint64_t n = count_rules<T>(name, h);
    counts[i] = n;
    if (wc.has_was && wc.was != n) {
      return error(ESTALE, wc.name, "the chain had " + std::to_string(wc.was) + " rules when read and has " +
                                        std::to_string(n) + " now; another writer changed it, re-read and plan again");
    }
    if (wc.keeps > 0) {
      int64_t last = -1;
      for (const auto& it : wc.items) last = it.keep > last ? it.keep : last;
      if (static_cast<uint64_t>(last) >= n) {
        return error(ESTALE, wc.name, "keep " + std::to_string(last) + " but the chain has " + std::to_string(n) +
                                          " rules; re-read and plan again");
      }
    }
    if (!wc.policy.empty() && !T::builtin(name, h)) {
      return error(EINVAL, wc.name, "policy=" + wc.policy + " on a user-defined chain");
    }
  }
  for (const WantJump& j : want.jumps) {
    if (T::builtin(j.to.c_str(), h)) {
      return error(EINVAL, j.chain, "the rule of " + std::string(want.line_word) + " " + std::to_string(j.line) + " jumps to built-in chain " +
                                        j.to + "; only user-defined chains can be jump targets");
    }
  }
  std::vector<std::string> absent;
  for (const char* c = T::first_chain(h); c; c = T::next_chain(h)) {
    if (wanted.count(c)) continue;
    if (T::builtin(c, h)) {
      return error(EINVAL, c, "the wire does not list this built-in chain (a commit lists every chain)");
    }
    absent.emplace_back(c);
  }

  // 2. Rules: drop the old rules not kept (highest index first, so lower indices stay valid),
  // then put the new ones in place around the kept ones.
  std::vector<bool> kept;
  for (size_t i = 0; i < want.chains.size(); i++) {
    const WantChain& wc = want.chains[i];
    const char* name = wc.name.c_str();
    uint64_t n = counts[i];
    if (wc.keeps == 0) {
      if (n > 0) {
        if (!T::flush_entries(name, h)) return lib_error(wc.name, "cannot flush the chain");
        changed = true;
      }
    } else if (wc.keeps < n) {
      kept.assign(n, false);
      for (const auto& it : wc.items) {
        if (it.keep >= 0) kept[static_cast<size_t>(it.keep)] = true;
      }
      for (uint64_t old = n; old-- > 0;) {
        if (kept[old]) continue;
        if (!T::delete_num_entry(name, static_cast<unsigned>(old), h)) {
          return lib_error(wc.name, "cannot delete old rule " + std::to_string(old));
        }
        changed = true;
      }
    }
    uint64_t pos = 0, total = wc.keeps;
    for (const auto& it : wc.items) {
      if (it.keep >= 0) {
        pos++;
        continue;
      }
      const auto* e = reinterpret_cast<const Entry*>(want.arena.data() + it.off);
      // Appending is O(1); libiptc's insert walks the list to the position.
      int ok = pos == total ? T::append_entry(name, e, h) : T::insert_entry(name, e, static_cast<unsigned>(pos), h);
      if (!ok) {
        std::string where = it.line > 0 ? "the rule of " + std::string(want.line_word) + " " + std::to_string(it.line) : "rule " + std::to_string(pos);
        return lib_error(wc.name, "cannot add " + where);
      }
      pos++;
      total++;
      changed = true;
    }
  }

  // 3. Chains absent from the wire: empty them all first (they may jump to each other).
  for (const auto& c : absent) {
    if (!T::flush_entries(c.c_str(), h)) return lib_error(c, "cannot flush the chain");
    changed = true;
  }
  for (const auto& c : absent) {
    if (!T::delete_chain(c.c_str(), h)) {
      int err = errno;
      unsigned int refs = 0;
      T::get_references(&refs, c.c_str(), h);
      if (err == EMLINK) {
        return error(err, c, "cannot delete the chain: " + std::to_string(refs) +
                                 " rule(s) of the wire still jump to it");
      }
      errno = err;
      return lib_error(c, "cannot delete the chain");
    }
  }

  // 4. Policies and policy counters. libiptc maps a built-in chain's counters as "zeroed
  // since the read" (iptables-legacy -A resets them), so once anything changes, every
  // built-in chain gets its counters set explicitly: from the wire (restore -c) or as read.
  std::vector<std::pair<std::string, xt_counters>> now(want.chains.size());
  for (size_t i = 0; i < want.chains.size(); i++) {
    const WantChain& wc = want.chains[i];
    if (!T::builtin(wc.name.c_str(), h)) continue;
    const char* policy = T::get_policy(wc.name.c_str(), &now[i].second, h);
    now[i].first = policy ? policy : "ACCEPT";
    if (wc.has_counters || (!wc.policy.empty() && wc.policy != now[i].first)) changed = true;
  }
  if (!changed) return {};
  for (size_t i = 0; i < want.chains.size(); i++) {
    const WantChain& wc = want.chains[i];
    if (now[i].first.empty()) continue;  // a user-defined chain
    const std::string& policy = wc.policy.empty() ? now[i].first : wc.policy;
    xt_counters c = wc.has_counters ? wc.counters : now[i].second;
    if (!T::set_policy(wc.name.c_str(), policy.c_str(), &c, h)) return lib_error(wc.name, "cannot set the policy");
  }
  return {};
}

template <class T>
OpError commit_error(const std::string& table) {
  int err = errno ? errno : EPROTO;
  std::string hint;
  switch (err) {
    case ELOOP: hint = " (the chains' jumps form a loop)"; break;
    case EINVAL: hint = " (the kernel refused a rule: an extension's fields, or a jump or goto it does not allow)"; break;
    case ENOENT: hint = " (a match or target module the kernel cannot load)"; break;
    default: break;
  }
  return make_error(err, "commit", "the kernel refused " + what_table<T>(table) + ": " + T::strerror(err) + hint, table);
}

}  // namespace iptkit::legacy

#include "intent_record.h"

namespace iptkit::legacy {

// All or nothing: every table is parsed and transformed before the first is committed; if
// table k's commit fails, tables 0..k-1 are put back from copies taken before their commit.
// With two tables or more, an intent record (intent_record.h) holds those copies and both
// tables' identities from before the first replace to after the last, so that a process killed
// in between is finished or rolled back by the next iptkit operation on the namespace.
// The rules a plan parsed itself (a commit wire's) are released as soon as they are entries:
// at 300,000 rules they are ~200 MB that would otherwise sit beside libiptc's copies.
inline void release_parsed(commit::TablePlan& plan) {
  if (plan.owned.empty()) return;
  for (commit::NewRule& r : plan.rules) r.rule = nullptr;
  std::deque<dialect::Rule>().swap(plan.owned);
}

template <class T>
OpError commit_tables(std::vector<commit::TablePlan>& plans) {
  const size_t n = plans.size();
  std::vector<WantTable> want(n), before(n);
  ArenaReturn want_arenas(want), before_arenas(before);
  const bool recorded = n >= 2;
  std::vector<RecordTable> record(recorded ? n : 0);
  std::unordered_set<std::string> seen;
  // The tables are replaced in an order of our choosing (the kernel takes each whole, and no
  // table refers to another): the biggest last, because the record holds a copy and the new
  // identity of every table but the last, which a publish on a big host spent most of its
  // record's cost on.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; i++) order[i] = i;
  auto size_of = [&](size_t i) {
    size_t rules = 0;
    for (const auto& c : plans[i].chains) rules += c.items.size() + c.lines.size();
    return rules;
  };
  if (n >= 2) {
    size_t biggest = 0;
    for (size_t i = 1; i < n; i++) biggest = size_of(i) > size_of(biggest) ? i : biggest;
    std::rotate(order.begin() + static_cast<std::ptrdiff_t>(biggest), order.begin() + static_cast<std::ptrdiff_t>(biggest) + 1, order.end());
  }
  for (size_t i = 0; i < n; i++) {
    commit::TablePlan& plan = plans[order[i]];
    if (!seen.insert(plan.name).second) {
      return make_error(EINVAL, "commit", "commit lists " + what_table<T>(plan.name) + " twice", plan.name);
    }
    if (OpError err = build_want<T>(plan, want[i])) return err;
    release_parsed(plan);
  }

  std::vector<Handle<T>> handles(n);
  auto prepare = [&](size_t i) -> OpError {
    errno = 0;
    handles[i].reset(T::init(want[i].name.c_str()));
    if (!handles[i]) return init_error<T>("commit", want[i].name);
    if (recorded) {
      if (OpError err = table_identity<T>(handles[i].get(), want[i].name, record[i].old_id)) return err;
    }
    if (i + 1 < n) {
      if (OpError err = capture_table<T>(handles[i].get(), want[i].name, before[i])) return err;
    }
    if (OpError err = apply_table<T>(handles[i].get(), want[i])) return err;
    // libiptc holds its own copy of every entry now: the arena can go back (or be freed).
    give_arena(std::move(want[i].arena));
    // The last table needs no identity of what it gets: once it is no longer what it was,
    // every replace has happened (recover_record), and printing it would be most of the cost.
    if (recorded && i + 1 < n) return table_identity<T>(handles[i].get(), want[i].name, record[i].new_id);
    return {};
  };
  for (size_t i = 0; i < n; i++) {
    if (OpError err = prepare(i)) return err;
  }

  // The record: written before the first replace (and again if a retry read a table anew),
  // removed once every table is in or every replaced one is back.
  std::string record_path, body;
  std::vector<RecordTable*> in_record;
  auto write_record = [&]() -> OpError {
    intent::Netns ns;
    if (OpError err = intent::current_netns(ns)) return err;
    record_path = intent::path(ns, T::kFamilyName);
    in_record.clear();
    for (size_t i = 0; i < n; i++) {
      record[i].name = want[i].name;
      record[i].has_image = i + 1 < n;
      if (record[i].has_image) std::swap(record[i].image, before[i]);  // borrowed for the write
      in_record.push_back(&record[i]);
    }
    record_body<T>(ns, in_record, body);
    for (size_t i = 0; i + 1 < n; i++) std::swap(record[i].image, before[i]);
    OpError err = intent::write(record_path, body);
    if (err) err.message = "cannot write the intent record of a multi-table commit: " + err.message;
    return err;
  };
  auto drop_record = [&]() {
    if (!record_path.empty()) intent::remove(record_path);
  };
  if (recorded) {
    if (OpError err = write_record()) return err;
  }

  auto put_back = [&](size_t upto, OpError& err) {
    for (size_t j = upto; j-- > 0;) {
      OpError back;
      for (int attempt = 0; attempt < kCommitAttempts; attempt++) {
        errno = 0;
        Handle<T> h(T::init(before[j].name.c_str()));
        if (!h) {
          back = init_error<T>("commit", before[j].name);
          break;
        }
        back = apply_table<T>(h.get(), before[j]);
        if (back) break;
        if (T::commit(h.get())) {
          back = {};
          break;
        }
        int e = errno;
        back = commit_error<T>(before[j].name);
        if (e != EAGAIN) break;
      }
      if (back) err.message += "; and putting back " + what_table<T>(before[j].name) + " failed: " + back.message;
    }
  };

  for (size_t i = 0; i < n; i++) {
    OpError err;
    for (int attempt = 0; attempt < kCommitAttempts; attempt++) {
      if (attempt > 0 && (err = prepare(i))) break;
      if (attempt > 0 && recorded && (err = write_record())) break;
      errno = 0;
      if (T::commit(handles[i].get())) {
        err = {};
        break;
      }
      int e = errno;
      err = commit_error<T>(want[i].name);
      if (e != EAGAIN) break;
    }
    // The kernel takes or refuses a table whole: name the COMMIT line, as iptables-restore does.
    const size_t commit_line = plans[order[i]].commit_line;
    if (err && commit_line) err.message = "line " + std::to_string(commit_line) + ": " + err.message;
    if (err) {
      bool back = true;
      if (i > 0) {
        std::string before_msg = err.message;
        put_back(i, err);
        back = err.message == before_msg;
        if (back) {
          err.message += "; the " + std::to_string(i) + " table(s) committed before it were put back as they were";
        }
      }
      if (back) drop_record();  // else the record stays, for the next operation to finish
      return err;
    }
  }
  drop_record();
  return {};
}

}  // namespace iptkit::legacy
