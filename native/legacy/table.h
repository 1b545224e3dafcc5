// The legacy back end's work on one family, written once over a traits type that names the
// libiptc (IPv4) or libip6tc (IPv6) functions and the entry struct (ipt_entry / ip6t_entry);
// iptc4.cc and iptc6.cc instantiate it. Holds: reading a table into the wire, parsing a
// commit wire into ready-made entries, turning a libiptc handle into the wanted table, and
// committing several tables all or nothing. Callers hold the libiptc mutex and the netns.
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../common/error.h"
#include "../common/wire.h"
#include "../ext/codec.h"
#include "ipfields.h"

namespace iptkit::legacy {

constexpr size_t kMatchHeader = XT_ALIGN(sizeof(struct xt_entry_match));
constexpr size_t kTargetHeader = XT_ALIGN(sizeof(struct xt_entry_target));
constexpr size_t kStandardTargetSize = XT_ALIGN(sizeof(struct xt_standard_target));
// A jump writes the chain name into the target's u.user.name, so chain names are bounded by
// it (iptables says the same: "chain name must be shorter than 29 characters").
constexpr size_t kMaxChainName = XT_EXTENSION_MAXNAMELEN - 1;
// invflags bits with the same value in ipt_ip and ip6t_ip6 (IPT_INV_* / IP6T_INV_*).
constexpr uint8_t kInvSrcIp = 0x08, kInvDstIp = 0x10;
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

inline const char* verdict_name(int verdict) {
  switch (verdict) {
    case -NF_ACCEPT - 1: return "ACCEPT";
    case -NF_DROP - 1: return "DROP";
    case -NF_QUEUE - 1: return "QUEUE";
    case XT_RETURN: return "RETURN";
    default: return nullptr;
  }
}

inline std::string_view ext_name(const char* name) {
  return std::string_view(name, strnlen(name, XT_EXTENSION_MAXNAMELEN));
}

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

// find_codec walks the registry comparing names; a table has a handful of distinct
// extensions, so the read and the commit parser remember the ones they met.
class CodecCache {
 public:
  const Codec* find(std::string_view name, uint8_t revision, bool is_target, Family family) {
    for (size_t i = 0; i < n_; i++) {
      const Slot& s = slots_[i];
      if (s.revision == revision && s.is_target == is_target && s.len == name.size() &&
          memcmp(s.name, name.data(), name.size()) == 0) {
        return s.codec;
      }
    }
    const Codec* c = find_codec(name, revision, is_target, family);
    if (name.size() <= sizeof slots_[0].name) {
      Slot& s = slots_[n_ < kSlots ? n_++ : (next_++ % kSlots)];
      memcpy(s.name, name.data(), name.size());
      s.len = name.size();
      s.revision = revision;
      s.is_target = is_target;
      s.codec = c;
    }
    return c;
  }

 private:
  struct Slot {
    char name[XT_EXTENSION_MAXNAMELEN];
    size_t len;
    uint8_t revision;
    bool is_target;
    const Codec* codec;
  };
  static constexpr size_t kSlots = 16;
  Slot slots_[kSlots];
  size_t n_ = 0, next_ = 0;
};

template <class T>
void append_extension(std::string& out, CodecCache& codecs, const char* kind, bool is_target, const char* name_field,
                      uint8_t revision, const unsigned char* data, size_t len) {
  std::string_view name = ext_name(name_field);
  // "kind\tNAME\tREV" in one append: the name is at most 29 bytes, 87 escaped.
  char head[16 + 3 * XT_EXTENSION_MAXNAMELEN];
  size_t klen = strlen(kind);
  memcpy(head, kind, klen);
  char* p = head + klen;
  *p++ = '\t';
  p = wire_escape_to(p, name);
  *p++ = '\t';
  p = put_u64(p, revision);
  out.append(head, static_cast<size_t>(p - head));
  FieldWriter w(out);
  const Codec* codec = codecs.find(name, revision, is_target, T::family);
  // A size the codec does not expect is another layout of the struct: carry it opaque.
  if (codec && codec->size == len) {
    codec->decode(data, len, T::family, w);
  } else {
    w.bytes_hex("raw", data, len);
  }
  out += '\n';
}

template <class T>
OpError append_rule(std::string& out, CodecCache& codecs, const typename T::Entry& e, xtc_handle* h, const std::string& table,
                    const char* chain, uint64_t index) {
  auto bad = [&](const std::string& what) {
    return make_error(EPROTO, "read", "rule " + std::to_string(index) + " of chain " + chain + " in " +
                                          what_table<T>(table) + ": " + what,
                      table, chain);
  };
  const auto& ip = T::ip(e);
  // The rule line on the stack, appended once: at most 64 (counters) + 2 * 104 (addresses)
  // + 2 * 56 (interfaces) + 40 (proto, inv, frag, goto) bytes.
  char line[512];
  static_assert(sizeof line >= 64 + 2 * (8 + 2 * 46) + 2 * (8 + 3 * 16) + 48, "rule line buffer");
  char* p = line;
  memcpy(p, "rule\tpkts=", 10);
  p = put_u64(p + 10, e.counters.pcnt);
  memcpy(p, "\tbytes=", 7);
  p = put_u64(p + 7, e.counters.bcnt);
  if (!is_zero(&ip.src, T::kAddrLen) || !is_zero(&ip.smsk, T::kAddrLen) || (ip.invflags & kInvSrcIp)) {
    p = put_addr(p, "src", T::family, &ip.src, &ip.smsk);
  }
  if (!is_zero(&ip.dst, T::kAddrLen) || !is_zero(&ip.dmsk, T::kAddrLen) || (ip.invflags & kInvDstIp)) {
    p = put_addr(p, "dst", T::family, &ip.dst, &ip.dmsk);
  }
  p = put_iface(p, "in", ip.iniface, ip.iniface_mask);
  p = put_iface(p, "out", ip.outiface, ip.outiface_mask);
  if (ip.proto != 0 || (ip.invflags & XT_INV_PROTO)) {
    memcpy(p, "\tproto=", 7);
    p = put_u64(p + 7, ip.proto);
  }
  if (ip.invflags != 0) {
    memcpy(p, "\tinv=", 5);
    p = put_u64(p + 5, ip.invflags);
  }
  if (T::kFragFlag != 0 && (ip.flags & T::kFragFlag)) {
    memcpy(p, "\tfrag=1", 7);
    p += 7;
  }
  if (ip.flags & T::kGotoFlag) {
    memcpy(p, "\tgoto=1", 7);
    p += 7;
  }
  *p++ = '\n';
  out.append(line, static_cast<size_t>(p - line));

  const auto* base = reinterpret_cast<const unsigned char*>(&e);
  size_t off = sizeof(typename T::Entry);
  while (off < e.target_offset) {
    xt_entry_match m;
    memcpy(&m, base + off, sizeof m);
    size_t size = m.u.match_size;
    if (size < sizeof m || off + size > e.target_offset) return bad("a match has size " + std::to_string(size));
    append_extension<T>(out, codecs, "match", false, m.u.user.name, m.u.user.revision, base + off + sizeof m,
                        size - sizeof m);
    off += size;
  }

  xt_entry_target t;
  if (e.target_offset + sizeof t > e.next_offset) return bad("no room for the target");
  memcpy(&t, base + e.target_offset, sizeof t);
  if (t.u.target_size < sizeof t || e.target_offset + t.u.target_size > e.next_offset) {
    return bad("the target has size " + std::to_string(t.u.target_size));
  }
  if (t.u.user.name[0] != '\0') {
    append_extension<T>(out, codecs, "target", true, t.u.user.name, t.u.user.revision, base + e.target_offset + sizeof t,
                        t.u.target_size - sizeof t);
    return {};
  }
  // The standard target: a negative verdict is ACCEPT/DROP/QUEUE/RETURN; otherwise libiptc
  // resolved the offset to a chain (jump) or to the next rule (fall through, name "").
  if (t.u.target_size < kStandardTargetSize) return bad("a standard target of size " + std::to_string(t.u.target_size));
  int verdict;
  memcpy(&verdict, base + e.target_offset + sizeof t, sizeof verdict);
  if (verdict < 0) {
    const char* v = verdict_name(verdict);
    if (!v) return bad("standard verdict " + std::to_string(verdict) + " has no iptables name");
    out += "verdict\t";
    out += v;
    out += '\n';
    return {};
  }
  const char* to = T::get_target(&e, h);
  if (to && *to) {
    out += "jump\t";
    wire_escape(out, to);
    out += '\n';
  }
  return {};
}

template <class T>
OpError read_table(const std::string& table, std::string& out) {
  Handle<T> h(T::init(table.c_str()));
  if (!h) return init_error<T>("read", table);
  // One pass to size the string (libiptc's lists are in memory): growing a multi-megabyte
  // string by doubling would copy it over and over.
  size_t rules = 0, chains = 0;
  for (const char* chain = T::first_chain(h.get()); chain; chain = T::next_chain(h.get()), chains++) {
    rules += count_rules<T>(chain, h.get());
  }
  out.clear();
  out.reserve(256 + chains * 64 + rules * 320);
  CodecCache codecs;
  out += "table\t";
  wire_escape(out, table);
  out += "\tfamily=";
  out += T::kFamilyName;
  out += '\n';
  for (const char* chain = T::first_chain(h.get()); chain; chain = T::next_chain(h.get())) {
    out += "chain\t";
    wire_escape(out, chain);
    if (T::builtin(chain, h.get())) {
      xt_counters c{};
      const char* policy = T::get_policy(chain, &c, h.get());
      out += "\tpolicy=";
      out += policy ? policy : "ACCEPT";
      out += "\tpkts=";
      append_u64(out, c.pcnt);
      out += "\tbytes=";
      append_u64(out, c.bcnt);
    } else {
      unsigned int refs = 0;
      T::get_references(&refs, chain, h.get());
      out += "\trefs=";
      append_u64(out, refs);
    }
    out += '\n';
    uint64_t index = 0;
    for (const auto* e = T::first_rule(chain, h.get()); e; e = T::next_rule(e, h.get()), index++) {
      if (OpError err = append_rule<T>(out, codecs, *e, h.get(), table, chain, index)) return err;
    }
  }
  return {};
}

// ---- parse a commit wire ----

template <class T>
class CommitParser {
 public:
  CommitParser(size_t table_index, WantTable& out) : index_(table_index), out_(out) {}

  OpError parse(std::string_view text) {
    // The entries take about as many bytes as their wire text: one allocation instead of
    // doubling a multi-megabyte arena (a pure keep wire reserves a little for nothing).
    out_.arena.reserve(text.size());
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
    if (!finish_rule()) return error_;
    return check_targets();
  }

 private:
  OpError fail(int lineno, const std::string& what, const std::string& chain = {}) {
    std::string where = "commit wire " + (out_.name.empty() ? "#" + std::to_string(index_) : "of " + what_table<T>(out_.name));
    if (lineno > 0) where += " line " + std::to_string(lineno);
    if (!chain.empty()) where += " (chain " + chain + ")";
    error_ = make_error(EINVAL, "commit", where + ": " + what, out_.name, chain);
    return error_;
  }
  std::string chain_name() const { return out_.chains.empty() ? std::string() : out_.chains.back().name; }
  bool bad(const std::string& what) {
    fail(lineno_, wl_->kind + " record: " + what, chain_name());
    return false;
  }

  bool only_keys(std::initializer_list<std::string_view> keys) {
    for (const auto& kv : wl_->fields.all()) {
      bool known = false;
      for (auto k : keys) known = known || kv.first == k;
      if (!known) return bad("unknown key '" + kv.first + "'");
    }
    return true;
  }

  bool u64(std::string_view key, uint64_t max, uint64_t& v) {
    std::string err;
    if (!get_u64(wl_->fields, key, max, v, err)) return bad(err);
    return true;
  }

  void line(std::string_view text, int lineno) {
    lineno_ = lineno;
    // `keep N` is most of a commit that changes little: taken without splitting the line when
    // it can only succeed (a chain is open, no rule pending, N plain decimal and increasing);
    // anything else goes the general way below, with its checks and messages.
    if (text.size() > 5 && text.size() <= 5 + 9 && memcmp(text.data(), "keep\t", 5) == 0 && !in_rule_ &&
        !out_.name.empty() && !out_.chains.empty() && !out_.append) {
      uint64_t idx = 0;
      bool digits = true;
      for (char ch : text.substr(5)) {
        if (ch < '0' || ch > '9') {
          digits = false;
          break;
        }
        idx = idx * 10 + static_cast<uint64_t>(ch - '0');
      }
      WantChain& c = out_.chains.back();
      if (digits && (c.keeps == 0 || static_cast<int64_t>(idx) > last_keep_)) {
        last_keep_ = static_cast<int64_t>(idx);
        c.keeps++;
        c.items.push_back(WantItem{static_cast<int64_t>(idx), 0, lineno_});
        return;
      }
    }
    // `rule …` without escapes: finish the previous rule as the general path would, then try
    // the rule line without splitting it into strings; if anything about it is unusual, the
    // general path below parses it again and reports what is wrong.
    if (text.size() >= 4 && memcmp(text.data(), "rule", 4) == 0 && (text.size() == 4 || text[4] == '\t') &&
        !out_.name.empty() && !memchr(text.data(), '%', text.size())) {
      if (!finish_rule()) return;
      if (fast_rule(text)) return;
    }
    std::string err;
    wl_ = shape_for(text);
    if (!wire_parse_line(text, *wl_, err)) {
      fail(lineno, (wl_->kind.empty() ? std::string() : wl_->kind + " record: ") + err, chain_name());
      return;
    }
    std::string_view k = wl_->kind;
    if (out_.name.empty() && k != "table") {
      fail(lineno, "the first record must be 'table', got '" + wl_->kind + "'");
      return;
    }
    if (k == "table") {
      table_record();
    } else if (k == "chain") {
      if (finish_rule()) chain_record();
    } else if (k == "keep") {
      if (finish_rule()) keep_record();
    } else if (k == "rule") {
      if (finish_rule()) rule_record();
    } else if (k == "match") {
      match_record();
    } else if (k == "target" || k == "verdict" || k == "jump") {
      target_record();
    } else {
      bad("unknown record kind");
    }
  }

  void table_record() {
    if (!out_.name.empty()) return void(bad("a second table record"));
    if (wl_->words.size() != 1 || wl_->words[0].empty()) return void(bad("needs exactly one table name"));
    if (!only_keys({"family", "append"})) return;
    if (const std::string* a = wl_->fields.find("append")) {
      if (*a != "1" && *a != "0") return void(bad("append=" + *a + " is not 1 or 0"));
      out_.append = *a == "1";
    }
    const std::string* fam = wl_->fields.find("family");
    if (!fam || *fam != T::kFamilyName) {
      return void(bad("family=" + (fam ? *fam : std::string("(none)")) + " in an " + T::kFamilyName + " commit"));
    }
    if (wl_->words[0].size() >= XT_TABLE_MAXNAMELEN) return void(bad("table name too long"));
    out_.name = wl_->words[0];
  }

  void chain_record() {
    if (wl_->words.size() != 1 || wl_->words[0].empty()) return void(bad("needs exactly one chain name"));
    const std::string& name = wl_->words[0];
    if (name.size() > kMaxChainName) {
      return void(bad("chain name " + name + " is longer than " + std::to_string(kMaxChainName) + " bytes"));
    }
    if (!names_.insert(name).second) return void(bad("chain " + name + " is listed twice"));
    if (!only_keys({"policy", "pkts", "bytes", "was", "refs"})) return;
    WantChain c;
    c.name = name;
    c.line = lineno_;
    out_.chains.push_back(std::move(c));
    WantChain& chain = out_.chains.back();
    if (out_.append) {
      for (const char* key : {"policy", "pkts", "bytes", "was"}) {
        if (wl_->fields.find(key)) return void(bad(std::string(key) + "= in an append=1 table (it only appends rules)"));
      }
    }
    if (const std::string* p = wl_->fields.find("policy")) {
      if (*p != "ACCEPT" && *p != "DROP") return void(bad("policy=" + *p + " is not ACCEPT or DROP"));
      chain.policy = *p;
    }
    bool has_pkts = wl_->fields.find("pkts") != nullptr, has_bytes = wl_->fields.find("bytes") != nullptr;
    if (has_pkts != has_bytes) return void(bad("pkts= and bytes= go together"));
    if (has_pkts) {
      if (chain.policy.empty()) return void(bad("pkts=/bytes= need policy="));
      uint64_t p = 0, b = 0;
      if (!u64("pkts", UINT64_MAX, p) || !u64("bytes", UINT64_MAX, b)) return;
      chain.has_counters = true;
      chain.counters.pcnt = p;
      chain.counters.bcnt = b;
    }
    if (wl_->fields.find("was")) {
      chain.has_was = true;
      if (!u64("was", UINT32_MAX, chain.was)) return;
    }
  }

  bool need_chain() {
    if (out_.chains.empty()) return bad("comes before any chain record");
    return true;
  }

  void keep_record() {
    if (out_.append) return void(bad("keep in an append=1 table (its chains keep all their rules)"));
    if (!need_chain()) return;
    if (!only_keys({})) return;
    if (wl_->words.size() != 1) return void(bad("needs exactly one index"));
    std::string err;
    uint64_t idx = 0;
    if (!wire_get_u64("index", wl_->words[0], UINT32_MAX, idx, err)) return void(bad(err));
    WantChain& c = out_.chains.back();
    if (c.keeps > 0 && static_cast<int64_t>(idx) <= last_keep_) {
      return void(bad("keep " + std::to_string(idx) + " after keep " + std::to_string(last_keep_) +
                      ": kept indices must be strictly increasing"));
    }
    if (c.keeps == 0) last_keep_ = -1;
    last_keep_ = static_cast<int64_t>(idx);
    c.keeps++;
    c.items.push_back(WantItem{static_cast<int64_t>(idx), 0, lineno_});
  }

  // Plain decimal only (the general path takes the other forms get_u64 accepts).
  static bool plain_u64(std::string_view v, uint64_t max, uint64_t& out) {
    if (v.empty() || v.size() > 19) return false;
    uint64_t n = 0;
    for (char c : v) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (n > max) return false;
    out = n;
    return true;
  }

  // rule_record for a line of known keys, each at most once, no words, no escapes, plain
  // numbers; false (and nothing changed) otherwise.
  bool fast_rule(std::string_view text) {
    if (out_.chains.empty()) return false;
    enum { kPkts, kBytes, kSrc, kDst, kIn, kOut, kProto, kInv, kFrag, kGoto, kKeys };
    std::string_view val[kKeys];
    bool seen[kKeys] = {};
    size_t pos = 5;
    while (pos <= text.size() && text.size() > 4) {
      const char* t = static_cast<const char*>(memchr(text.data() + pos, '\t', text.size() - pos));
      size_t tab = t ? static_cast<size_t>(t - text.data()) : text.size();
      std::string_view field = text.substr(pos, tab - pos);
      size_t eq = field.find('=');
      if (eq == std::string_view::npos) return false;
      std::string_view key = field.substr(0, eq);
      int k;
      if (key == "pkts") k = kPkts;
      else if (key == "bytes") k = kBytes;
      else if (key == "src") k = kSrc;
      else if (key == "dst") k = kDst;
      else if (key == "in") k = kIn;
      else if (key == "out") k = kOut;
      else if (key == "proto") k = kProto;
      else if (key == "inv") k = kInv;
      else if (key == "frag" && T::kFragFlag != 0) k = kFrag;
      else if (key == "goto") k = kGoto;
      else return false;
      if (seen[k]) return false;
      seen[k] = true;
      val[k] = field.substr(eq + 1);
      pos = tab + 1;
    }
    if (seen[kPkts] != seen[kBytes]) return false;
    uint64_t num[kKeys] = {};
    const uint64_t max[kKeys] = {UINT64_MAX, UINT64_MAX, 0, 0, 0, 0, 255, kInvMask, 1, 1};
    for (int k : {kPkts, kBytes, kProto, kInv, kFrag, kGoto}) {
      if (seen[k] && !plain_u64(val[k], max[k], num[k])) return false;
    }
    alignas(typename T::Entry) unsigned char storage[sizeof(typename T::Entry)] = {};
    auto& e = *reinterpret_cast<typename T::Entry*>(storage);
    auto& ip = T::ip(e);
    std::string err;
    if (seen[kSrc] && !parse_addr("src", val[kSrc], T::family, &ip.src, &ip.smsk, err)) return false;
    if (seen[kDst] && !parse_addr("dst", val[kDst], T::family, &ip.dst, &ip.dmsk, err)) return false;
    if (seen[kIn] && !parse_iface("in", val[kIn], ip.iniface, ip.iniface_mask, err)) return false;
    if (seen[kOut] && !parse_iface("out", val[kOut], ip.outiface, ip.outiface_mask, err)) return false;
    ip.proto = static_cast<uint16_t>(num[kProto]);
    ip.invflags = static_cast<uint8_t>(num[kInv]);
    if (num[kFrag]) ip.flags |= T::kFragFlag;
    if (num[kGoto]) ip.flags |= T::kGotoFlag;
    if (num[kProto] != 0) ip.flags |= T::kProtoFlag;  // ip6tables sets IP6T_F_PROTO with -p
    e.counters.pcnt = num[kPkts];
    e.counters.bcnt = num[kBytes];
    memcpy(entry_storage_, storage, sizeof storage);
    in_rule_ = true;
    has_target_ = false;
    goto_ = num[kGoto] != 0;
    rule_line_ = lineno_;
    matches_.clear();
    target_.clear();
    return true;
  }

  void rule_record() {
    if (!need_chain()) return;
    if (!wl_->words.empty()) return void(bad("takes no positional words"));
    if (T::kFragFlag != 0) {
      if (!only_keys({"pkts", "bytes", "src", "dst", "in", "out", "proto", "inv", "frag", "goto"})) return;
    } else if (!only_keys({"pkts", "bytes", "src", "dst", "in", "out", "proto", "inv", "goto"})) {
      return;
    }
    memset(entry_storage_, 0, sizeof entry_storage_);
    auto& entry_ = entry();
    auto& ip = T::ip(entry_);
    std::string err;
    const Fields& f = wl_->fields;
    bool has_pkts = f.find("pkts") != nullptr, has_bytes = f.find("bytes") != nullptr;
    if (has_pkts != has_bytes) return void(bad("pkts= and bytes= go together"));
    uint64_t pkts = 0, bytes = 0, proto = 0, inv = 0, frag = 0, go = 0;
    if (!u64("pkts", UINT64_MAX, pkts) || !u64("bytes", UINT64_MAX, bytes) || !u64("proto", 255, proto) ||
        !u64("inv", kInvMask, inv) || !u64("frag", 1, frag) || !u64("goto", 1, go)) {
      return;
    }
    if (const std::string* v = f.find("src")) {
      if (!parse_addr("src", *v, T::family, &ip.src, &ip.smsk, err)) return void(bad(err));
    }
    if (const std::string* v = f.find("dst")) {
      if (!parse_addr("dst", *v, T::family, &ip.dst, &ip.dmsk, err)) return void(bad(err));
    }
    if (const std::string* v = f.find("in")) {
      if (!parse_iface("in", *v, ip.iniface, ip.iniface_mask, err)) return void(bad(err));
    }
    if (const std::string* v = f.find("out")) {
      if (!parse_iface("out", *v, ip.outiface, ip.outiface_mask, err)) return void(bad(err));
    }
    ip.proto = static_cast<uint16_t>(proto);
    ip.invflags = static_cast<uint8_t>(inv);
    if (frag) ip.flags |= T::kFragFlag;
    if (go) ip.flags |= T::kGotoFlag;
    if (proto != 0) ip.flags |= T::kProtoFlag;  // ip6tables sets IP6T_F_PROTO with -p
    entry_.counters.pcnt = pkts;
    entry_.counters.bcnt = bytes;
    in_rule_ = true;
    has_target_ = false;
    goto_ = go != 0;
    rule_line_ = lineno_;
    matches_.clear();
    target_.clear();
  }

  // Appends an xt_entry_match / xt_entry_target (same header layout) for `name rev fields…`.
  bool extension(bool is_target, std::string& buf) {
    const char* kind = is_target ? "target" : "match";
    if (wl_->words.size() != 2) return bad("needs a name and a revision");
    const std::string& name = wl_->words[0];
    if (name.empty() || name.size() >= XT_EXTENSION_MAXNAMELEN) return bad("bad " + std::string(kind) + " name '" + name + "'");
    uint64_t revision = 0;
    std::string err;
    if (!wire_get_u64("revision", wl_->words[1], 255, revision, err)) return bad(err);
    size_t start = buf.size();
    size_t header = is_target ? kTargetHeader : kMatchHeader;
    if (const std::string* raw = wl_->fields.find("raw")) {
      if (wl_->fields.all().size() != 1) return bad("raw= must be the only field");
      if (raw->size() % 2 != 0) return bad("raw= has an odd number of hex digits");
      size_t len = raw->size() / 2;
      buf.resize(start + header + XT_ALIGN(len), '\0');
      if (!get_hex_bytes(wl_->fields, "raw", &buf[start + header], len, err)) return bad(err);
    } else {
      const Codec* codec = codecs_.find(name, static_cast<uint8_t>(revision), is_target, T::family);
      if (!codec) {
        return bad("no codec for " + std::string(kind) + " " + name + " revision " + std::to_string(revision) +
                   " (" + T::kFamilyName + "); only raw= can carry it");
      }
      buf.resize(start + header + codec->size, '\0');
      if (!codec->encode(wl_->fields, T::family, &buf[start + header], err)) {
        return bad(std::string(kind) + " " + name + ": " + err);
      }
    }
    size_t total = buf.size() - start;
    if (total > UINT16_MAX) return bad(std::string(kind) + " " + name + " is too large");
    xt_entry_match h;  // xt_entry_target has the same user header
    static_assert(sizeof(xt_entry_match) == sizeof(xt_entry_target), "match and target headers differ");
    memset(&h, 0, sizeof h);
    h.u.user.match_size = static_cast<uint16_t>(total);
    memcpy(h.u.user.name, name.data(), name.size());
    h.u.user.revision = static_cast<uint8_t>(revision);
    memcpy(&buf[start], &h, sizeof h);
    return true;
  }

  void standard_target(const std::string& name) {
    target_.assign(kStandardTargetSize, '\0');
    xt_entry_target h;
    memset(&h, 0, sizeof h);
    h.u.user.target_size = static_cast<uint16_t>(kStandardTargetSize);
    memcpy(h.u.user.name, name.data(), name.size());
    memcpy(&target_[0], &h, sizeof h);
  }

  void match_record() {
    if (!in_rule_) return void(bad("does not follow a rule record"));
    if (has_target_) return void(bad("comes after the rule's target"));
    extension(false, matches_);
  }

  void target_record() {
    if (!in_rule_) return void(bad("does not follow a rule record"));
    if (has_target_) return void(bad("a second target for one rule"));
    has_target_ = true;
    const std::string& k = wl_->kind;
    if (k == "target") {
      if (goto_) return void(bad("goto=1 needs a jump record"));
      if (!extension(true, target_)) return;
      checks_.push_back({wl_->words[0], lineno_, false, chain_name()});
      return;
    }
    if (!wl_->fields.all().empty()) return void(bad("takes no key=value fields"));
    if (wl_->words.size() != 1 || wl_->words[0].empty()) return void(bad("needs exactly one name"));
    const std::string& name = wl_->words[0];
    if (k == "verdict") {
      if (name != "ACCEPT" && name != "DROP" && name != "RETURN" && name != "QUEUE") {
        return void(bad("'" + name + "' is not ACCEPT, DROP, RETURN or QUEUE"));
      }
      if (goto_) return void(bad("goto=1 needs a jump record"));
    } else {
      if (name.size() > kMaxChainName) return void(bad("chain name " + name + " is too long"));
      checks_.push_back({name, lineno_, true, chain_name()});
    }
    standard_target(name);
  }

  bool finish_rule() {
    if (error_) return false;
    if (!in_rule_) return true;
    in_rule_ = false;
    if (!has_target_) {
      if (goto_) {
        fail(rule_line_, "rule record: goto=1 without a jump", chain_name());
        return false;
      }
      standard_target("");  // no -j: falls through
    }
    using Entry = typename T::Entry;
    auto& entry_ = entry();
    size_t target_offset = sizeof(Entry) + matches_.size();
    size_t next_offset = target_offset + target_.size();
    if (next_offset > UINT16_MAX) {
      fail(rule_line_, "rule record: the rule is too large", chain_name());
      return false;
    }
    entry_.target_offset = static_cast<uint16_t>(target_offset);
    entry_.next_offset = static_cast<uint16_t>(next_offset);
    size_t off = out_.arena.size();
    out_.arena.append(reinterpret_cast<const char*>(&entry_), sizeof(Entry));
    out_.arena += matches_;
    out_.arena += target_;
    out_.chains.back().items.push_back(WantItem{-1, off, rule_line_});
    return true;
  }

  // Jumps must name a chain of this table; an extension target must not (libiptc would
  // take it for a jump).
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
        return fail(c.line, "jump record: chain " + c.name + " is not in the table", c.from);
      }
      if (c.jump) out_.jumps.push_back(WantJump{c.from, c.name, c.line});
      if (!c.jump && chain) {
        return fail(c.line, "target record: " + c.name + " is also a chain name of the table", c.from);
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

  static constexpr uint64_t kInvMask = 0x7f;  // IPT_INV_MASK == IP6T_INV_MASK

  size_t index_;
  WantTable& out_;
  OpError error_;
  // One WireLine per record shape ("match\ttcp", "target\tDNAT", …): consecutive rules
  // repeat the same shapes, and wire_parse_line reuses a line's strings when the keys repeat.
  std::vector<std::pair<std::string, std::unique_ptr<WireLine>>> shapes_;
  WireLine* wl_ = nullptr;
  WireLine* shape_for(std::string_view text) {
    size_t tab = text.find('\t');
    if (tab != std::string_view::npos) tab = text.find('\t', tab + 1);
    std::string_view head = text.substr(0, tab);
    for (auto& s : shapes_) {
      if (s.first == head) return s.second.get();
    }
    if (shapes_.size() >= 64) return shapes_[0].second.get();
    shapes_.emplace_back(std::string(head), std::make_unique<WireLine>());
    return shapes_.back().second.get();
  }
  int lineno_ = 0;
  int64_t last_keep_ = -1;
  std::unordered_set<std::string> names_;
  std::vector<TargetCheck> checks_;
  CodecCache codecs_;
  // The rule being built.
  bool in_rule_ = false, has_target_ = false, goto_ = false;
  int rule_line_ = 0;
  // The entry header as raw storage: ipt_entry ends in a flexible array, so it cannot be a member.
  alignas(typename T::Entry) unsigned char entry_storage_[sizeof(typename T::Entry)] = {};
  typename T::Entry& entry() { return *reinterpret_cast<typename T::Entry*>(entry_storage_); }
  std::string matches_, target_;
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
  std::vector<WantTable> want(n);
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < n; i++) {
    CommitParser<T> parser(i, want[i]);
    if (OpError err = parser.parse(wires[i])) return err;
    if (!seen.insert(want[i].name).second) {
      return make_error(EINVAL, "commit", "commit lists " + what_table<T>(want[i].name) + " twice", want[i].name);
    }
  }

  std::vector<Handle<T>> handles(n);
  std::vector<WantTable> before(n);
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
