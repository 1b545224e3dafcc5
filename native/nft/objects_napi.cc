// The object model (objects.h) to and from JavaScript: a description is checked whole on the
// main thread (a TypeError naming the field, e.g. `chains[2].rules[0].exprs[1].op: …`), then
// read or committed on a pool thread inside the requested namespace.
#include "objects_napi.h"

#include <arpa/inet.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>

#include "../common/netns.h"
#include "../common/worker.h"
#include "handles.h"
#include "objects.h"
#include "objects_expr.h"

namespace iptkit {

namespace {

using nft::ObjChain;
using nft::ObjElem;
using nft::ObjExpr;
using nft::ObjRule;
using nft::ObjSet;
using nft::ObjTable;

[[noreturn]] void bad(Napi::Env env, const std::string& path, const std::string& why) {
  throw Napi::TypeError::New(env, path + ": " + why);
}

Napi::Object obj_at(Napi::Env env, Napi::Value v, const std::string& path) {
  if (!v.IsObject() || v.IsArray()) bad(env, path, "must be an object");
  return v.As<Napi::Object>();
}

Napi::Array arr_at(Napi::Env env, Napi::Object o, const char* key, const std::string& path, bool optional) {
  Napi::Value v = o.Get(key);
  if (optional && v.IsUndefined()) return Napi::Array::New(env);
  if (!v.IsArray()) bad(env, path + "." + key, "must be an array");
  return v.As<Napi::Array>();
}

// A netfilter object name: 1 to NFT_NAME_MAXLEN-1 bytes, no NUL.
std::string name_at(Napi::Env env, Napi::Object o, const char* key, const std::string& path) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) bad(env, path + "." + key, "must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty() || s.size() >= NFT_NAME_MAXLEN || s.find('\0') != std::string::npos) {
    bad(env, path + "." + key, "must be a name of 1 to " + std::to_string(NFT_NAME_MAXLEN - 1) + " bytes");
  }
  return s;
}

void no_other_keys(Napi::Env env, Napi::Object o, const std::string& path, std::initializer_list<const char*> known) {
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); i++) {
    std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
    bool ok = false;
    for (const char* n : known) ok |= k == n;
    if (!ok) bad(env, path + "." + k, "unknown field");
  }
}

struct HookName {
  const char* name;
  uint32_t hook;
};
const HookName kHooks[] = {{"prerouting", NF_INET_PRE_ROUTING}, {"input", NF_INET_LOCAL_IN}, {"forward", NF_INET_FORWARD},
                           {"output", NF_INET_LOCAL_OUT},       {"postrouting", NF_INET_POST_ROUTING}};

struct VerdictName {
  const char* name;
  int32_t code;
};
const VerdictName kElemVerdicts[] = {{"accept", NF_ACCEPT}, {"drop", NF_DROP}, {"jump", NFT_JUMP}, {"goto", NFT_GOTO}, {"return", NFT_RETURN}};

bool is_u32(Napi::Value v, uint64_t max, uint64_t& out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<uint64_t>(d))) return false;
  out = static_cast<uint64_t>(d);
  return true;
}

// A key as the set's type writes it: a name, an address, or a number, to the kernel's bytes.
std::string elem_key(Napi::Env env, const nft::SetKeyType& t, Napi::Value v, const std::string& path) {
  std::string out(t.len, '\0');
  std::string type = t.name;
  if (type == "ifname") {
    if (!v.IsString()) bad(env, path, "must be an interface name");
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.empty() || s.size() >= t.len || s.find('\0') != std::string::npos) bad(env, path, "must be an interface name of 1 to 15 bytes");
    std::memcpy(&out[0], s.data(), s.size());
    return out;
  }
  if (type == "ipv4_addr" || type == "ipv6_addr") {
    int af = type == "ipv4_addr" ? AF_INET : AF_INET6;
    if (!v.IsString() || inet_pton(af, v.As<Napi::String>().Utf8Value().c_str(), &out[0]) != 1) {
      bad(env, path, std::string("must be an ") + (af == AF_INET ? "IPv4" : "IPv6") + " address");
    }
    return out;
  }
  uint64_t n = 0;
  uint64_t max = t.len == 1 ? 0xff : t.len == 2 ? 0xffff : 0xffffffffu;
  if (!is_u32(v, max, n)) bad(env, path, "must be an integer in 0.." + std::to_string(max));
  if (t.len == 1) out[0] = static_cast<char>(n);
  else if (t.byteorder == 2) {
    uint16_t be = htons(static_cast<uint16_t>(n));  // inet_service, the one 2-byte big-endian key
    std::memcpy(&out[0], &be, 2);
  } else {
    uint32_t h = static_cast<uint32_t>(n);  // host order, as nft puts a mark
    std::memcpy(&out[0], &h, 4);
  }
  return out;
}

Napi::Value elem_key_js(Napi::Env env, const nft::SetKeyType* t, const std::string& key) {
  if (!t || key.size() != t->len) return Napi::Buffer<char>::Copy(env, key.data(), key.size());
  std::string type = t->name;
  if (type == "ifname") return Napi::String::New(env, std::string(key.c_str()));
  if (type == "ipv4_addr" || type == "ipv6_addr") {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(type == "ipv4_addr" ? AF_INET : AF_INET6, key.data(), buf, sizeof buf);
    return Napi::String::New(env, buf);
  }
  if (t->len == 1) return Napi::Number::New(env, static_cast<uint8_t>(key[0]));
  if (t->byteorder == 2) {
    uint16_t be;
    std::memcpy(&be, key.data(), 2);
    return Napi::Number::New(env, ntohs(be));
  }
  uint32_t h;
  std::memcpy(&h, key.data(), 4);
  return Napi::Number::New(env, h);
}

ObjRule rule_from_js(Napi::Env env, Napi::Value v, const std::string& path) {
  Napi::Object o = obj_at(env, v, path);
  no_other_keys(env, o, path, {"exprs", "comment", "anonymousSets"});
  ObjRule r;
  // Anonymous sets (nft's `{ a, b }`): constant, named `__set<index>` by the rule's lookups.
  Napi::Array anon = arr_at(env, o, "anonymousSets", path, true);
  for (uint32_t i = 0; i < anon.Length(); i++) {
    std::string sp = path + ".anonymousSets[" + std::to_string(i) + "]";
    Napi::Object so = obj_at(env, anon.Get(i), sp);
    no_other_keys(env, so, sp, {"type", "elements"});
    ObjSet s;
    s.name = "__set" + std::to_string(i);
    Napi::Value type = so.Get("type");
    s.key = type.IsString() ? nft::find_set_key_type(type.As<Napi::String>().Utf8Value()) : nullptr;
    if (!s.key) bad(env, sp + ".type", "must be one of ifname, ipv4_addr, ipv6_addr, inet_proto, inet_service, mark");
    s.flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT;
    Napi::Array elems = arr_at(env, so, "elements", sp, false);
    if (elems.Length() == 0) bad(env, sp + ".elements", "must not be empty");
    for (uint32_t k = 0; k < elems.Length(); k++) {
      std::string ep = sp + ".elements[" + std::to_string(k) + "]";
      Napi::Object eo = obj_at(env, elems.Get(k), ep);
      no_other_keys(env, eo, ep, {"key"});
      ObjElem e;
      e.key = elem_key(env, *s.key, eo.Get("key"), ep + ".key");
      for (const auto& other : s.elems) {
        if (other.key == e.key) bad(env, ep + ".key", "given twice");
      }
      s.elems.push_back(std::move(e));
    }
    r.anon.push_back(std::move(s));
  }
  Napi::Array exprs = arr_at(env, o, "exprs", path, false);
  for (uint32_t i = 0; i < exprs.Length(); i++) {
    std::string ep = path + ".exprs[" + std::to_string(i) + "]";
    Napi::Object eo = obj_at(env, exprs.Get(i), ep);
    ObjExpr x;
    Napi::Value name = eo.Get("expr");
    if (!name.IsString()) bad(env, ep + ".expr", "must be a string (payload, meta, cmp, …)");
    x.name = name.As<Napi::String>().Utf8Value();
    Napi::Array keys = eo.GetPropertyNames();
    for (uint32_t k = 0; k < keys.Length(); k++) {
      std::string key = keys.Get(k).As<Napi::String>().Utf8Value();
      if (key == "expr") continue;
      Napi::Value fv = eo.Get(key);
      nft::ExprField f;
      f.key = key;
      if (fv.IsString()) {
        f.is_str = true;
        f.str = fv.As<Napi::String>().Utf8Value();
      } else if (fv.IsBigInt()) {
        bool lossless = true;
        f.num = fv.As<Napi::BigInt>().Uint64Value(&lossless);
        if (!lossless) bad(env, ep + "." + key, "must be an integer in 0..2^64-1");
      } else if (!is_u32(fv, 9007199254740991ull, f.num)) {
        bad(env, ep + "." + key, "must be a non-negative integer or a string");
      }
      x.fields.push_back(std::move(f));
    }
    r.exprs.push_back(std::move(x));
  }
  Napi::Value c = o.Get("comment");
  if (!c.IsUndefined()) {
    if (!c.IsString()) bad(env, path + ".comment", "must be a string");
    r.comment = c.As<Napi::String>().Utf8Value();
    r.has_comment = true;
  }
  // A lookup naming `__set<N>` names the rule's own anonymous set N.
  for (size_t i = 0; i < r.exprs.size(); i++) {
    if (r.exprs[i].name != "lookup") continue;
    for (const auto& f : r.exprs[i].fields) {
      if (f.key != "set" || !f.is_str || f.str.rfind("__set", 0) != 0) continue;
      std::string n = f.str.substr(5);
      bool ok = !n.empty() && n.size() < 6 && n.find_first_not_of("0123456789") == std::string::npos && std::stoul(n) < r.anon.size();
      if (!ok) bad(env, path + ".exprs[" + std::to_string(i) + "].set", "names no anonymous set of this rule (__set0 is anonymousSets[0])");
    }
  }
  // Every field checked now, by the encoder itself, so that the commit cannot fail on one.
  nft::RulePtr nr(nftnl_rule_alloc());
  if (!nr) throw std::bad_alloc();
  std::string err;
  if (!nft::encode_rule_body(r, nr.get(), err)) throw Napi::TypeError::New(env, path + "." + err);
  return r;
}

ObjTable table_from_js(Napi::Env env, Napi::Value v) {
  Napi::Object o = obj_at(env, v, "table");
  no_other_keys(env, o, "table", {"family", "name", "sets", "chains"});
  ObjTable t;
  Napi::Value fam = o.Get("family");
  std::string f = fam.IsString() ? fam.As<Napi::String>().Utf8Value() : "";
  if (f != "ip" && f != "ip6") bad(env, "table.family", "must be 'ip' or 'ip6'");
  t.v6 = f == "ip6";
  t.name = name_at(env, o, "name", "table");
  Napi::Array sets = arr_at(env, o, "sets", "table", true);
  for (uint32_t i = 0; i < sets.Length(); i++) {
    std::string sp = "table.sets[" + std::to_string(i) + "]";
    Napi::Object so = obj_at(env, sets.Get(i), sp);
    no_other_keys(env, so, sp, {"name", "type", "map", "flags", "elements"});
    ObjSet s;
    s.name = name_at(env, so, "name", sp);
    Napi::Value type = so.Get("type");
    s.key = type.IsString() ? nft::find_set_key_type(type.As<Napi::String>().Utf8Value()) : nullptr;
    if (!s.key) bad(env, sp + ".type", "must be one of ifname, ipv4_addr, ipv6_addr, inet_proto, inet_service, mark");
    Napi::Value map = so.Get("map");
    if (!map.IsUndefined()) {
      if (!map.IsString() || map.As<Napi::String>().Utf8Value() != "verdict") bad(env, sp + ".map", "must be 'verdict' (the one map data type here)");
      s.verdict_map = true;
    }
    Napi::Array flags = arr_at(env, so, "flags", sp, true);
    for (uint32_t k = 0; k < flags.Length(); k++) {
      Napi::Value fl = flags.Get(k);
      if (!fl.IsString() || fl.As<Napi::String>().Utf8Value() != "constant") {
        bad(env, sp + ".flags[" + std::to_string(k) + "]", "must be 'constant' (interval and timeout sets are not modelled yet)");
      }
      s.flags |= NFT_SET_CONSTANT;
    }
    Napi::Array elems = arr_at(env, so, "elements", sp, true);
    for (uint32_t k = 0; k < elems.Length(); k++) {
      std::string ep = sp + ".elements[" + std::to_string(k) + "]";
      Napi::Object eo = obj_at(env, elems.Get(k), ep);
      no_other_keys(env, eo, ep, {"key", "verdict", "chain"});
      ObjElem e;
      e.key = elem_key(env, *s.key, eo.Get("key"), ep + ".key");
      Napi::Value vd = eo.Get("verdict");
      if (s.verdict_map) {
        std::string name = vd.IsString() ? vd.As<Napi::String>().Utf8Value() : "";
        const VerdictName* found = nullptr;
        for (const auto& n : kElemVerdicts) {
          if (name == n.name) found = &n;
        }
        if (!found) bad(env, ep + ".verdict", "must be one of accept, drop, jump, goto, return");
        e.verdict = found->code;
        if (e.verdict == NFT_JUMP || e.verdict == NFT_GOTO) e.chain = name_at(env, eo, "chain", ep);
        else if (!eo.Get("chain").IsUndefined()) bad(env, ep + ".chain", "only a jump or goto names a chain");
      } else if (!vd.IsUndefined() || !eo.Get("chain").IsUndefined()) {
        bad(env, ep + (vd.IsUndefined() ? ".chain" : ".verdict"), "a set's elements are keys only (give map: 'verdict')");
      }
      for (const auto& other : s.elems) {
        if (other.key == e.key) bad(env, ep + ".key", "given twice");
      }
      s.elems.push_back(std::move(e));
    }
    for (const auto& other : t.sets) {
      if (other.name == s.name) bad(env, sp + ".name", "set '" + s.name + "' given twice");
    }
    t.sets.push_back(std::move(s));
  }
  Napi::Array chains = arr_at(env, o, "chains", "table", true);
  for (uint32_t i = 0; i < chains.Length(); i++) {
    std::string cp = "table.chains[" + std::to_string(i) + "]";
    Napi::Object co = obj_at(env, chains.Get(i), cp);
    no_other_keys(env, co, cp, {"name", "type", "hook", "priority", "policy", "rules"});
    ObjChain c;
    c.name = name_at(env, co, "name", cp);
    Napi::Value type = co.Get("type");
    if (!type.IsUndefined()) {
      c.base = true;
      c.type = type.IsString() ? type.As<Napi::String>().Utf8Value() : "";
      if (c.type != "filter" && c.type != "nat" && c.type != "route") bad(env, cp + ".type", "must be filter, nat or route");
      Napi::Value hook = co.Get("hook");
      std::string h = hook.IsString() ? hook.As<Napi::String>().Utf8Value() : "";
      bool found = false;
      for (const auto& n : kHooks) {
        if (h == n.name) {
          c.hook = n.hook;
          found = true;
        }
      }
      if (!found) bad(env, cp + ".hook", "must be prerouting, input, forward, output or postrouting");
      Napi::Value prio = co.Get("priority");
      double d = prio.IsNumber() ? prio.As<Napi::Number>().DoubleValue() : 0.5;
      if (!(d >= INT32_MIN && d <= INT32_MAX) || d != static_cast<double>(static_cast<int32_t>(d))) {
        bad(env, cp + ".priority", "must be an integer (raw -300, dstnat -100, filter 0, srcnat 100)");
      }
      c.priority = static_cast<int32_t>(d);
      Napi::Value pol = co.Get("policy");
      std::string p = pol.IsUndefined() ? "accept" : pol.IsString() ? pol.As<Napi::String>().Utf8Value() : "";
      if (p != "accept" && p != "drop") bad(env, cp + ".policy", "must be 'accept' or 'drop'");
      c.policy = p == "drop" ? NF_DROP : NF_ACCEPT;
    } else {
      for (const char* k : {"hook", "priority", "policy"}) {
        if (!co.Get(k).IsUndefined()) bad(env, cp + "." + k, "only a base chain (one with a type) has one");
      }
    }
    Napi::Array rules = arr_at(env, co, "rules", cp, true);
    for (uint32_t k = 0; k < rules.Length(); k++) c.rules.push_back(rule_from_js(env, rules.Get(k), cp + ".rules[" + std::to_string(k) + "]"));
    for (const auto& other : t.chains) {
      if (other.name == c.name) bad(env, cp + ".name", "chain '" + c.name + "' given twice");
    }
    t.chains.push_back(std::move(c));
  }
  // Jumps and lookups name objects of this table: a name the description lacks is the caller's
  // mistake unless a merge keeps it, so the kernel's error is left to say so then.
  return t;
}

Napi::Object rule_js(Napi::Env env, const ObjRule& r) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array exprs = Napi::Array::New(env, r.exprs.size());
  for (size_t i = 0; i < r.exprs.size(); i++) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("expr", r.exprs[i].name);
    for (const auto& f : r.exprs[i].fields) {
      if (f.is_str) e.Set(f.key, f.str);
      else if (f.num > 9007199254740991ull) e.Set(f.key, Napi::BigInt::New(env, f.num));
      else e.Set(f.key, Napi::Number::New(env, static_cast<double>(f.num)));
    }
    exprs.Set(i, e);
  }
  o.Set("exprs", exprs);
  if (r.has_comment) o.Set("comment", r.comment);
  if (r.foreign) o.Set("foreign", true);
  if (!r.anon.empty()) {
    Napi::Array anon = Napi::Array::New(env, r.anon.size());
    for (size_t i = 0; i < r.anon.size(); i++) {
      Napi::Object so = Napi::Object::New(env);
      so.Set("type", r.anon[i].key ? r.anon[i].key->name : "unknown");
      Napi::Array elems = Napi::Array::New(env, r.anon[i].elems.size());
      for (size_t k = 0; k < r.anon[i].elems.size(); k++) {
        Napi::Object eo = Napi::Object::New(env);
        eo.Set("key", elem_key_js(env, r.anon[i].key, r.anon[i].elems[k].key));
        elems.Set(k, eo);
      }
      so.Set("elements", elems);
      anon.Set(i, so);
    }
    o.Set("anonymousSets", anon);
  }
  return o;
}

Napi::Value table_js(Napi::Env env, const ObjTable& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", t.v6 ? "ip6" : "ip");
  o.Set("name", t.name);
  Napi::Array sets = Napi::Array::New(env, t.sets.size());
  for (size_t i = 0; i < t.sets.size(); i++) {
    const ObjSet& s = t.sets[i];
    Napi::Object so = Napi::Object::New(env);
    so.Set("name", s.name);
    so.Set("type", s.key ? s.key->name : "unknown");
    if (s.verdict_map) so.Set("map", "verdict");
    if (s.flags & NFT_SET_CONSTANT) {
      Napi::Array fl = Napi::Array::New(env, 1);
      fl.Set(0u, "constant");
      so.Set("flags", fl);
    }
    Napi::Array elems = Napi::Array::New(env, s.elems.size());
    for (size_t k = 0; k < s.elems.size(); k++) {
      Napi::Object eo = Napi::Object::New(env);
      eo.Set("key", elem_key_js(env, s.key, s.elems[k].key));
      if (s.verdict_map) {
        for (const auto& n : kElemVerdicts) {
          if (n.code == s.elems[k].verdict) eo.Set("verdict", n.name);
        }
        if (!s.elems[k].chain.empty()) eo.Set("chain", s.elems[k].chain);
      }
      elems.Set(k, eo);
    }
    so.Set("elements", elems);
    sets.Set(i, so);
  }
  o.Set("sets", sets);
  Napi::Array chains = Napi::Array::New(env, t.chains.size());
  for (size_t i = 0; i < t.chains.size(); i++) {
    const ObjChain& c = t.chains[i];
    Napi::Object co = Napi::Object::New(env);
    co.Set("name", c.name);
    if (c.base) {
      co.Set("type", c.type);
      for (const auto& n : kHooks) {
        if (n.hook == c.hook) co.Set("hook", n.name);
      }
      co.Set("priority", c.priority);
      co.Set("policy", c.policy == NF_DROP ? "drop" : "accept");
    }
    Napi::Array rules = Napi::Array::New(env, c.rules.size());
    for (size_t k = 0; k < c.rules.size(); k++) rules.Set(k, rule_js(env, c.rules[k]));
    co.Set("rules", rules);
    chains.Set(i, co);
  }
  o.Set("chains", chains);
  return o;
}

struct ReadOut {
  ObjTable table;
  bool exists = false;
  uint32_t generation = 0;
};

}  // namespace

Napi::Value NftObjectsRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string fam = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (fam != "ip" && fam != "ip6") throw Napi::TypeError::New(env, "family must be 'ip' or 'ip6'");
  std::string netns = arg_netns(info, 1);
  std::string name = arg_string(info, 2, "name");
  bool v6 = fam == "ip6";
  return PromiseWorker<ReadOut>::Run(
      env,
      [=](ReadOut& out) -> OpError {
        NetnsGuard guard(netns);
        if (guard.error()) return guard.error();
        return nft::objects_read(v6, name, out.table, out.exists, out.generation);
      },
      [](Napi::Env env, ReadOut& out) -> Napi::Value {
        if (!out.exists) return env.Null();
        return table_js(env, out.table);
      });
}

Napi::Value NftObjectsCommit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns = arg_netns(info, 0);
  // One table, or several committed in one batch (Docker's ip and ip6 tables together).
  std::vector<ObjTable> tables;
  Napi::Value given = info.Length() > 1 ? info[1] : env.Undefined();
  if (given.IsArray()) {
    Napi::Array arr = given.As<Napi::Array>();
    if (arr.Length() == 0) throw Napi::TypeError::New(env, "tables: must name at least one table");
    for (uint32_t i = 0; i < arr.Length(); i++) {
      try {
        tables.push_back(table_from_js(env, arr.Get(i)));
      } catch (const Napi::Error& e) {
        // The checks name `table.…`: say which of the tables.
        std::string msg = e.Message();
        throw Napi::TypeError::New(env, "tables[" + std::to_string(i) + "]" + (msg.rfind("table", 0) == 0 ? msg.substr(5) : ": " + msg));
      }
      for (uint32_t k = 0; k < i; k++) {
        if (tables[k].v6 == tables[i].v6 && tables[k].name == tables[i].name) {
          throw Napi::TypeError::New(env, "tables[" + std::to_string(i) + "].name: table " + tables[i].name + " of that family is tables[" + std::to_string(k) + "] already");
        }
      }
    }
  } else {
    tables.push_back(table_from_js(env, given));
  }
  std::string mode = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  if (mode != "replace" && mode != "merge") throw Napi::TypeError::New(env, "mode must be 'replace' or 'merge'");
  bool merge = mode == "merge";
  return PromiseWorker<int>::Run(
      env,
      [=](int& attempts) -> OpError {
        NetnsGuard guard(netns);
        if (guard.error()) return guard.error();
        return nft::objects_commit(tables, merge, attempts);
      },
      [](Napi::Env env, int& attempts) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("attempts", Napi::Number::New(env, attempts));
        return out;
      });
}

}  // namespace iptkit
