// A rule between its x_tables entry (ipt_entry / ip6t_entry with its matches and target) and
// the native dialect's Rule, both ways, written once over the traits type of table.h. The read
// side reuses one Rule and its buffers for every entry of a table; the commit side appends the
// entry to an arena, its standard target named (replace.h turns the name into a verdict).
#pragma once

#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../common/scratch.h"
#include "../dialect/extension.h"
#include "../dialect/rule.h"

namespace iptkit::legacy {

constexpr size_t kMatchHeader = XT_ALIGN(sizeof(struct xt_entry_match));
constexpr size_t kTargetHeader = XT_ALIGN(sizeof(struct xt_entry_target));
constexpr size_t kStandardTargetSize = XT_ALIGN(sizeof(struct xt_standard_target));
// A jump writes the chain name into the target's u.user.name, so chain names are bounded by
// it (iptables says the same: "chain name must be shorter than 29 characters").
constexpr size_t kMaxChainName = XT_EXTENSION_MAXNAMELEN - 1;

static_assert(sizeof(xt_entry_match) == sizeof(xt_entry_target), "match and target headers differ");

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

// dialect::find_for_kernel walks the whole registry; a table has a handful of distinct
// extensions, so the read remembers what it found for each (name, revision, size). A kernel
// name some module accepts by looking at the data (state and conntrack share "conntrack") is
// looked up every time.
class ExtensionCache {
 public:
  explicit ExtensionCache(Family family) : family_(family) {}

  const dialect::Extension* find(std::string_view name, uint8_t revision, bool is_target, const void* data,
                                 size_t len) {
    for (size_t i = 0; i < n_; i++) {
      const Slot& s = slots_[i];
      if (s.revision == revision && s.is_target == is_target && s.data_len == len && s.len == name.size() &&
          memcmp(s.name, name.data(), name.size()) == 0) {
        return s.by_data ? dialect::find_for_kernel(name, revision, is_target, family_, data, len) : s.ext;
      }
    }
    const dialect::Extension* ext = dialect::find_for_kernel(name, revision, is_target, family_, data, len);
    if (name.size() <= sizeof slots_[0].name) {
      Slot& s = slots_[n_ < kSlots ? n_++ : (next_++ % kSlots)];
      memcpy(s.name, name.data(), name.size());
      s.len = name.size();
      s.revision = revision;
      s.is_target = is_target;
      s.data_len = len;
      s.ext = ext;
      s.by_data = false;
      for (const dialect::Extension* e : dialect::all_extensions()) {
        if (e->accepts && e->is_target == is_target && name == e->kernel_name) s.by_data = true;
      }
    }
    return ext;
  }

 private:
  struct Slot {
    char name[XT_EXTENSION_MAXNAMELEN];
    size_t len;
    uint8_t revision;
    bool is_target;
    bool by_data;
    size_t data_len;
    const dialect::Extension* ext;
  };
  static constexpr size_t kSlots = 16;
  Family family_;
  Slot slots_[kSlots];
  size_t n_ = 0, next_ = 0;
};

// Turns entries into one dialect::Rule, reused: its match instances, names and data buffers
// keep their capacity from rule to rule, so a table of similar rules reads without allocating.
template <class T>
class EntryReader {
 public:
  EntryReader() : cache_(T::family) {}

  const dialect::Rule& rule() const { return rule_; }

  // False with `why` when the entry is malformed (sizes that do not add up, a standard
  // verdict iptables has no name for). `jump(e)` names where a standard target with a
  // verdict of 0 or more goes: a chain, "" (the next rule), or nullptr (nowhere iptables
  // writes).
  template <class Jump>
  bool read(const typename T::Entry& e, Jump&& jump, std::string& why) {
    const auto& ip = T::ip(e);
    dialect::IpPart& p = rule_.ip;
    p = dialect::IpPart{};
    memcpy(p.src, &ip.src, T::kAddrLen);
    memcpy(p.smsk, &ip.smsk, T::kAddrLen);
    memcpy(p.dst, &ip.dst, T::kAddrLen);
    memcpy(p.dmsk, &ip.dmsk, T::kAddrLen);
    static_assert(sizeof p.iniface == sizeof ip.iniface && sizeof p.iniface_mask == sizeof ip.iniface_mask,
                  "interface fields");
    memcpy(p.iniface, ip.iniface, sizeof p.iniface);
    memcpy(p.outiface, ip.outiface, sizeof p.outiface);
    memcpy(p.iniface_mask, ip.iniface_mask, sizeof p.iniface_mask);
    memcpy(p.outiface_mask, ip.outiface_mask, sizeof p.outiface_mask);
    p.proto = ip.proto;
    p.invflags = ip.invflags;
    // An all-zero interface mask is `-i +` (every interface: printed as nothing, as
    // iptables-legacy-save does) or, with its `!`, no interface at all: iptables-legacy-save
    // drops that `!` too, turning a rule that matches nothing into one that matches
    // everything; iptkit's text keeps `! -i +`, as iptables-nft-save prints it.
    p.frag = T::kFragFlag != 0 && (ip.flags & T::kFragFlag);
    rule_.packets = e.counters.pcnt;
    rule_.bytes = e.counters.bcnt;
    rule_.has_counters = true;

    const auto* base = reinterpret_cast<const unsigned char*>(&e);
    size_t n = 0;
    size_t off = sizeof(typename T::Entry);
    while (off < e.target_offset) {
      xt_entry_match m;
      if (off + sizeof m > e.target_offset) return bad(why, "a match header runs into the target");
      memcpy(&m, base + off, sizeof m);
      size_t size = m.u.match_size;
      if (size < sizeof m || off + size > e.target_offset) return bad(why, "a match has size " + std::to_string(size));
      fill(match(n++), false, m.u.user.name, m.u.user.revision, base + off + sizeof m, size - sizeof m);
      off += size;
    }
    while (rule_.matches.size() > n) {
      spare_.push_back(std::move(rule_.matches.back()));
      rule_.matches.pop_back();
    }

    xt_entry_target t;
    if (e.target_offset + sizeof t > e.next_offset) return bad(why, "no room for the target");
    memcpy(&t, base + e.target_offset, sizeof t);
    if (t.u.target_size < sizeof t || e.target_offset + t.u.target_size > e.next_offset) {
      return bad(why, "the target has size " + std::to_string(t.u.target_size));
    }
    const bool go = ip.flags & T::kGotoFlag;
    if (t.u.user.name[0] != '\0') {
      rule_.target_kind = dialect::TargetKind::kExtension;
      fill(rule_.target, true, t.u.user.name, t.u.user.revision, base + e.target_offset + sizeof t,
           t.u.target_size - sizeof t);
      return true;
    }
    // The standard target: a negative verdict is ACCEPT/DROP/QUEUE/RETURN; otherwise an
    // offset: a chain's start (jump) or the next rule (fall through, name "").
    // iptables-legacy-save prints -g for either when the goto flag is set.
    if (t.u.target_size < kStandardTargetSize) {
      return bad(why, "a standard target of size " + std::to_string(t.u.target_size));
    }
    int verdict;
    memcpy(&verdict, base + e.target_offset + sizeof t, sizeof verdict);
    if (verdict < 0) {
      const char* v = verdict_name(verdict);
      if (!v) return bad(why, "standard verdict " + std::to_string(verdict) + " has no iptables name");
      rule_.target_kind = go ? dialect::TargetKind::kGoto : dialect::TargetKind::kVerdict;
      rule_.target_name.assign(v);
      return true;
    }
    const char* to = jump(e);
    if (!to) return bad(why, "standard verdict " + std::to_string(verdict) + " goes to no chain's start");
    if (*to) {
      rule_.target_kind = go ? dialect::TargetKind::kGoto : dialect::TargetKind::kJump;
      rule_.target_name.assign(to);
    } else {
      rule_.target_kind = dialect::TargetKind::kNone;
    }
    return true;
  }

 private:
  static bool bad(std::string& why, std::string what) {
    why = std::move(what);
    return false;
  }

  dialect::XtInstance& match(size_t i) {
    if (i < rule_.matches.size()) return rule_.matches[i];
    if (!spare_.empty()) {
      rule_.matches.push_back(std::move(spare_.back()));
      spare_.pop_back();
    } else {
      rule_.matches.emplace_back();
    }
    return rule_.matches.back();
  }

  void fill(dialect::XtInstance& x, bool is_target, const char* name_field, uint8_t revision, const unsigned char* data,
            size_t len) {
    std::string_view name = ext_name(name_field);
    // No module, or a size the module does not know (another layout of the struct): the
    // printer shows it as the opaque marker, which the commit reads back byte for byte.
    x.ext = cache_.find(name, revision, is_target, data, len);
    x.name.assign(name.data(), name.size());
    x.revision = revision;
    x.data.assign(data, data + len);
  }

  dialect::Rule rule_;
  std::vector<dialect::XtInstance> spare_;  // match instances not used by the current rule
  ExtensionCache cache_;
};

// Appends the entry for `rule` (with these counters) to `arena`: the ip part, each match, then
// the target. A standard target carries a name in its header, as libiptc's API takes it:
// ACCEPT/DROP/QUEUE/RETURN, a chain (jump; with the goto flag, goto), or "" (fall through);
// lay_out (replace.h) makes it the verdict.
// False with `why` when the rule does not fit an entry.
template <class T>
bool append_entry(const dialect::Rule& rule, uint64_t packets, uint64_t bytes, ScratchString& arena, std::string& why) {
  using Entry = typename T::Entry;
  size_t size = sizeof(Entry);
  for (const dialect::XtInstance& m : rule.matches) size += kMatchHeader + XT_ALIGN(m.data.size());
  const size_t target_offset = size;
  const bool standard = rule.target_kind != dialect::TargetKind::kExtension;
  size += standard ? kStandardTargetSize : kTargetHeader + XT_ALIGN(rule.target.data.size());
  if (size > UINT16_MAX) {
    why = "the rule takes " + std::to_string(size) + " bytes; an entry holds at most " + std::to_string(UINT16_MAX);
    return false;
  }
  std::string_view target_name;
  if (standard) {
    if (rule.target_kind != dialect::TargetKind::kNone) target_name = rule.target_name;
    if (target_name.size() > kMaxChainName) {
      why = "chain name " + std::string(target_name) + " is longer than " + std::to_string(kMaxChainName) + " bytes";
      return false;
    }
  }

  const size_t at = arena.size();
  arena.resize(at + size, '\0');
  char* p = &arena[at];

  alignas(Entry) unsigned char storage[sizeof(Entry)] = {};
  auto& e = *reinterpret_cast<Entry*>(storage);
  auto& ip = T::ip(e);
  const dialect::IpPart& rp = rule.ip;
  memcpy(&ip.src, rp.src, T::kAddrLen);
  memcpy(&ip.smsk, rp.smsk, T::kAddrLen);
  memcpy(&ip.dst, rp.dst, T::kAddrLen);
  memcpy(&ip.dmsk, rp.dmsk, T::kAddrLen);
  memcpy(ip.iniface, rp.iniface, sizeof ip.iniface);
  memcpy(ip.outiface, rp.outiface, sizeof ip.outiface);
  memcpy(ip.iniface_mask, rp.iniface_mask, sizeof ip.iniface_mask);
  memcpy(ip.outiface_mask, rp.outiface_mask, sizeof ip.outiface_mask);
  ip.proto = rp.proto;
  ip.invflags = rp.invflags;
  if (rp.frag) ip.flags |= T::kFragFlag;
  if (rule.target_kind == dialect::TargetKind::kGoto) ip.flags |= T::kGotoFlag;
  if (rp.proto != 0) ip.flags |= T::kProtoFlag;  // ip6tables sets IP6T_F_PROTO with -p
  e.target_offset = static_cast<uint16_t>(target_offset);
  e.next_offset = static_cast<uint16_t>(size);
  e.counters.pcnt = packets;
  e.counters.bcnt = bytes;
  memcpy(p, storage, sizeof storage);

  // The match and target headers share their layout: size, name, revision.
  auto header = [&](size_t off, size_t total, std::string_view name, uint8_t revision) {
    xt_entry_match h;
    memset(&h, 0, sizeof h);
    h.u.user.match_size = static_cast<uint16_t>(total);
    if (!name.empty()) memcpy(h.u.user.name, name.data(), std::min(name.size(), sizeof h.u.user.name - 1));
    h.u.user.revision = revision;
    memcpy(p + off, &h, sizeof h);
  };
  auto extension = [&](size_t off, size_t header_size, const dialect::XtInstance& x) -> bool {
    if (x.name.empty() || x.name.size() >= XT_EXTENSION_MAXNAMELEN) {
      why = "extension name '" + x.name + "' is not 1 to " + std::to_string(XT_EXTENSION_MAXNAMELEN - 1) + " bytes";
      return false;
    }
    size_t total = header_size + XT_ALIGN(x.data.size());
    header(off, total, x.name, x.revision);
    if (!x.data.empty()) memcpy(p + off + header_size, x.data.data(), x.data.size());
    return true;
  };
  size_t off = sizeof(Entry);
  bool ok = true;
  for (const dialect::XtInstance& m : rule.matches) {
    if (!(ok = extension(off, kMatchHeader, m))) break;
    off += kMatchHeader + XT_ALIGN(m.data.size());
  }
  if (ok) {
    if (standard) header(target_offset, kStandardTargetSize, target_name, 0);
    else ok = extension(target_offset, kTargetHeader, rule.target);
  }
  if (!ok) arena.resize(at);
  return ok;
}

}  // namespace iptkit::legacy
