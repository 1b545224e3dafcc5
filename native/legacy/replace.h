// A table's replacement, laid out from the table as read (kernel_table.h) and the wanted
// chains (a WantTable), and handed to the kernel with IPT_SO_SET_REPLACE then
// IPT_SO_SET_ADD_COUNTERS (IP6T_… for IPv6), as libiptc's commit does, without libiptc's copy of
// every rule: kept rules are copied from the read once, into the replacement.
//
// The layout is libiptc's, so that a table iptkit writes is the table iptables would have
// written, byte for byte: chains in the table's order, a new user-defined chain before the
// first user-defined chain whose name sorts after it (iptc_create_chain); an ERROR entry
// naming each user-defined chain before its rules and a RETURN entry after them; each
// built-in chain's policy entry at its hook's underflow; an ERROR entry at the end.
//
// Counters: the kernel hands back every old entry's counters as of the replace, and the new
// table starts at zero; the counters then added are, per entry, a kept rule's and a kept
// policy's (so no packet counted before the replace is lost), or the ones the commit gives
// (restore -c, a put-back copy), or none.
#pragma once

#include <linux/netfilter/x_tables.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../common/error.h"
#include "entry.h"
#include "kernel_table.h"
#include "want.h"

namespace iptkit::legacy {

template <class T>
struct Replacement {
  ScratchVector<char> buf;  // T::Replace, then the entries
  // Per new entry: the old entry whose counters it carries (kFresh: it takes `set`'s).
  static constexpr uint32_t kFresh = UINT32_MAX;
  ScratchVector<uint32_t> carry;
  ScratchVector<xt_counters> set;
  bool changed = false;  // false: the table would be what it is; nothing to replace

  typename T::Replace& header() { return *reinterpret_cast<typename T::Replace*>(buf.data()); }
  char* entries() { return buf.data() + sizeof(typename T::Replace); }
  // What GET_INFO will say of the table once it is in.
  typename T::GetInfo layout() {
    typename T::GetInfo info{};
    const typename T::Replace& r = header();
    memcpy(info.name, r.name, sizeof info.name);
    info.valid_hooks = r.valid_hooks;
    memcpy(info.hook_entry, r.hook_entry, sizeof info.hook_entry);
    memcpy(info.underflow, r.underflow, sizeof info.underflow);
    info.num_entries = r.num_entries;
    info.size = r.size;
    return info;
  }
};

template <class T>
OpError commit_error(const std::string& table, int err) {
  std::string hint;
  switch (err) {
    case ELOOP: hint = " (the chains' jumps form a loop)"; break;
    case EINVAL: hint = " (the kernel refused a rule: an extension's fields, or a jump or goto it does not allow)"; break;
    case ENOENT: hint = " (a match or target module the kernel cannot load)"; break;
    default: break;
  }
  return make_error(err, "commit", "the kernel refused " + what_table<T>(table) + ": " + strerror(err) + hint, table);
}

// Lays out `want` over `old` (what the commit read under its lock). The checks are those a
// commit makes against the kernel's table: chains that no longer hold what was read (ESTALE:
// plan again), policies on chains that have none, jumps to built-in chains, a chain left out
// that rules still jump to.
template <class T>
OpError lay_out(const KernelTable<T>& old, const WantTable& want, Replacement<T>& out) {
  using Entry = typename T::Entry;
  using OldChain = typename KernelTable<T>::Chain;
  const std::string& table = want.name;
  auto error = [&](int err, const std::string& chain, const std::string& what) {
    return make_error(err, "commit", what_table<T>(table) + ", chain " + chain + ": " + what, table, chain);
  };
  auto rule_of = [&](int line) { return "the rule of " + std::string(want.line_word) + " " + std::to_string(line); };

  // The chains of the new table, in order, each with what it was and what it is to hold.
  struct Chain {
    std::string_view name;
    int hook = -1;
    const OldChain* was = nullptr;
    const WantChain* want = nullptr;  // null: as it was (append=1, a chain not listed)
    uint32_t start = 0, foot = 0;
  };
  std::vector<Chain> chains;
  std::unordered_map<std::string_view, size_t> at;  // name → index in `chains`
  bool changed = false;

  if (want.append) {
    // append=1: every listed chain must exist; its rules stay and the wire's go at its end.
    for (const WantChain& wc : want.chains) {
      if (!old.find(wc.name)) {
        return error(ENOENT, wc.name, "No chain/target/match by that name (append=1 only adds rules to existing chains)");
      }
    }
    for (const WantJump& j : want.jumps) {
      const OldChain* to = old.find(j.to);
      if (!to) return error(ENOENT, j.chain, rule_of(j.line) + " jumps to " + j.to + ": No chain/target/match by that name");
      if (to->hook >= 0) {
        return error(EINVAL, j.chain, rule_of(j.line) + " jumps to built-in chain " + j.to + "; only user-defined chains can be jump targets");
      }
    }
    for (const WantJump& t : want.targets) {
      if (old.find(t.to)) return error(EINVAL, t.chain, rule_of(t.line) + ": target " + t.to + " is also a chain name of the table");
    }
    std::unordered_map<std::string_view, const WantChain*> listed;
    for (const WantChain& wc : want.chains) {
      listed.emplace(wc.name, &wc);
      changed = changed || !wc.items.empty();
    }
    for (const OldChain& c : old.chains) {
      auto it = listed.find(c.name);
      chains.push_back(Chain{c.name, c.hook, &c, it == listed.end() ? nullptr : it->second});
    }
  } else {
    // Guards, and the chains new in the wire.
    std::vector<const WantChain*> fresh;
    std::unordered_map<std::string_view, const WantChain*> wanted;
    for (const WantChain& wc : want.chains) {
      wanted.emplace(wc.name, &wc);
      const OldChain* c = old.find(wc.name);
      if (!c) {
        if (wc.has_was || wc.keeps > 0) {
          std::string read = wc.has_was ? "it was read with " + std::to_string(wc.was) + " rules" : "the wire keeps its rules";
          return error(ESTALE, wc.name, "the chain no longer exists (" + read + "); re-read and plan again");
        }
        if (!wc.policy.empty()) return error(EINVAL, wc.name, "policy=" + wc.policy + " on a chain that is not a built-in chain of the table");
        fresh.push_back(&wc);
        continue;
      }
      const uint64_t n = c->rules.size();
      if (wc.has_was && wc.was != n) {
        return error(ESTALE, wc.name, "the chain had " + std::to_string(wc.was) + " rules when read and has " + std::to_string(n) +
                                          " now; another writer changed it, re-read and plan again");
      }
      if (wc.keeps > 0) {
        int64_t last = -1;
        for (const WantItem& it : wc.items) last = std::max(last, it.keep);
        if (static_cast<uint64_t>(last) >= n) {
          return error(ESTALE, wc.name, "keep " + std::to_string(last) + " but the chain has " + std::to_string(n) + " rules; re-read and plan again");
        }
      }
      if (!wc.policy.empty() && c->hook < 0) return error(EINVAL, wc.name, "policy=" + wc.policy + " on a user-defined chain");
    }
    for (const WantJump& j : want.jumps) {
      const OldChain* to = old.find(j.to);
      if (to && to->hook >= 0) {
        return error(EINVAL, j.chain, rule_of(j.line) + " jumps to built-in chain " + j.to + "; only user-defined chains can be jump targets");
      }
    }
    for (const OldChain& c : old.chains) {
      auto it = wanted.find(c.name);
      if (it != wanted.end()) {
        chains.push_back(Chain{c.name, c.hook, &c, it->second});
        continue;
      }
      if (c.hook >= 0) return error(EINVAL, c.name, "the wire does not list this built-in chain (a commit lists every chain)");
      changed = true;  // a chain that goes
    }
    // Where iptc_create_chain puts a chain: before the first user-defined one that sorts
    // after it (or is it).
    for (const WantChain* wc : fresh) {
      auto pos = std::find_if(chains.begin(), chains.end(), [&](const Chain& c) { return c.hook < 0 && wc->name.compare(c.name) <= 0; });
      chains.insert(pos, Chain{wc->name, -1, nullptr, wc});
      changed = true;
    }
  }
  for (size_t i = 0; i < chains.size(); i++) at.emplace(chains[i].name, i);

  // A chain that goes must not be jumped to by a rule that stays.
  auto each_kept = [&](const Chain& c, auto&& fn) {
    if (!c.was) return;
    if (!c.want || want.append) {
      for (const auto& r : c.was->rules) fn(r);
      return;
    }
    for (const WantItem& it : c.want->items) {
      if (it.keep >= 0) fn(c.was->rules[static_cast<size_t>(it.keep)]);
    }
  };
  if (!want.append) {
    std::unordered_map<std::string_view, uint32_t> dangling;
    for (const Chain& c : chains) {
      each_kept(c, [&](const typename KernelTable<T>::Rule& r) {
        const char* to = nullptr;
        if (old.standard_target(old.entry(r.off), r.off, to) == KernelTable<T>::Goes::kJump && !at.count(to)) dangling[to]++;
      });
    }
    for (const OldChain& c : old.chains) {
      auto it = dangling.find(c.name);
      if (it != dangling.end()) {
        return error(EMLINK, c.name, "cannot delete the chain: " + std::to_string(it->second) + " rule(s) of the wire still jump to it");
      }
    }
  }

  // Sizes and where every chain starts.
  const size_t head_size = sizeof(Entry) + kErrorTargetSize;
  const size_t foot_size = sizeof(Entry) + kStandardTargetSize;
  size_t size = 0, entries = 0;
  auto new_entry = [&](const WantItem& it) -> const Entry& { return *reinterpret_cast<const Entry*>(want.arena.data() + it.off); };
  for (Chain& c : chains) {
    if (c.hook < 0) size += head_size, entries++;
    c.start = static_cast<uint32_t>(size);
    each_kept(c, [&](const typename KernelTable<T>::Rule& r) { size += old.entry(r.off).next_offset, entries++; });
    if (c.want) {
      for (const WantItem& it : c.want->items) {
        if (it.keep < 0) size += new_entry(it).next_offset, entries++, changed = true;
      }
      if (!want.append && c.was && c.want->keeps < c.was->rules.size()) changed = true;  // rules that go
    }
    c.foot = static_cast<uint32_t>(size);
    size += foot_size, entries++;
  }
  size += head_size, entries++;  // the end
  if (size > UINT32_MAX) return error(E2BIG, chains.empty() ? std::string() : std::string(chains[0].name), "the table would take " + std::to_string(size) + " bytes");

  // Policies.
  std::vector<int> policy(chains.size(), 0);
  for (size_t i = 0; i < chains.size(); i++) {
    const Chain& c = chains[i];
    if (c.hook < 0) continue;
    policy[i] = c.was->policy;
    if (!c.want) continue;
    if (!c.want->policy.empty()) {
      policy[i] = c.want->policy == "DROP" ? -NF_DROP - 1 : -NF_ACCEPT - 1;
      if (policy[i] != c.was->policy) changed = true;
    }
    if (c.want->has_counters) changed = true;
  }
  out.changed = changed;
  if (!changed) return {};

  out.buf.assign(sizeof(typename T::Replace) + size, 0);
  out.carry.assign(entries, Replacement<T>::kFresh);
  out.set.assign(entries, xt_counters{});
  typename T::Replace& repl = out.header();
  std::strncpy(repl.name, table.c_str(), sizeof repl.name - 1);
  repl.valid_hooks = old.info.valid_hooks;
  repl.num_entries = static_cast<unsigned>(entries);
  repl.size = static_cast<unsigned>(size);
  repl.num_counters = old.info.num_entries;
  char* base = out.entries();
  size_t off = 0, n = 0;

  auto put_error_entry = [&](std::string_view label) {
    auto& e = *reinterpret_cast<Entry*>(base + off);
    e.target_offset = sizeof(Entry);
    e.next_offset = static_cast<uint16_t>(head_size);
    auto& t = *reinterpret_cast<xt_error_target*>(base + off + sizeof(Entry));
    t.target.u.user.target_size = static_cast<uint16_t>(kErrorTargetSize);
    std::strncpy(t.target.u.user.name, XT_ERROR_TARGET, sizeof t.target.u.user.name - 1);
    memcpy(t.errorname, label.data(), std::min(label.size(), sizeof t.errorname - 1));
    off += head_size, n++;
  };
  auto set_verdict = [&](size_t entry_off, int verdict) {
    auto& e = *reinterpret_cast<Entry*>(base + entry_off);
    auto* t = reinterpret_cast<xt_entry_target*>(base + entry_off + e.target_offset);
    memset(t->u.user.name, 0, sizeof t->u.user.name);
    memcpy(t->data, &verdict, sizeof verdict);
  };
  auto start_of = [&](std::string_view chain) { return static_cast<int>(chains[at.at(chain)].start); };

  for (size_t i = 0; i < chains.size(); i++) {
    const Chain& c = chains[i];
    if (c.hook < 0) put_error_entry(c.name);
    auto put_kept = [&](const typename KernelTable<T>::Rule& r) {
      const Entry& e = old.entry(r.off);
      memcpy(base + off, &e, e.next_offset);
      const char* to = nullptr;
      switch (old.standard_target(e, r.off, to)) {
        case KernelTable<T>::Goes::kFallThrough: set_verdict(off, static_cast<int>(off + e.next_offset)); break;
        case KernelTable<T>::Goes::kJump: set_verdict(off, start_of(to)); break;
        default: break;
      }
      out.carry[n] = r.index;
      off += e.next_offset, n++;
    };
    auto put_new = [&](const WantItem& it) {
      const Entry& e = new_entry(it);
      memcpy(base + off, &e, e.next_offset);
      const auto* t = reinterpret_cast<const xt_entry_target*>(reinterpret_cast<const char*>(&e) + e.target_offset);
      // append_entry names a standard target, as libiptc takes it: "" falls through, a
      // verdict, or a chain. Any other name is an extension target.
      if (t->u.target_size == kStandardTargetSize) {
        std::string_view name(t->u.user.name, strnlen(t->u.user.name, sizeof t->u.user.name));
        if (name.empty()) set_verdict(off, static_cast<int>(off + e.next_offset));
        else if (name == "ACCEPT") set_verdict(off, -NF_ACCEPT - 1);
        else if (name == "DROP") set_verdict(off, -NF_DROP - 1);
        else if (name == "QUEUE") set_verdict(off, -NF_QUEUE - 1);
        else if (name == "RETURN") set_verdict(off, XT_RETURN);
        else if (at.count(name)) set_verdict(off, start_of(name));
      }
      out.set[n] = e.counters;
      off += e.next_offset, n++;
    };
    if (!c.want || want.append) {
      each_kept(c, put_kept);
      if (c.want) {
        for (const WantItem& it : c.want->items) put_new(it);
      }
    } else {
      for (const WantItem& it : c.want->items) {
        if (it.keep >= 0) put_kept(c.was->rules[static_cast<size_t>(it.keep)]);
        else put_new(it);
      }
    }
    // The foot: the policy (with its counters: carried, or the wire's), or RETURN.
    auto& foot = *reinterpret_cast<Entry*>(base + off);
    foot.target_offset = sizeof(Entry);
    foot.next_offset = static_cast<uint16_t>(foot_size);
    auto* ft = reinterpret_cast<xt_entry_target*>(base + off + sizeof(Entry));
    ft->u.target_size = static_cast<uint16_t>(kStandardTargetSize);
    set_verdict(off, c.hook >= 0 ? policy[i] : XT_RETURN);
    if (c.hook >= 0) {
      repl.hook_entry[c.hook] = c.start;
      repl.underflow[c.hook] = c.foot;
      if (c.want && c.want->has_counters) out.set[n] = c.want->counters;
      else out.carry[n] = c.was->foot.index;
    }
    off += foot_size, n++;
  }
  put_error_entry(XT_ERROR_TARGET);
  return {};
}

// IPT_SO_SET_REPLACE, then IPT_SO_SET_ADD_COUNTERS when there are counters to add. EAGAIN: the table is no longer the one
// read (its entry count changed): read again and lay out again.
template <class T>
OpError replace(const std::string& table, Replacement<T>& r) {
  XtSocket sock(T::kSocketFamily);
  if (sock.fd < 0) return socket_error<T>(table);
  typename T::Replace& repl = r.header();
  std::vector<xt_counters> old(repl.num_counters);
  repl.counters = old.data();
  if (setsockopt(sock.fd, T::kSockLevel, T::kSetReplace, &repl, static_cast<socklen_t>(r.buf.size())) < 0) {
    return commit_error<T>(table, errno);
  }
  const size_t n = r.carry.size();
  std::vector<char> add(sizeof(xt_counters_info) + n * sizeof(xt_counters), 0);
  auto& info = *reinterpret_cast<xt_counters_info*>(add.data());
  std::strncpy(info.name, table.c_str(), sizeof info.name - 1);
  info.num_counters = static_cast<unsigned>(n);
  auto* counters = reinterpret_cast<xt_counters*>(add.data() + sizeof(xt_counters_info));
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    counters[i] = r.carry[i] == Replacement<T>::kFresh ? r.set[i] : old[r.carry[i]];
    any = any || counters[i].pcnt || counters[i].bcnt;
  }
  // Adding nothing but zeros changes nothing: a table of new rules (a restore into a fresh
  // namespace, a first apply) skips the call, which walks every entry of the new table (1-2 ms
  // for the nat table of 10,000 ports).
  if (!any) return {};
  if (setsockopt(sock.fd, T::kSockLevel, T::kSetAddCounters, add.data(), static_cast<socklen_t>(add.size())) < 0) {
    int err = errno;
    return make_error(err, "commit", what_table<T>(table) + " was replaced, but its counters could not be set: " + strerror(err), table);
  }
  return {};
}

}  // namespace iptkit::legacy
