// The legacy back end's side of the intent record (common/intent.h): what a multi-table commit
// writes before its first replace, and how a later operation finishes or rolls it back.
// Included by table.h after capture_table, which it reuses with lay_out and replace.
//
// Per table the record holds its name, an identity of what it held and (for every table but
// the last, see commit_tables) of what is being written, and (for every table but the last) a copy of what it held, counters included, as
// capture_table makes it (self-contained: all rules new, policies and their counters set), so
// that putting it back needs nothing from the commit. An identity is a digest of the table's
// entries without their counters (table_identity below): the same for a replacement laid out
// before the commit and for the kernel's table after it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../common/intent.h"
#include "backend.h"

namespace iptkit::legacy {

// A table's identity in the record: entries_digest (table.h) of what the kernel holds, which
// leaves counters out and is the same for entries laid out for a replace and for that table
// read back, so that the identity of what a commit is about to write is known before it does.
template <class T>
OpError table_identity(const KernelTable<T>& t, uint64_t& out) {
  if (!entries_digest<T>(t.info, t.entries(), out)) {
    return make_error(EPROTO, "intent", what_table<T>(t.name) + ": an entry has a bad length", t.name);
  }
  return {};
}

struct RecordTable {
  std::string name;
  uint64_t old_id = 0, new_id = 0;
  bool has_image = false;
  WantTable image;  // what it held (capture_table), when has_image
};

// ---- the record's body ----

namespace record {

inline void put_u64(std::string& b, uint64_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); }
inline void put_str(std::string& b, std::string_view s) {
  put_u64(b, s.size());
  b += s;
}

class Reader {
 public:
  explicit Reader(const std::string& b) : b_(b) {}
  bool u64(uint64_t& v) {
    if (b_.size() - pos_ < sizeof v) return false;
    memcpy(&v, b_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return true;
  }
  template <class String>
  bool str(String& s) {
    uint64_t n;
    if (!u64(n) || b_.size() - pos_ < n) return false;
    s.assign(b_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  const std::string& b_;
  size_t pos_ = 0;
};

}  // namespace record

template <class T>
void record_body(const intent::Netns& ns, const std::vector<RecordTable*>& tables, std::string& b) {
  size_t size = 64;
  for (const RecordTable* t : tables) size += 64 + t->image.arena.size() + t->image.chains.size() * 80;
  b.clear();
  b.reserve(size);
  record::put_str(b, T::kFamilyName);
  record::put_u64(b, ns.dev);
  record::put_u64(b, ns.ino);
  record::put_u64(b, ns.cookie);
  record::put_u64(b, tables.size());
  for (const RecordTable* t : tables) {
    record::put_str(b, t->name);
    record::put_u64(b, t->old_id);
    record::put_u64(b, t->new_id);
    record::put_u64(b, t->has_image);
    if (!t->has_image) continue;
    record::put_u64(b, t->image.chains.size());
    for (const WantChain& c : t->image.chains) {
      record::put_str(b, c.name);
      record::put_str(b, c.policy);
      record::put_u64(b, c.has_counters);
      record::put_u64(b, c.counters.pcnt);
      record::put_u64(b, c.counters.bcnt);
      record::put_u64(b, c.items.size());
    }
    record::put_str(b, t->image.arena);
  }
}

template <class T>
bool parse_record(const std::string& body, intent::Netns& ns, std::vector<RecordTable>& tables, std::string& why) {
  using Entry = typename T::Entry;
  record::Reader r(body);
  std::string family;
  uint64_t n = 0;
  if (!r.str(family) || !r.u64(ns.dev) || !r.u64(ns.ino) || !r.u64(ns.cookie) || !r.u64(n) || n > 64) {
    why = "bad header";
    return false;
  }
  if (family != T::kFamilyName) {
    why = "a record of " + family + " read as " + T::kFamilyName;
    return false;
  }
  tables.assign(n, RecordTable{});
  for (RecordTable& t : tables) {
    uint64_t has = 0, chains = 0;
    if (!r.str(t.name) || !r.u64(t.old_id) || !r.u64(t.new_id) || !r.u64(has)) {
      why = "bad table";
      return false;
    }
    t.has_image = has != 0;
    t.image.name = t.name;
    if (!t.has_image) continue;
    if (!r.u64(chains) || chains > (1u << 20)) {
      why = "bad chain count";
      return false;
    }
    std::vector<uint64_t> counts(chains);
    t.image.chains.resize(chains);
    for (size_t i = 0; i < chains; i++) {
      WantChain& c = t.image.chains[i];
      uint64_t hc = 0, pcnt = 0, bcnt = 0;
      if (!r.str(c.name) || !r.str(c.policy) || !r.u64(hc) || !r.u64(pcnt) || !r.u64(bcnt) || !r.u64(counts[i])) {
        why = "bad chain";
        return false;
      }
      c.has_counters = hc != 0;
      c.counters.pcnt = pcnt;
      c.counters.bcnt = bcnt;
    }
    if (!r.str(t.image.arena)) {
      why = "bad entries";
      return false;
    }
    // The rules lie back to back in the arena, chain after chain.
    size_t off = 0;
    const ScratchString& a = t.image.arena;
    for (size_t i = 0; i < chains; i++) {
      for (uint64_t k = 0; k < counts[i]; k++) {
        Entry e;
        if (a.size() - off < sizeof e) {
          why = "entries end early";
          return false;
        }
        memcpy(&e, a.data() + off, sizeof e);
        if (e.next_offset < sizeof e || e.next_offset > a.size() - off || e.target_offset > e.next_offset) {
          why = "bad entry size";
          return false;
        }
        t.image.chains[i].items.push_back(WantItem{-1, off, 0});
        off += e.next_offset;
      }
    }
    if (off != a.size()) {
      why = "entries left over";
      return false;
    }
  }
  if (!r.done()) {
    why = "bytes left over";
    return false;
  }
  return true;
}

// Puts `image` into the kernel as `table`, reading it again when another writer replaced it
// between the read and the replace (EAGAIN).
template <class T>
OpError put_image(const WantTable& image) {
  OpError back;
  for (int attempt = 0; attempt < kCommitAttempts; attempt++) {
    KernelTable<T> now;
    bool exists = false;
    if ((back = now.load(image.name, exists))) return back;
    if (!exists) return no_table<T>("recover", image.name);
    Replacement<T> r;
    if ((back = lay_out<T>(now, image, r))) return back;
    if (!r.changed) return {};
    back = replace<T>(image.name, r);
    if (back.err != EAGAIN) break;
  }
  return back;
}

// Finishes or rolls back the commit `body` records (backend.h, Recovery). The caller holds the
// table mutex and the xtables lock, and is in the record's namespace.
template <class T>
OpError recover_record(const std::string& path, const std::string& body, bool keep_if_left, Recovery& out) {
  intent::Netns recorded, now;
  std::vector<RecordTable> tables;
  std::string why;
  if (!parse_record<T>(body, recorded, tables, why)) {
    return make_error(EBADMSG, "recover", path + ": not a record iptkit can read (" + why + ")");
  }
  if (OpError err = intent::current_netns(now)) return err;
  if (recorded.dev != now.dev || recorded.ino != now.ino ||
      (recorded.cookie != 0 && now.cookie != 0 && recorded.cookie != now.cookie)) {
    // The namespace it was written in is gone and another has its inode number.
    out.outcome = "stale";
    return intent::remove(path);
  }
  const size_t n = tables.size();
  enum State { kOld, kNew, kOther, kMissing };
  std::vector<State> state(n);
  bool unfinished = false;
  for (size_t i = 0; i < n; i++) {
    KernelTable<T> t;
    bool exists = false;
    if (t.load(tables[i].name, exists) || !exists) {
      state[i] = kMissing;
      continue;
    }
    uint64_t id = 0;
    if (OpError err = table_identity<T>(t, id)) return err;
    // The last table (no copy) has no identity of what it gets: if it is no longer what it
    // was, the commit got to its replace, so it is new or changed since (either way: left).
    const bool has_new = tables[i].has_image;
    state[i] = id == tables[i].old_id ? kOld : !has_new || id == tables[i].new_id ? kNew : kOther;
    if (state[i] == kOld && (!has_new || tables[i].old_id != tables[i].new_id)) unfinished = true;
  }
  // Every table that could be is new: the commit is finished. Otherwise the tables that are
  // new go back to what they held; a table that is neither is another writer's and stays.
  out.outcome = unfinished ? "rolled back" : "finished";
  bool other = false;
  OpError failed;
  for (size_t i = n; i-- > 0;) {
    RecoveredTable rt;
    rt.name = tables[i].name;
    switch (state[i]) {
      case kOld:
        rt.state = "old";
        rt.action = "none";
        break;
      case kNew:
        rt.state = tables[i].has_image ? "new" : "replaced";
        rt.action = "none";
        if (!unfinished) break;
        if (!tables[i].has_image) {
          rt.action = "left: no copy of what it held";
          failed = make_error(EIO, "recover", what_table<T>(tables[i].name) + " is new and has no copy to put back", tables[i].name);
          break;
        }
        if (OpError err = put_image<T>(tables[i].image)) {
          rt.action = "left: " + err.message;
          failed = err;
        } else {
          rt.action = "rolled back";
        }
        break;
      case kOther:
        rt.state = "changed";
        rt.action = "left: changed by another writer since";
        other = true;
        break;
      case kMissing:
        rt.state = "missing";
        rt.action = "left: cannot be read";
        other = true;
        break;
    }
    out.tables.insert(out.tables.begin(), std::move(rt));
  }
  if (failed) {
    failed.message = "recovering the unfinished commit of " + path + ": " + failed.message;
    return failed;
  }
  if (other && keep_if_left) out.kept = true;  // for `iptkit recover` to report
  else if (OpError err = intent::remove(path)) return err;
  return {};
}

}  // namespace iptkit::legacy
