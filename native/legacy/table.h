// The legacy back end's work on one family, written once over a traits type that names the
// libiptc (IPv4) or libip6tc (IPv6) functions and the entry struct (ipt_entry / ip6t_entry);
// iptc4.cc and iptc6.cc instantiate it. Holds: reading a table into the wire (rules printed
// by the native dialect), parsing a commit wire into ready-made entries (rules parsed by it),
// turning a libiptc handle into the wanted table, and committing several tables all or
// nothing. Callers hold the libiptc mutex and the netns. The wire is docs/wire.md.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../common/error.h"
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
  int line = 0;       // wire line, for messages
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
  if (arena.capacity() == 0 || arena.capacity() > kKeepArena || spare.size() >= kKeep) return;
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

// ---- parse a commit wire ----

// A record's tab-separated fields, as views into the wire.
inline void split_fields(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  size_t pos = 0;
  for (;;) {
    size_t tab = line.find('\t', pos);
    if (tab == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return;
    }
    out.push_back(line.substr(pos, tab - pos));
    pos = tab + 1;
  }
}

// Plain decimal (the frame's numbers), at most `max`.
inline bool plain_u64(std::string_view v, uint64_t max, uint64_t& out) {
  if (v.empty() || v.size() > 20) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  if (n > max) return false;
  out = n;
  return true;
}

template <class T>
class CommitParser {
 public:
  CommitParser(size_t table_index, WantTable& out) : index_(table_index), out_(out) {}

  OpError parse(std::string_view text) {
    // One allocation instead of doubling a multi-megabyte arena: an entry is the entry header
    // and a standard target, plus matches that take about twice their text.
    size_t rules = 0;
    for (size_t at = text.find("\nrule\t"); at != std::string_view::npos; at = text.find("\nrule\t", at + 6)) rules++;
    if (rules > 0) out_.arena = take_arena();
    if (rules > 0) out_.arena.reserve(rules * (sizeof(typename T::Entry) + kStandardTargetSize) + text.size() * 2);
    int lineno = 0;
    size_t pos = 0;
    while (pos < text.size() && !error_) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      lineno++;
      if (nl > pos) line(text.substr(pos, nl - pos), lineno);
      pos = nl + 1;
    }
    if (error_) return error_;
    if (out_.name.empty()) return fail(0, "the wire has no table record");
    return check_targets();
  }

 private:
  OpError fail(int lineno, const std::string& what, const std::string& chain = {}) {
    std::string where =
        "commit wire " + (out_.name.empty() ? "#" + std::to_string(index_) : "of " + what_table<T>(out_.name));
    if (lineno > 0) where += " line " + std::to_string(lineno);
    if (!chain.empty()) where += " (chain " + chain + ")";
    error_ = make_error(EINVAL, "commit", where + ": " + what, out_.name, chain);
    return error_;
  }
  std::string chain_name() const { return out_.chains.empty() ? std::string() : out_.chains.back().name; }
  bool bad(std::string_view kind, const std::string& what) {
    fail(lineno_, std::string(kind) + " record: " + what, chain_name());
    return false;
  }

  void line(std::string_view text, int lineno) {
    lineno_ = lineno;
    size_t tab = text.find('\t');
    std::string_view kind = text.substr(0, tab);
    if (out_.name.empty() && kind != "table") {
      fail(lineno, "the first record must be 'table', got '" + std::string(kind) + "'");
      return;
    }
    if (kind == "keep") {
      keep_record(text);
    } else if (kind == "rule") {
      rule_record(text);
    } else if (kind == "chain") {
      split_fields(text, fields_);
      chain_record();
    } else if (kind == "table") {
      split_fields(text, fields_);
      table_record();
    } else {
      bad(kind, "unknown record kind");
    }
  }

  // The key=value fields after the positional word fields_[1], each key known and given once;
  // `values[i]` gets the value of keys[i] (empty view when absent, `given` tells).
  template <size_t N>
  bool key_values(std::string_view kind, const char* const (&keys)[N], std::string_view (&values)[N],
                  bool (&given)[N]) {
    for (size_t i = 0; i < N; i++) given[i] = false;
    for (size_t f = 2; f < fields_.size(); f++) {
      std::string_view kv = fields_[f];
      size_t eq = kv.find('=');
      if (eq == std::string_view::npos) return bad(kind, "'" + std::string(kv) + "' is not a key=value field");
      std::string_view key = kv.substr(0, eq);
      size_t i = 0;
      while (i < N && key != keys[i]) i++;
      if (i == N) return bad(kind, "unknown key '" + std::string(key) + "'");
      if (given[i]) return bad(kind, "key '" + std::string(key) + "' given twice");
      given[i] = true;
      values[i] = kv.substr(eq + 1);
    }
    return true;
  }

  void table_record() {
    static constexpr const char* kind = "table";
    if (!out_.name.empty()) return void(bad(kind, "a second table record"));
    if (fields_.size() < 2 || fields_[1].empty() || fields_[1].find('=') != std::string_view::npos) {
      return void(bad(kind, "needs the table name"));
    }
    static constexpr const char* keys[] = {"family", "append"};
    std::string_view v[2];
    bool given[2];
    if (!key_values(kind, keys, v, given)) return;
    if (given[1]) {
      if (v[1] != "1" && v[1] != "0") return void(bad(kind, "append=" + std::string(v[1]) + " is not 1 or 0"));
      out_.append = v[1] == "1";
    }
    if (!given[0] || v[0] != T::kFamilyName) {
      return void(bad(kind, "family=" + (given[0] ? std::string(v[0]) : std::string("(none)")) + " in an " +
                                T::kFamilyName + " commit"));
    }
    if (fields_[1].size() >= XT_TABLE_MAXNAMELEN) return void(bad(kind, "table name too long"));
    out_.name = std::string(fields_[1]);
  }

  void chain_record() {
    static constexpr const char* kind = "chain";
    if (fields_.size() < 2 || fields_[1].empty() || fields_[1].find('=') != std::string_view::npos) {
      return void(bad(kind, "needs the chain name"));
    }
    std::string name(fields_[1]);
    if (name.size() > kMaxChainName) {
      return void(bad(kind, "chain name " + name + " is longer than " + std::to_string(kMaxChainName) + " bytes"));
    }
    if (!names_.insert(name).second) return void(bad(kind, "chain " + name + " is listed twice"));
    static constexpr const char* keys[] = {"policy", "pkts", "bytes", "was"};
    enum { kPolicy, kPkts, kBytes, kWas };
    std::string_view v[4];
    bool given[4];
    WantChain c;
    c.name = std::move(name);
    c.line = lineno_;
    out_.chains.push_back(std::move(c));
    last_keep_ = -1;
    if (!key_values(kind, keys, v, given)) return;
    WantChain& chain = out_.chains.back();
    if (out_.append) {
      for (size_t i = 0; i < 4; i++) {
        if (given[i]) return void(bad(kind, std::string(keys[i]) + "= in an append=1 table (it only appends rules)"));
      }
    }
    if (given[kPolicy]) {
      if (v[kPolicy] != "ACCEPT" && v[kPolicy] != "DROP") {
        return void(bad(kind, "policy=" + std::string(v[kPolicy]) + " is not ACCEPT or DROP"));
      }
      chain.policy = std::string(v[kPolicy]);
    }
    if (given[kPkts] != given[kBytes]) return void(bad(kind, "pkts= and bytes= go together"));
    if (given[kPkts]) {
      if (chain.policy.empty()) return void(bad(kind, "pkts=/bytes= need policy="));
      uint64_t p = 0, b = 0;
      if (!plain_u64(v[kPkts], UINT64_MAX, p) || !plain_u64(v[kBytes], UINT64_MAX, b)) {
        return void(bad(kind, "pkts=" + std::string(v[kPkts]) + " bytes=" + std::string(v[kBytes]) +
                                  " are not decimal 64-bit counters"));
      }
      chain.has_counters = true;
      chain.counters.pcnt = p;
      chain.counters.bcnt = b;
    }
    if (given[kWas]) {
      chain.has_was = true;
      if (!plain_u64(v[kWas], UINT32_MAX, chain.was)) {
        return void(bad(kind, "was=" + std::string(v[kWas]) + " is not a rule count"));
      }
    }
  }

  bool need_chain(std::string_view kind) {
    if (out_.chains.empty()) return bad(kind, "comes before any chain record");
    return true;
  }

  // `keep N`: most of a commit that changes little, so taken without splitting the line.
  void keep_record(std::string_view text) {
    static constexpr const char* kind = "keep";
    if (out_.append) return void(bad(kind, "keep in an append=1 table (its chains keep all their rules)"));
    if (!need_chain(kind)) return;
    uint64_t idx = 0;
    std::string_view word = text.size() > 5 ? text.substr(5) : std::string_view();
    if (!plain_u64(word, UINT32_MAX, idx)) {
      return void(bad(kind, "needs one index, a decimal rule position (got '" + std::string(word) + "')"));
    }
    WantChain& c = out_.chains.back();
    if (c.keeps > 0 && static_cast<int64_t>(idx) <= last_keep_) {
      return void(bad(kind, "keep " + std::to_string(idx) + " after keep " + std::to_string(last_keep_) +
                                ": kept indices must be strictly increasing"));
    }
    last_keep_ = static_cast<int64_t>(idx);
    c.keeps++;
    c.items.push_back(WantItem{static_cast<int64_t>(idx), 0, lineno_});
  }

  // `rule PKTS BYTES TEXT`: the text is the rest of the line, parsed by the native dialect
  // (opaque markers iptkit printed itself are read back to their bytes).
  void rule_record(std::string_view text) {
    static constexpr const char* kind = "rule";
    if (!need_chain(kind)) return;
    size_t t1 = text.find('\t');
    size_t t2 = t1 == std::string_view::npos ? t1 : text.find('\t', t1 + 1);
    size_t t3 = t2 == std::string_view::npos ? t2 : text.find('\t', t2 + 1);
    if (t3 == std::string_view::npos) return void(bad(kind, "needs packets, bytes and the rule's text"));
    std::string_view pkts = text.substr(t1 + 1, t2 - t1 - 1), bytes = text.substr(t2 + 1, t3 - t2 - 1);
    std::string_view rule_text = text.substr(t3 + 1);
    bool counted = pkts != "-";
    uint64_t p = 0, b = 0;
    if (counted != (bytes != "-")) return void(bad(kind, "packets and bytes are both counters or both '-'"));
    if (counted && (!plain_u64(pkts, UINT64_MAX, p) || !plain_u64(bytes, UINT64_MAX, b))) {
      return void(bad(kind, "packets " + std::string(pkts) + " and bytes " + std::string(bytes) +
                                " are not decimal 64-bit counters"));
    }
    auto bad_rule = [&](const std::string& why) {
      constexpr size_t kShown = 200;
      std::string shown;
      for (char c : rule_text.substr(0, kShown)) {
        if (c == '\r') shown += "\\r";
        else shown += c;
      }
      if (rule_text.size() > kShown) shown += "…";
      return void(bad(kind, "`" + shown + "': " + why));
    };
    if (rule_text.find('\r') != std::string_view::npos) return bad_rule("a line break cannot be part of a rule");
    dialect::ParseError perr;
    if (!dialect::parse_rule(rule_text, T::family, rule_, perr, nullptr, /*opaque_ok=*/true)) {
      return bad_rule(perr.message.empty() ? std::string("cannot parse the rule") : perr.message);
    }
    if (!counted && rule_.has_counters) {  // -c PKTS BYTES in the text
      p = rule_.packets;
      b = rule_.bytes;
    }
    switch (rule_.target_kind) {
      case dialect::TargetKind::kJump:
      case dialect::TargetKind::kGoto:
        checks_.push_back({rule_.target_name, lineno_, true, chain_name()});
        break;
      case dialect::TargetKind::kExtension:
        checks_.push_back({rule_.target.name, lineno_, false, chain_name()});
        break;
      default:
        break;
    }
    std::string why;
    size_t off = out_.arena.size();
    if (!append_entry<T>(rule_, p, b, out_.arena, why)) return bad_rule(why);
    out_.chains.back().items.push_back(WantItem{-1, off, lineno_});
  }

  // Jumps must name a chain of this table; an extension target must not (libiptc would take
  // it for a jump). -j NAME with no module for NAME parses as a jump, so a jump to no chain is
  // also how an unknown target shows.
  OpError check_targets() {
    for (const auto& c : checks_) {
      if (out_.append) {
        // The chains a rule may jump to are the kernel's: checked when applied.
        if (c.jump) out_.jumps.push_back(WantJump{c.from, c.name, c.line});
        else out_.targets.push_back(WantJump{c.from, c.name, c.line});
        continue;
      }
      bool chain = names_.count(c.name) > 0;
      if (c.jump && !chain) {
        return fail(c.line, "rule record: " + c.name + " is neither a chain of the table nor a target iptkit knows",
                    c.from);
      }
      if (c.jump) out_.jumps.push_back(WantJump{c.from, c.name, c.line});
      if (!c.jump && chain) {
        return fail(c.line, "rule record: target " + c.name + " is also a chain name of the table", c.from);
      }
    }
    return {};
  }

  struct TargetCheck {
    std::string name;
    int line;
    bool jump;
    std::string from;  // the chain of the rule
  };

  size_t index_;
  WantTable& out_;
  OpError error_;
  int lineno_ = 0;
  int64_t last_keep_ = -1;
  std::vector<std::string_view> fields_;
  std::unordered_set<std::string> names_;
  std::vector<TargetCheck> checks_;
  dialect::Rule rule_;
};

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
      return error(ENOENT, j.chain, "the rule of wire line " + std::to_string(j.line) + " jumps to " + j.to +
                                        ": No chain/target/match by that name");
    }
    if (T::builtin(j.to.c_str(), h)) {
      return error(EINVAL, j.chain, "the rule of wire line " + std::to_string(j.line) + " jumps to built-in chain " +
                                        j.to + "; only user-defined chains can be jump targets");
    }
  }
  for (const WantJump& t : want.targets) {
    if (T::is_chain(t.to.c_str(), h)) {
      return error(EINVAL, t.chain, "target record of wire line " + std::to_string(t.line) + ": " + t.to +
                                        " is also a chain name of the table");
    }
  }
  bool changed = false;
  for (const WantChain& wc : want.chains) {
    for (const auto& it : wc.items) {
      const auto* e = reinterpret_cast<const Entry*>(want.arena.data() + it.off);
      if (!T::append_entry(wc.name.c_str(), e, h)) {
        int err = errno ? errno : EINVAL;
        return error(err, wc.name, "cannot add the rule of wire line " + std::to_string(it.line) + ": " + T::strerror(err));
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
      return error(EINVAL, j.chain, "the rule of wire line " + std::to_string(j.line) + " jumps to built-in chain " +
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
        std::string where = it.line > 0 ? "the rule of wire line " + std::to_string(it.line) : "rule " + std::to_string(pos);
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

// All or nothing: every table is parsed and transformed before the first is committed; if
// table k's commit fails, tables 0..k-1 are put back from copies taken before their commit.
template <class T>
OpError commit_tables(const std::vector<std::string>& wires) {
  const size_t n = wires.size();
  std::vector<WantTable> want(n), before(n);
  ArenaReturn want_arenas(want), before_arenas(before);
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < n; i++) {
    CommitParser<T> parser(i, want[i]);
    if (OpError err = parser.parse(wires[i])) return err;
    if (!seen.insert(want[i].name).second) {
      return make_error(EINVAL, "commit", "commit lists " + what_table<T>(want[i].name) + " twice", want[i].name);
    }
  }

  std::vector<Handle<T>> handles(n);
  auto prepare = [&](size_t i) -> OpError {
    errno = 0;
    handles[i].reset(T::init(want[i].name.c_str()));
    if (!handles[i]) return init_error<T>("commit", want[i].name);
    if (i + 1 < n) {
      if (OpError err = capture_table<T>(handles[i].get(), want[i].name, before[i])) return err;
    }
    return apply_table<T>(handles[i].get(), want[i]);
  };
  for (size_t i = 0; i < n; i++) {
    if (OpError err = prepare(i)) return err;
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
      errno = 0;
      if (T::commit(handles[i].get())) {
        err = {};
        break;
      }
      int e = errno;
      err = commit_error<T>(want[i].name);
      if (e != EAGAIN) break;
    }
    if (err) {
      if (i > 0) {
        std::string before_msg = err.message;
        put_back(i, err);
        if (err.message == before_msg) {
          err.message += "; the " + std::to_string(i) + " table(s) committed before it were put back as they were";
        }
      }
      return err;
    }
  }
  return {};
}

}  // namespace iptkit::legacy
