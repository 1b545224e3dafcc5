// A table of native objects read into the model (objects.h): its sets with their elements, its
// chains in the kernel's order with their rules. The dumps are bracketed by two generation
// reads; a writer in between makes the read start over.
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "handles.h"
#include "objects.h"
#include "objects_expr.h"
#include "dump.h"
#include "socket.h"

namespace iptkit {
namespace nft {

namespace {

constexpr int kReadAttempts = 20;

// nft's datatype numbers and lengths; byte order as nft records it in the set's user data.
const SetKeyType kKeyTypes[] = {
    {"ipv4_addr", 7, 4, 2}, {"ipv6_addr", 8, 16, 2}, {"inet_proto", 12, 1, 1}, {"inet_service", 13, 2, 2},
    {"mark", 19, 4, 1},     {"ifname", 41, 16, 1},
};

int read_once(NlSocket& sock, bool v6, const std::string& name, ObjTable& out, bool& exists) {
  const uint16_t family = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  out = ObjTable{};
  out.v6 = v6;
  out.name = name;
  exists = false;
  int err = dump_table_names(sock, family, [&](const char* n) {
    if (name == n) exists = true;
  });
  if (err || !exists) return err;

  std::vector<SetPtr> sets;
  err = sock.dump(NFT_MSG_GETSET, family,
                  [&](nlmsghdr* nlh) { mnl_attr_put_strz(nlh, NFTA_SET_TABLE, name.c_str()); },
                  [&](const nlmsghdr* nlh) -> int {
                    SetPtr s(nftnl_set_alloc());
                    if (!s) return ENOMEM;
                    if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0) return EPROTO;
                    const char* t = nftnl_set_get_str(s.get(), NFTNL_SET_TABLE);
                    if (!t || name != t) return 0;
                    sets.push_back(std::move(s));
                    return 0;
                  });
  if (err) return err;
  // Anonymous sets belong to the rule that uses them, not to the table's model.
  std::map<std::string, ObjSet> anon;
  for (auto& s : sets) {
    ObjSet os;
    os.name = nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
    uint32_t flags = nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS);
    os.verdict_map = (flags & NFT_SET_MAP) && nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_TYPE) == NFT_DATA_VERDICT;
    os.flags = flags & ~static_cast<uint32_t>(NFT_SET_MAP);
    os.key = find_set_key_type(nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE));
    err = sock.dump(NFT_MSG_GETSETELEM, family, [&](nlmsghdr* nlh) { nftnl_set_elems_nlmsg_build_payload(nlh, s.get()); },
                    [&](const nlmsghdr* nlh) -> int {
                      SetPtr es(nftnl_set_alloc());
                      if (!es) return ENOMEM;
                      if (nftnl_set_elems_nlmsg_parse(nlh, es.get()) < 0) return EPROTO;
                      auto cb = [](nftnl_set_elem* e, void* data) -> int {
                        auto* set = static_cast<ObjSet*>(data);
                        ObjElem oe;
                        uint32_t len = 0;
                        const void* k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
                        if (k) oe.key.assign(static_cast<const char*>(k), len);
                        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) {
                          oe.verdict = static_cast<int32_t>(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT));
                        }
                        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)) oe.chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
                        set->elems.push_back(std::move(oe));
                        return 0;
                      };
                      nftnl_set_elem_foreach(es.get(), cb, &os);
                      return 0;
                    });
    if (err) return err;
    // A hash set dumps its elements in hash order: by key, a read is the same read every time.
    std::sort(os.elems.begin(), os.elems.end(), [](const ObjElem& a, const ObjElem& b) { return a.key < b.key; });
    if (flags & NFT_SET_ANONYMOUS) anon[os.name] = std::move(os);
    else out.sets.push_back(std::move(os));
  }

  err = dump_chains(sock, family, [&](const nftnl_chain* c, const char* t, const char* n) -> int {
    if (name != t) return 0;
    ObjChain oc;
    oc.name = n;
    oc.base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
    if (oc.base) {
      oc.hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
      oc.priority = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
      const char* type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
      oc.type = type ? type : "";
      if (nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY)) oc.policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
    }
    out.chains.push_back(std::move(oc));
    return 0;
  });
  if (err) return err;

  for (ObjChain& oc : out.chains) {
    err = sock.dump(
        NFT_MSG_GETRULE, family,
        [&](nlmsghdr* nlh) {
          mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, name.c_str());
          mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, oc.name.c_str());
        },
        [&](const nlmsghdr* nlh) -> int {
          RulePtr r(nftnl_rule_alloc());
          if (!r) return ENOMEM;
          if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) return EPROTO;
          const char* c = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
          if (!c || oc.name != c) return 0;
          ObjRule rule;
          decode_rule(r.get(), rule);
          // A lookup of an anonymous set: the set goes with the rule, named by its index there.
          for (ObjExpr& x : rule.exprs) {
            if (x.name != "lookup") continue;
            for (ExprField& f : x.fields) {
              auto a = f.key == "set" && f.is_str ? anon.find(f.str) : anon.end();
              if (a == anon.end()) continue;
              ObjSet copy = a->second;
              copy.name = "__set" + std::to_string(rule.anon.size());
              f.str = copy.name;
              rule.anon.push_back(std::move(copy));
            }
          }
          oc.rules.push_back(std::move(rule));
          return 0;
        });
    if (err) return err;
  }
  return 0;
}

}  // namespace

const SetKeyType* find_set_key_type(const std::string& name) {
  for (const auto& k : kKeyTypes) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

const SetKeyType* find_set_key_type(uint32_t id) {
  for (const auto& k : kKeyTypes) {
    if (id == k.id) return &k;
  }
  return nullptr;
}

OpError objects_read(bool v6, const std::string& name, ObjTable& out, bool& exists, uint32_t& generation) {
  NlSocket sock;
  if (int err = sock.open()) return make_error(err, "read", std::string("cannot open a netfilter netlink socket: ") + strerror(err));
  for (int attempt = 0; attempt < kReadAttempts; attempt++) {
    uint32_t before = 0, after = 0;
    if (int err = sock.get_gen(before)) return make_error(err, "read", std::string("NFT_MSG_GETGEN: ") + strerror(err));
    int err = read_once(sock, v6, name, out, exists);
    if (err == EINTR) continue;
    if (err) return make_error(err, "read", "table " + name + ": " + strerror(err), name);
    if (int e = sock.get_gen(after)) return make_error(e, "read", std::string("NFT_MSG_GETGEN: ") + strerror(e));
    if (before != after) continue;
    generation = before;
    return {};
  }
  return make_error(EAGAIN, "read", "table " + name + ": the ruleset kept changing while it was read", name);
}

}  // namespace nft
}  // namespace iptkit
