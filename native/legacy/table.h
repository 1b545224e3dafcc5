// The legacy back end's work on one family, written once over a traits type that names the
// family's x_tables structs and socket options (ipt_* / ip6t_*); iptc4.cc and iptc6.cc
// instantiate it. Holds: reading a table into the wire (rules printed by the native dialect),
// parsing a commit wire into ready-made entries (rules parsed by it), and committing several
// tables all or nothing, each laid out over the kernel's table as read (kernel_table.h,
// replace.h). Callers hold the table mutex and the netns. The wire is docs/wire.md.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>

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
#include "../common/parallel.h"
#include "../dialect/parse.h"
#include "../dialect/print.h"
#include "entry.h"
#include "kernel_table.h"
#include "replace.h"
#include "backend.h"
#include "want.h"

namespace iptkit::legacy {

// A table replaced by another process between our read and our replace (EAGAIN): read again
// and lay out again, a bounded number of times.
constexpr int kCommitAttempts = 5;

// ---- read ----

// What a rule's standard target names, for EntryReader: a verdict, a chain, "" (falls
// through), or nullptr for a verdict iptables cannot write.
template <class T>
auto jumps_of(const KernelTable<T>& table, uint32_t off) {
  return [&table, off](const typename T::Entry& e) -> const char* {
    const char* to = nullptr;
    table.standard_target(e, off, to);
    return to;
  };
}

template <class T>
OpError no_table(const char* op, const std::string& table) {
  return make_error(ENOENT, op, "cannot open " + what_table<T>(table) + ": the kernel has no such table", table);
}

// A digest of what a table holds: where each hook's chain starts and ends, and its entries but
// for what the kernel keeps in them (the counters, and `comefrom`, which it derives from the
// chains when it takes a table). Equal exactly when nothing of the table changed but counters;
// and, since the kernel gives each entry back as it took it otherwise (a match's or target's
// private part is zero either way), the digest of entries laid out for a replace is that of
// the table read back after it. False: an entry has a bad length.
template <class T>
bool entries_digest(const typename T::GetInfo& info, const char* entries, uint64_t& out) {
  using Entry = typename T::Entry;
  constexpr size_t kFrom = offsetof(Entry, comefrom), kTo = offsetof(Entry, counters) + sizeof(xt_counters);
  static_assert(kFrom < kTo && kTo <= sizeof(Entry), "comefrom and the counters lie together in an entry");
  intent::Digest d;
  d.add_u64(info.valid_hooks);
  d.add_u64(info.num_entries);
  for (unsigned h = 0; h < NF_INET_NUMHOOKS; h++) {
    // A hook the table has no chain for: the kernel says 0xFFFFFFFF, a replace may say 0.
    if (!(info.valid_hooks & (1u << h))) continue;
    d.add_u64(info.hook_entry[h]);
    d.add_u64(info.underflow[h]);
  }
  for (size_t off = 0; off < info.size;) {
    if (info.size - off < sizeof(Entry)) return false;
    const auto* e = reinterpret_cast<const Entry*>(entries + off);
    if (e->next_offset < sizeof(Entry) || e->next_offset > info.size - off) return false;
    const char* p = entries + off;
    d.add(p, kFrom);
    d.add(p + kTo, e->next_offset - kTo);
    off += e->next_offset;
  }
  out = d.value();
  return true;
}

// entries_digest of the table as the kernel holds it now: one copy of the entries and nothing
// parsed (DockerHost.apply's check that nothing changed since its last commit, and kept reads).
// `exists` false: the kernel has no such table.
template <class T>
OpError table_fingerprint(const std::string& table, bool& exists, uint64_t& out) {
  out = 0;
  typename T::GetInfo info;
  std::vector<char> buf;
  if (OpError err = get_entries<T>(table, info, buf, exists)) return err;
  if (!exists) return {};
  if (!entries_digest<T>(info, buf.data() + sizeof(typename T::GetEntries), out)) {
    return make_error(EPROTO, "read", what_table<T>(table) + ": an entry the kernel gave has a bad length", table);
  }
  return {};
}

// Whether a table holds anything (`--backend auto`): a rule, a user-defined chain or a policy
// other than ACCEPT. The kernel's entry count (one getsockopt, no entries copied) answers for
// any table but one of built-in chains alone (an entry per chain, and the closing ERROR
// entry), whose few entries are then read for the policies.
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
  KernelTable<T> t;
  bool exists = false;
  if (OpError err = t.load(table, exists)) return err;
  for (const auto& c : t.chains) {
    if (c.hook < 0 || !c.rules.empty() || c.policy != -NF_ACCEPT - 1) holds = true;
  }
  return {};
}

// Text buffers for the pieces of a read that helper threads print, kept from read to read so
// that their pages stay mapped (callers hold the table mutex, so one read uses them at a time).
inline std::vector<std::string>& piece_texts() {
  static std::vector<std::string> texts;
  return texts;
}

// The read wire of docs/wire.md: every record after the table line is written as '\n' and
// its text, so that the space save_rule puts before a rule's first option becomes the
// newline before the rule, in place. `counters` gets two entries per rule, in wire order.
// The rules are printed in pieces on the machine's cores (common/parallel.h): each piece
// writes the chain headers that fall in it, so the pieces' texts in order are the wire.
template <class T>
OpError read_table(const std::string& table, std::string& out, std::vector<uint64_t>& counters, uint64_t* digest) {
  KernelTable<T> t;
  bool exists = false;
  if (OpError err = t.load(table, exists)) return err;
  if (!exists) return no_table<T>("read", table);
  // The digest of this very copy: what was read, not what a second look finds.
  if (digest && !entries_digest<T>(t.info, t.entries(), *digest)) {
    return make_error(EPROTO, "read", what_table<T>(table) + ": an entry the kernel gave has a bad length", table);
  }
  // Every rule in wire order, and per chain the number of its first rule.
  struct At {
    uint32_t chain, index;
  };
  std::vector<At> rules;
  std::vector<size_t> first(t.chains.size() + 1);
  for (size_t c = 0; c < t.chains.size(); c++) {
    first[c] = rules.size();
    for (size_t i = 0; i < t.chains[c].rules.size(); i++) rules.push_back(At{static_cast<uint32_t>(c), static_cast<uint32_t>(i)});
  }
  first[t.chains.size()] = rules.size();
  out.clear();
  out.reserve(64 + t.chains.size() * 64 + rules.size() * 72);
  counters.assign(2 * rules.size(), 0);
  out += "table\t";
  out += table;
  out += '\t';
  out += T::kFamilyName;

  constexpr size_t kRulesPerPiece = 4096;
  const Pieces pieces;
  const size_t k = Pieces::count(rules.size(), kRulesPerPiece);
  std::vector<std::string>& texts = piece_texts();
  if (texts.size() < k) texts.resize(k);
  std::vector<std::string> why(k);
  std::vector<size_t> bad(k, SIZE_MAX);  // per piece, the rule it could not read
  pieces.run(rules.size(), kRulesPerPiece, [&](size_t piece, size_t begin, size_t end) {
    std::string& o = piece == 0 ? out : texts[piece];
    if (piece > 0) {
      o.clear();
      o.reserve((end - begin) * 72);
    }
    EntryReader<T> reader;
    // The chains whose headers go before rule `i`: those starting there (empty ones too), and
    // after the last rule those that start at the end.
    size_t c = piece == 0 ? 0 : static_cast<size_t>(std::upper_bound(first.begin(), first.end() - 1, begin - 1) - first.begin());
    auto headers = [&](size_t i) {
      for (; c < t.chains.size() && first[c] == i; c++) {
        const auto& ch = t.chains[c];
        o += "\nchain\t";
        o += ch.name;
        if (ch.hook >= 0) {
          o += '\t';
          o += ch.policy == -NF_DROP - 1 ? "DROP" : "ACCEPT";
          o += '\t';
          dialect::append_u64(o, ch.counters.pcnt);
          o += '\t';
          dialect::append_u64(o, ch.counters.bcnt);
        } else {
          o += "\t-\t";
          dialect::append_u64(o, ch.refs);
        }
        o += '\t';
        dialect::append_u64(o, ch.rules.size());
      }
    };
    for (size_t i = begin; i < end; i++) {
      headers(i);
      const auto& r = t.chains[rules[i].chain].rules[rules[i].index];
      const auto& e = t.entry(r.off);
      if (!reader.read(e, jumps_of(t, r.off), why[piece])) {
        bad[piece] = i;
        return;
      }
      const size_t at = o.size();
      dialect::save_rule(reader.rule(), T::family, o);
      if (o.size() == at) {
        o += '\n';  // a rule without options: -A CHAIN alone
      } else {
        if (o[at] == ' ') o[at] = '\n';
        else o.insert(at, 1, '\n');
        // A comment written by another tool may hold a line break: a space on the wire.
        for (size_t j = at + 1; j < o.size(); j++) {
          if (o[j] == '\n' || o[j] == '\r') o[j] = ' ';
        }
      }
      counters[2 * i] = e.counters.pcnt;
      counters[2 * i + 1] = e.counters.bcnt;
    }
    if (end == rules.size()) headers(end);
  });
  for (size_t p = 0; p < k; p++) {
    if (bad[p] == SIZE_MAX) continue;
    const At& a = rules[bad[p]];
    const std::string& chain = t.chains[a.chain].name;
    return make_error(EPROTO, "read",
                      "rule " + std::to_string(a.index) + " of chain " + chain + " in " + what_table<T>(table) + ": " + why[p],
                      table, chain);
  }
  for (size_t p = 1; p < k; p++) {
    out += texts[p];
    // Kept for the next read, emptied; one that a much bigger table made is given back.
    if (texts[p].capacity() > 2 * texts[p].size() + (1u << 20)) std::string().swap(texts[p]);
    texts[p].clear();
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
    // Once (not `capacity() > 0`: an empty string has its inline buffer's capacity, which made
    // this never reserve, and a big table's arena grew by doubling).
    if (rules == 0 || reserved_) return;
    reserved_ = true;
    arena.reserve(rules * (sizeof(typename T::Entry) + kStandardTargetSize + 96));
  }

  bool take(const dialect::Rule& rule, std::string_view, std::string_view chain, commit::NewRule& nr,
            std::string& why) override {
    const int line = static_cast<int>(nr.line);
    if (rule.target_kind == dialect::TargetKind::kJump || rule.target_kind == dialect::TargetKind::kGoto) {
      jumps.push_back(WantJump{std::string(chain), rule.target_name, line});
    } else if (rule.target_kind == dialect::TargetKind::kExtension && (chain != last_chain_ || rule.target.name != last_target_)) {
      // Most rules repeat the chain and target of the one before: no key to build for them.
      last_chain_.assign(chain.data(), chain.size());
      last_target_ = rule.target.name;
      std::string key = last_chain_ + '\0' + last_target_;
      if (seen_.insert(std::move(key)).second) targets.push_back(WantJump{last_chain_, last_target_, line});
    }
    nr.encoded = arena.size();
    return append_entry<T>(rule, nr.packets, nr.bytes, arena, why);
  }

  ScratchString arena;
  std::vector<WantJump> jumps;    // -j/-g CHAIN rules: (their chain, the chain named, line)
  std::vector<WantJump> targets;  // extension targets: (chain, target name, first line)

 private:
  bool reserved_ = false;
  std::unordered_set<std::string> seen_;
  std::string last_chain_, last_target_;
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
      if (it.keep) continue;
      commit::NewRule& nr = plan.rules[it.rule];
      if (!nr.rule) continue;  // its sink took it when it was parsed
      if (!reserved) sink->reserve(plan.rules.size()), reserved = true;
      if (!sink->take(*nr.rule, plan.name, c.name, nr, why)) return fail(c.name, nr.line, why);
    }
  }
  // Jumps must name a chain of this table; an extension target must not (lay_out would take
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

// The table as read, as a WantTable whose rules are all new and carry their read counters (a
// standard target named as append_entry names it), and whose built-in chains set policy and
// counters: laying it out over the kernel's table later puts this state back.
template <class T>
OpError capture_table(const KernelTable<T>& t, WantTable& img) {
  using Entry = typename T::Entry;
  img = WantTable{};
  img.name = t.name;
  for (const auto& c : t.chains) {
    WantChain& wc = img.chains.emplace_back();
    wc.name = c.name;
    if (c.hook >= 0) {
      wc.policy = c.policy == -NF_DROP - 1 ? "DROP" : "ACCEPT";
      wc.has_counters = true;
      wc.counters = c.counters;
    }
    for (const auto& r : c.rules) {
      const Entry& e = t.entry(r.off);
      size_t off = img.arena.size();
      img.arena.append(reinterpret_cast<const char*>(&e), e.next_offset);
      const char* to = nullptr;
      if (t.standard_target(e, r.off, to) != KernelTable<T>::Goes::kNotStandard) {
        auto* target = reinterpret_cast<xt_entry_target*>(&img.arena[off] + e.target_offset);
        memset(target->u.user.name, 0, sizeof target->u.user.name);
        memcpy(target->u.user.name, to, std::min(strlen(to), sizeof target->u.user.name - 1));
      }
      wc.items.push_back(WantItem{-1, off, 0});
    }
  }
  return {};
}

}  // namespace iptkit::legacy

#include "intent_record.h"

namespace iptkit::legacy {

// All or nothing: every table is parsed and transformed before the first is committed; if
// table k's commit fails, tables 0..k-1 are put back from copies taken before their commit.
// With two tables or more, an intent record (intent_record.h) holds those copies and both
// tables' identities from before the first replace to after the last, so that a process killed
// in between is finished or rolled back by the next iptkit operation on the namespace.
// The rules a plan parsed itself (the native restore's) are released as soon as they are
// entries: at 300,000 rules they are ~200 MB that would otherwise sit beside the replacement.
inline void release_parsed(commit::TablePlan& plan) {
  if (plan.owned.empty()) return;
  for (commit::NewRule& r : plan.rules) r.rule = nullptr;
  std::deque<dialect::Rule>().swap(plan.owned);
}

template <class T>
OpError stale(const std::string& table) {
  return make_error(ESTALE, "commit",
                    what_table<T>(table) + " is no longer what the commit was planned on (a writer that does not take the xtables lock changed it)",
                    table);
}

template <class T>
OpError commit_tables(std::vector<commit::TablePlan>& plans, TableDigests* digests) {
  const size_t n = plans.size();
  std::vector<WantTable> want(n), before(n);
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
    for (const auto& c : plans[i].chains) rules += c.items.size();
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

  // Per table: the kernel's table as read under the lock, and its replacement laid out over it.
  std::vector<KernelTable<T>> now(n);
  std::vector<Replacement<T>> repl(n);
  std::vector<uint64_t> after(digests ? n : 0);
  auto expected = [&](const std::string& name) -> const uint64_t* {
    if (!digests) return nullptr;
    for (const auto& [t, d] : digests->expect) {
      if (t == name) return &d;
    }
    return nullptr;
  };
  auto prepare = [&](size_t i) -> OpError {
    bool exists = false;
    if (OpError err = now[i].load(want[i].name, exists)) return err;
    if (!exists) return no_table<T>("commit", want[i].name);
    if (const uint64_t* want_digest = expected(want[i].name)) {
      uint64_t d = 0;
      if (!entries_digest<T>(now[i].info, now[i].entries(), d) || d != *want_digest) return stale<T>(want[i].name);
    }
    if (recorded) {
      if (OpError err = table_identity<T>(now[i], record[i].old_id)) return err;
    }
    if (i + 1 < n) {
      if (OpError err = capture_table<T>(now[i], before[i])) return err;
    }
    if (OpError err = lay_out<T>(now[i], want[i], repl[i])) return err;
    if (digests) {
      const bool ok = repl[i].changed ? entries_digest<T>(repl[i].layout(), repl[i].entries(), after[i])
                                      : entries_digest<T>(now[i].info, now[i].entries(), after[i]);
      if (!ok) return make_error(EPROTO, "commit", what_table<T>(want[i].name) + ": an entry has a bad length", want[i].name);
    }
    // The last table needs no identity of what it gets: once it is no longer what it was,
    // every replace has happened (recover_record), and printing it would be most of the cost.
    if (!recorded || i + 1 == n) return {};
    if (!repl[i].changed) {
      record[i].new_id = record[i].old_id;
      return {};
    }
    if (!entries_digest<T>(repl[i].layout(), repl[i].entries(), record[i].new_id)) {
      return make_error(EPROTO, "commit", what_table<T>(want[i].name) + ": an entry has a bad length", want[i].name);
    }
    return {};
  };
  for (size_t i = 0; i < n; i++) {
    if (OpError err = prepare(i)) return err;
  }
  // The other tables the plan was made from: still as they were.
  if (digests) {
    for (const auto& [t, d] : digests->expect) {
      if (std::any_of(want.begin(), want.end(), [&](const WantTable& w) { return w.name == t; })) continue;
      bool exists = false;
      uint64_t now_digest = 0;
      if (OpError err = table_fingerprint<T>(t, exists, now_digest)) return err;
      if (!exists || now_digest != d) return stale<T>(t);
    }
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
      if (OpError back = put_image<T>(before[j])) {
        err.message += "; and putting back " + what_table<T>(before[j].name) + " failed: " + back.message;
      }
    }
  };

  for (size_t i = 0; i < n; i++) {
    OpError err;
    for (int attempt = 0; attempt < kCommitAttempts; attempt++) {
      if (attempt > 0 && (err = prepare(i))) break;
      if (attempt > 0 && recorded && (err = write_record())) break;
      if (!repl[i].changed) break;
      err = replace<T>(want[i].name, repl[i]);
      if (err.err != EAGAIN) break;
    }
    if (!err) {
      // In: its replacement and entries are not needed again.
      repl[i] = Replacement<T>{};
      want[i].arena = ScratchString();
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
  if (digests) {
    digests->after.clear();
    for (size_t i = 0; i < n; i++) digests->after.emplace_back(want[i].name, after[i]);
  }
  return {};
}

}  // namespace iptkit::legacy
