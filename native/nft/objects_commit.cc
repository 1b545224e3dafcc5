// A description of a table of native objects made real in one batch. The plan is made against
// a read taken at a generation the batch carries (NFTA_GEN_ID): another writer in between makes
// the kernel refuse it with ERESTART, and it is read and planned again. As Docker updates its
// own table, a chain whose rules change is flushed and written again; a chain whose rules stay
// is not touched (its counters survive); a map's elements change one by one.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "handles.h"
#include "objects.h"
#include "objects_expr.h"
#include "socket.h"

namespace iptkit {
namespace nft {

namespace {

constexpr int kCommitAttempts = 20;
// Upper bounds of a message's size: names are below NFT_NAME_MAXLEN (256), a comment below 256,
// an expression's attributes (at most two 16-byte values) well below kExprBound.
constexpr size_t kObjBound = 2048;
constexpr size_t kExprBound = 256;
constexpr size_t kElemBound = 512;

// The batch: one buffer of messages, each remembered by what it does for the error that names it.
class ObjBatch {
 public:
  ObjBatch(uint16_t family, uint32_t seq0) : family_(family), next_(seq0), first_(seq0) {}
  // Room for a message of at most `bound` bytes, zeroed (libmnl leaves attribute padding as it
  // finds it); done() gives back what it did not use.
  // The table the next messages are for: their family, and the name their errors give.
  void set_table(uint16_t family, std::string table, std::string where) {
    family_ = family;
    table_ = std::move(table);
    where_ = std::move(where);
  }
  nlmsghdr* hdr(uint16_t type, uint16_t flags, size_t bound, std::string what) {
    size_t at = buf_.size();
    buf_.resize(at + bound);
    what_.push_back("table " + where_ + ": " + what);
    table_of_.push_back(table_);
    return nftnl_nlmsg_build_hdr(buf_.data() + at, type, family_, flags, next_++);
  }
  void begin(uint32_t generation) {
    size_t at = buf_.size();
    buf_.resize(at + 256);
    nlmsghdr* nlh = nftnl_batch_begin(buf_.data() + at, next_++);
    mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(generation));
    what_.push_back("batch");
    table_of_.push_back("");
    done(nlh);
  }
  void end() {
    size_t at = buf_.size();
    buf_.resize(at + 256);
    nlmsghdr* nlh = nftnl_batch_end(buf_.data() + at, next_++);
    what_.push_back("batch end");
    table_of_.push_back("");
    done(nlh);
  }
  void done(nlmsghdr* nlh) {
    size_t start = reinterpret_cast<char*>(nlh) - buf_.data();
    buf_.resize(start + NLMSG_ALIGN(nlh->nlmsg_len));
  }
  const std::string* what(uint32_t seq) const {
    if (seq < first_ || seq - first_ >= what_.size()) return nullptr;
    return &what_[seq - first_];
  }
  std::string table(uint32_t seq) const {
    if (seq < first_ || seq - first_ >= table_of_.size()) return "";
    return table_of_[seq - first_];
  }
  uint32_t first_seq() const { return first_; }
  uint32_t last_seq() const { return next_ - 1; }
  const char* data() const { return buf_.data(); }
  size_t size() const { return buf_.size(); }

 private:
  uint16_t family_;
  uint32_t next_, first_;
  std::string buf_;
  std::vector<std::string> what_;
  std::vector<std::string> table_of_;
  std::string table_, where_;
};

ChainPtr chain_obj(uint16_t family, const std::string& table, const ObjChain& c, bool full) {
  ChainPtr ch(nftnl_chain_alloc());
  if (!ch) throw std::bad_alloc();
  nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_FAMILY, family);
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TABLE, table.c_str());
  nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_NAME, c.name.c_str());
  if (full && c.base) {
    nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_HOOKNUM, c.hook);
    nftnl_chain_set_s32(ch.get(), NFTNL_CHAIN_PRIO, c.priority);
    nftnl_chain_set_str(ch.get(), NFTNL_CHAIN_TYPE, c.type.c_str());
    nftnl_chain_set_u32(ch.get(), NFTNL_CHAIN_POLICY, c.policy);
  }
  return ch;
}

void add_chain(ObjBatch& b, uint16_t type, uint16_t flags, nftnl_chain* ch, std::string what) {
  nlmsghdr* nlh = b.hdr(type, flags, kObjBound, std::move(what));
  nftnl_chain_nlmsg_build_payload(nlh, ch);
  b.done(nlh);
}

SetPtr set_obj(uint16_t family, const std::string& table, const ObjSet& s) {
  SetPtr set(nftnl_set_alloc());
  if (!set) throw std::bad_alloc();
  nftnl_set_set_u32(set.get(), NFTNL_SET_FAMILY, family);
  nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(set.get(), NFTNL_SET_NAME, s.name.c_str());
  return set;
}

// Elements of `s` (all, or those in `only`) in one NEWSETELEM / DELSETELEM.
void add_elems(ObjBatch& b, uint16_t type, uint16_t family, const std::string& table, const ObjSet& s,
               const std::vector<const ObjElem*>& elems) {
  if (elems.empty()) return;
  SetPtr set = set_obj(family, table, s);
  for (const ObjElem* e : elems) {
    nftnl_set_elem* el = nftnl_set_elem_alloc();
    if (!el) throw std::bad_alloc();
    nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e->key.data(), static_cast<uint32_t>(e->key.size()));
    if (s.verdict_map && type == NFT_MSG_NEWSETELEM) {
      nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(e->verdict));
      if (!e->chain.empty()) nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, e->chain.c_str());
    }
    nftnl_set_elem_add(set.get(), el);
  }
  nlmsghdr* nlh = b.hdr(type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0, 256 + kElemBound * elems.size(),
                        std::string(type == NFT_MSG_NEWSETELEM ? "add elements to " : "delete elements of ") + s.name);
  nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
  b.done(nlh);
}

std::string elem_key(const ObjSet& s, const ObjElem& e) {
  return e.key + (s.verdict_map ? "\n" + std::to_string(e.verdict) + ":" + e.chain : "");
}

bool same_set_type(const ObjSet& a, const ObjSet& b) {
  return a.key == b.key && a.verdict_map == b.verdict_map && a.flags == b.flags;
}

bool same_hook(const ObjChain& a, const ObjChain& b) {
  return a.base == b.base && (!a.base || (a.hook == b.hook && a.priority == b.priority && a.type == b.type));
}

// The identities of a described chain's rules, as the kernel will give them back.
std::vector<std::string> wanted_keys(uint16_t family, const ObjChain& c) {
  std::vector<std::string> keys;
  for (const ObjRule& r : c.rules) {
    RulePtr nr(nftnl_rule_alloc());
    if (!nr) throw std::bad_alloc();
    nftnl_rule_set_u32(nr.get(), NFTNL_RULE_FAMILY, family);
    std::string err;
    encode_rule_body(r, nr.get(), err);  // checked when the description was taken
    ObjRule back;
    decode_rule(nr.get(), back);
    back.anon = r.anon;
    keys.push_back(rule_key(back));
  }
  return keys;
}

// One table's part of the batch, planned against the table as read (`exists` false: none yet).
OpError plan_table(ObjBatch& b, const ObjTable& want, const ObjTable& cur, bool exists, bool merge, uint32_t& set_id) {
  const uint16_t family = want.v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  const std::string& tn = want.name;

  std::map<std::string, const ObjChain*> cur_chains;
  for (const auto& c : cur.chains) cur_chains[c.name] = &c;
  std::map<std::string, const ObjSet*> cur_sets;
  for (const auto& s : cur.sets) cur_sets[s.name] = &s;
  std::set<std::string> want_chains, want_sets;
  for (const auto& c : want.chains) want_chains.insert(c.name);
  for (const auto& s : want.sets) want_sets.insert(s.name);

  // A set whose type changes is deleted and made again: every rule that may look it up goes
  // first, so every chain is written again then.
  bool retype = false;
  for (const auto& s : want.sets) {
    auto it = cur_sets.find(s.name);
    if (it != cur_sets.end() && !same_set_type(s, *it->second)) retype = true;
  }

  const std::string where = std::string(want.v6 ? "ip6" : "ip") + " " + tn;
  b.set_table(family, tn, where);
  if (!exists) {
    TablePtr t(nftnl_table_alloc());
    if (!t) throw std::bad_alloc();
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, family);
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, tn.c_str());
    nlmsghdr* nlh = b.hdr(NFT_MSG_NEWTABLE, NLM_F_CREATE, kObjBound, "create table");
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    b.done(nlh);
  }

  // What happens to each described chain: made, remade (its hook changed), rewritten, or kept.
  enum Fate { kNew, kRemade, kRewritten, kKept };
  std::vector<Fate> fate(want.chains.size());
  for (size_t i = 0; i < want.chains.size(); i++) {
    const ObjChain& c = want.chains[i];
    auto it = cur_chains.find(c.name);
    if (it == cur_chains.end()) fate[i] = kNew;
    else if (!same_hook(c, *it->second)) fate[i] = kRemade;
    else {
      std::vector<std::string> now;
      for (const auto& r : it->second->rules) now.push_back(r.foreign ? std::string("\x01") : rule_key(r));
      fate[i] = (!retype && now == wanted_keys(family, c)) ? kKept : kRewritten;
    }
  }

  // 1. New chains (in the described order: nft lists chains in the order they were made), and
  //    new policies of base chains that stay.
  for (size_t i = 0; i < want.chains.size(); i++) {
    const ObjChain& c = want.chains[i];
    if (fate[i] == kNew) {
      ChainPtr ch = chain_obj(family, tn, c, true);
      add_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, ch.get(), "create chain " + c.name);
    } else if (fate[i] != kRemade && c.base && cur_chains[c.name]->policy != c.policy) {
      ChainPtr ch = chain_obj(family, tn, c, true);
      add_chain(b, NFT_MSG_NEWCHAIN, 0, ch.get(), "set policy of chain " + c.name);
    }
  }
  // 2. Flush what is rewritten, remade or goes.
  auto flush = [&](const std::string& chain) {
    RulePtr r(nftnl_rule_alloc());
    if (!r) throw std::bad_alloc();
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, tn.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
    nlmsghdr* nlh = b.hdr(NFT_MSG_DELRULE, 0, kObjBound, "flush chain " + chain);
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    b.done(nlh);
  };
  for (size_t i = 0; i < want.chains.size(); i++) {
    if (fate[i] == kRewritten || fate[i] == kRemade) flush(want.chains[i].name);
  }
  std::vector<const ObjChain*> gone;
  if (!merge) {
    for (const auto& c : cur.chains) {
      if (!want_chains.count(c.name)) gone.push_back(&c);
    }
  }
  for (const ObjChain* c : gone) flush(c->name);

  // 3. Elements that go (before the chains they may jump to), sets that go or change type.
  for (const auto& s : want.sets) {
    auto it = cur_sets.find(s.name);
    if (it == cur_sets.end() || !same_set_type(s, *it->second)) continue;
    std::set<std::string> keep;
    for (const auto& e : s.elems) keep.insert(elem_key(s, e));
    std::vector<const ObjElem*> del;
    for (const auto& e : it->second->elems) {
      if (!keep.count(elem_key(s, e))) del.push_back(&e);
    }
    add_elems(b, NFT_MSG_DELSETELEM, family, tn, *it->second, del);
  }
  for (const auto& s : cur.sets) {
    auto w = std::find_if(want.sets.begin(), want.sets.end(), [&](const ObjSet& x) { return x.name == s.name; });
    bool drop = w == want.sets.end() ? !merge : !same_set_type(*w, s);
    if (!drop) continue;
    SetPtr set = set_obj(family, tn, s);
    nlmsghdr* nlh = b.hdr(NFT_MSG_DELSET, 0, kObjBound, "delete set " + s.name);
    nftnl_set_nlmsg_build_payload(nlh, set.get());
    b.done(nlh);
  }

  // 4. Chains that go or are remade.
  for (const ObjChain* c : gone) {
    ChainPtr ch = chain_obj(family, tn, *c, false);
    add_chain(b, NFT_MSG_DELCHAIN, 0, ch.get(), "delete chain " + c->name);
  }
  for (size_t i = 0; i < want.chains.size(); i++) {
    if (fate[i] != kRemade) continue;
    ChainPtr del = chain_obj(family, tn, want.chains[i], false);
    add_chain(b, NFT_MSG_DELCHAIN, 0, del.get(), "delete chain " + want.chains[i].name);
    ChainPtr ch = chain_obj(family, tn, want.chains[i], true);
    add_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, ch.get(), "create chain " + want.chains[i].name);
  }

  // 5. New sets with their elements; new elements of sets that stay (every chain exists now).
  for (const auto& s : want.sets) {
    auto it = cur_sets.find(s.name);
    std::vector<const ObjElem*> add;
    if (it == cur_sets.end() || !same_set_type(s, *it->second)) {
      SetPtr set = set_obj(family, tn, s);
      uint32_t flags = s.flags | (s.verdict_map ? NFT_SET_MAP : 0);
      nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS, flags);
      nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, s.key->id);
      nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, s.key->len);
      if (s.verdict_map) {
        nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
        nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_LEN, 0);
      }
      nftnl_set_set_u32(set.get(), NFTNL_SET_ID, ++set_id);
      // nft reads the key's byte order from the set's user data to print its elements.
      UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
      if (!ud) throw std::bad_alloc();
      nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, s.key->byteorder);
      if (s.verdict_map) nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_DATABYTEORDER, 0);
      nftnl_set_set_data(set.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
      nlmsghdr* nlh = b.hdr(NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, kObjBound, "create set " + s.name);
      nftnl_set_nlmsg_build_payload(nlh, set.get());
      b.done(nlh);
      for (const auto& e : s.elems) add.push_back(&e);
    } else {
      std::set<std::string> have;
      for (const auto& e : it->second->elems) have.insert(elem_key(s, e));
      for (const auto& e : s.elems) {
        if (!have.count(elem_key(s, e))) add.push_back(&e);
      }
    }
    add_elems(b, NFT_MSG_NEWSETELEM, family, tn, s, add);
  }

  // 6. The rules of new, remade and rewritten chains, in order.
  for (size_t i = 0; i < want.chains.size(); i++) {
    if (fate[i] == kKept) continue;
    const ObjChain& c = want.chains[i];
    for (size_t k = 0; k < c.rules.size(); k++) {
      // Its anonymous sets first, made in this batch as nft makes them (`__set%d`, the kernel
      // picks the number; the rule's lookup finds the set by its id in the batch).
      ObjRule with_ids;
      const ObjRule* rule = &c.rules[k];
      if (!rule->anon.empty()) {
        with_ids = *rule;
        std::vector<uint32_t> ids;
        for (const ObjSet& a : rule->anon) {
          uint32_t id = ++set_id;
          ids.push_back(id);
          ObjSet named = a;
          named.name = "__set%d";
          SetPtr set = set_obj(family, tn, named);
          nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT);
          nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, a.key->id);
          nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, a.key->len);
          nftnl_set_set_u32(set.get(), NFTNL_SET_ID, id);
          nftnl_set_set_u32(set.get(), NFTNL_SET_DESC_SIZE, static_cast<uint32_t>(a.elems.size()));
          UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
          if (!ud) throw std::bad_alloc();
          nftnl_udata_put_u32(ud.get(), NFTNL_UDATA_SET_KEYBYTEORDER, a.key->byteorder);
          nftnl_set_set_data(set.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
          nlmsghdr* nlh = b.hdr(NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, kObjBound, "chain " + c.name + " rules[" + std::to_string(k) + "] anonymous set");
          nftnl_set_nlmsg_build_payload(nlh, set.get());
          b.done(nlh);
          SetPtr elems = set_obj(family, tn, named);
          nftnl_set_set_u32(elems.get(), NFTNL_SET_ID, id);
          for (const ObjElem& e : a.elems) {
            nftnl_set_elem* el = nftnl_set_elem_alloc();
            if (!el) throw std::bad_alloc();
            nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e.key.data(), static_cast<uint32_t>(e.key.size()));
            nftnl_set_elem_add(elems.get(), el);
          }
          nlh = b.hdr(NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, 256 + kElemBound * a.elems.size(), "chain " + c.name + " rules[" + std::to_string(k) + "] anonymous set elements");
          nftnl_set_elems_nlmsg_build_payload(nlh, elems.get());
          b.done(nlh);
        }
        for (ObjExpr& x : with_ids.exprs) {
          if (x.name != "lookup") continue;
          for (size_t f = 0; f < x.fields.size(); f++) {
            ExprField& fd = x.fields[f];
            if (fd.key != "set" || !fd.is_str || fd.str.rfind("__set", 0) != 0) continue;
            uint32_t id = ids[std::stoul(fd.str.substr(5))];
            fd.str = "__set%d";
            ExprField idf;
            idf.key = "set_id";
            idf.num = id;
            x.fields.push_back(idf);
            break;
          }
        }
        rule = &with_ids;
      }
      RulePtr r(nftnl_rule_alloc());
      if (!r) throw std::bad_alloc();
      nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family);
      nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, tn.c_str());
      nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, c.name.c_str());
      std::string err;
      if (!encode_rule_body(*rule, r.get(), err)) {
        return make_error(EINVAL, "commit", "table " + where + " chain " + c.name + " rules[" + std::to_string(k) + "]." + err, tn, c.name);
      }
      nlmsghdr* nlh = b.hdr(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, kObjBound + kExprBound * rule->exprs.size(), "chain " + c.name + " rules[" + std::to_string(k) + "]");
      nftnl_rule_nlmsg_build_payload(nlh, r.get());
      b.done(nlh);
    }
  }
  return {};
}

// Every table read, planned into one batch carrying the generation of the reads (all at one
// generation: a writer between two reads makes them read again), and sent.
OpError plan_and_send(NlSocket& sock, const std::vector<ObjTable>& wants, bool merge, bool& restart) {
  restart = false;
  std::vector<ObjTable> curs(wants.size());
  std::vector<uint8_t> exists(wants.size(), 0);
  uint32_t generation = 0;
  std::string names;
  for (size_t i = 0; i < wants.size(); i++) {
    bool ex = false;
    uint32_t gen = 0;
    if (OpError e = objects_read(wants[i].v6, wants[i].name, curs[i], ex, gen)) return e;
    exists[i] = ex;
    names += std::string(names.empty() ? "" : ", ") + (wants[i].v6 ? "ip6 " : "ip ") + wants[i].name;
    if (i == 0) generation = gen;
    else if (gen != generation) {
      restart = true;
      return make_error(ERESTART, "commit", "tables " + names + ": the ruleset kept changing while they were read", wants[i].name);
    }
  }
  const std::string& tn = wants.front().name;
  ObjBatch b(wants.front().v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, sock.next_seq());
  b.begin(generation);
  uint32_t set_id = 0;
  for (size_t i = 0; i < wants.size(); i++) {
    if (OpError e = plan_table(b, wants[i], curs[i], exists[i] != 0, merge, set_id)) return e;
  }
  b.end();
  sock.used_seq(b.last_seq());

  std::vector<BatchError> errors;
  bool overflowed = false;
  if (int err = sock.send_batch({iovec{const_cast<char*>(b.data()), b.size()}}, errors, overflowed)) {
    return make_error(err, "commit", std::string("sending the batch: ") + strerror(err), tn);
  }
  if (errors.empty()) {
    if (overflowed) return make_error(ENOBUFS, "commit", "the batch failed and its errors overflowed the socket buffer", tn);
    return {};
  }
  auto first = std::min_element(errors.begin(), errors.end(), [](const BatchError& x, const BatchError& y) { return x.seq < y.seq; });
  if (first->err == ERESTART || first->seq == b.first_seq()) {
    restart = true;
    return make_error(ERESTART, "commit", (wants.size() == 1 ? "table " : "tables ") + names + ": the ruleset kept changing under the commit", tn);
  }
  const std::string* what = b.what(first->seq);
  std::string table = b.table(first->seq);
  return make_error(first->err, "commit", (what ? *what : std::string("batch")) + ": " + strerror(first->err), table.empty() ? tn : table);
}

}  // namespace

OpError objects_commit(const std::vector<ObjTable>& wants, bool merge, int& attempts) {
  try {
    NlSocket sock;
    if (int err = sock.open()) return make_error(err, "commit", std::string("cannot open a netfilter netlink socket: ") + strerror(err));
    OpError last;
    for (int attempt = 0; attempt < kCommitAttempts; attempt++) {
      bool restart = false;
      attempts = attempt + 1;
      last = plan_and_send(sock, wants, merge, restart);
      if (!restart) return last;
    }
    return last;
  } catch (const std::bad_alloc&) {
    return make_error(ENOMEM, "commit", "out of memory building the nf_tables batch");
  }
}

}  // namespace nft
}  // namespace iptkit
