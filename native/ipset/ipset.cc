// ipsetList: each named set's type, family and members, or null when the namespace has none.
// ipsetEnsure: in the requested namespace (NetnsGuard, this pool thread only), each described
// set is made to exist with exactly its members, as `ipset create -exist` / `add -exist` /
// `del -exist` would, with the fewest changes: a set there already is kept (its references
// from rules, its counters and the kernel's index the rules hold), missing members are added
// before extra ones are deleted, so a member that stays is never absent. A set of that name
// but another type or family is an error naming it, never replaced: rules may refer to it.
//
// Messages are NFNL_SUBSYS_IPSET commands over NETLINK_NETFILTER, each attribute as the
// kernel's ip_set_core.c and ip_set_hash_net.c read it (IPSET_ATTR_PROTOCOL in every message;
// nested attributes with NLA_F_NESTED; addresses with NLA_F_NET_BYTEORDER).
#include "ipset.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "../common/netns.h"
#include "../common/worker.h"

namespace iptkit {
namespace {

// One member of a hash:net set: a network address (host bits zero) and its prefix length.
struct Net {
  uint8_t addr[16] = {};
  uint8_t cidr = 0;
  bool operator<(const Net& o) const {
    int c = std::memcmp(addr, o.addr, sizeof addr);
    return c < 0 || (c == 0 && cidr < o.cidr);
  }
};

struct SetSpec {
  std::string name;
  uint8_t family = NFPROTO_IPV4;  // NFPROTO_IPV4 or NFPROTO_IPV6
  std::vector<Net> members;
  std::vector<std::string> texts;  // the members as given, for messages
};

struct SetOutcome {
  std::string name;
  bool created = false;
  uint32_t added = 0, deleted = 0;
};

size_t addr_len(uint8_t family) { return family == NFPROTO_IPV6 ? 16 : 4; }

// The ipset module's own errors (enum ipset_errno) in the ipset tool's words; others strerror.
std::string ipset_strerror(int err) {
  switch (err) {
    case IPSET_ERR_PROTOCOL: return "kernel error received: ipset protocol error";
    case IPSET_ERR_FIND_TYPE: return "kernel error received: set type not supported";
    case IPSET_ERR_MAX_SETS: return "kernel error received: maximal number of sets reached";
    case IPSET_ERR_BUSY: return "kernel error received: set is in use by a rule (busy)";
    case IPSET_ERR_TYPE_MISMATCH: return "kernel error received: the sets are of different types";
    case IPSET_ERR_EXIST: return "kernel error received: set with the same name already exists";
    case IPSET_ERR_INVALID_CIDR: return "kernel error received: invalid prefix length";
    case IPSET_ERR_INVALID_FAMILY: return "kernel error received: invalid family";
    case IPSET_ERR_REFERENCED: return "kernel error received: set is referenced by a rule";
    case IPSET_ERR_IPADDR_IPV4: return "kernel error received: an IPv4 address was expected";
    case IPSET_ERR_IPADDR_IPV6: return "kernel error received: an IPv6 address was expected";
    case IPSET_ERR_TYPE_SPECIFIC + 1: return "kernel error received: hash is full";
    default: return strerror(err);
  }
}

class Session {
 public:
  OpError open() {
    nl_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!nl_) return make_error(errno, "ipset", std::string("cannot open a netfilter netlink socket: ") + strerror(errno));
    if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
      return make_error(errno, "ipset", std::string("cannot bind the netfilter netlink socket: ") + strerror(errno));
    }
    portid_ = mnl_socket_get_portid(nl_);
    seq_ = static_cast<uint32_t>(time(nullptr));
    return {};
  }
  ~Session() {
    if (nl_) mnl_socket_close(nl_);
  }

  // A message of `cmd` with the nfgenmsg header and IPSET_ATTR_PROTOCOL.
  nlmsghdr* start(uint8_t cmd, uint16_t flags) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data());
    nlh->nlmsg_type = (NFNL_SUBSYS_IPSET << 8) | cmd;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = ++seq_;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = AF_INET;  // the set's family travels in IPSET_ATTR_FAMILY
    nfg->version = NFNETLINK_V0;
    nfg->res_id = 0;
    mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
    return nlh;
  }

  // Sends and reads until the ACK (or the dump's end); `cb` sees every reply message.
  // errno of the kernel's refusal, 0 when it took the message.
  int run(nlmsghdr* nlh, mnl_cb_t cb = nullptr, void* data = nullptr) {
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return errno;
    const uint32_t seq = nlh->nlmsg_seq;
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(nl_, reply_.data(), reply_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      errno = 0;
      int r = mnl_cb_run(reply_.data(), static_cast<size_t>(n), seq, portid_, cb, data);
      if (r == MNL_CB_STOP) return 0;
      if (r < 0) return errno ? errno : EIO;
    }
  }

 private:
  mnl_socket* nl_ = nullptr;
  uint32_t portid_ = 0, seq_ = 0;
  std::vector<char> buf_ = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);
  std::vector<char> reply_ = std::vector<char>(64 * 1024);
};

// What IPSET_CMD_LIST says of one set: its header and members.
struct Listed {
  std::string type;
  uint8_t family = 0;
  std::set<Net> members;
  int bad = 0;  // an attribute not as expected (EPROTO)
};

template <int Max>
struct Attrs {
  const nlattr* tb[Max + 1] = {};
  static int cb(const nlattr* attr, void* data) {
    auto* self = static_cast<Attrs*>(data);
    int type = mnl_attr_get_type(attr);  // NLA_TYPE_MASK: without NESTED / NET_BYTEORDER
    if (type <= Max) self->tb[type] = attr;
    return MNL_CB_OK;
  }
};

int entry_cb(const nlattr* attr, void* data) {
  auto* l = static_cast<Listed*>(data);
  if (mnl_attr_get_type(attr) != IPSET_ATTR_DATA) return MNL_CB_OK;
  Attrs<IPSET_ATTR_ADT_MAX> e;
  if (mnl_attr_parse_nested(attr, Attrs<IPSET_ATTR_ADT_MAX>::cb, &e) < 0 || !e.tb[IPSET_ATTR_IP]) {
    l->bad = EPROTO;
    return MNL_CB_OK;
  }
  Attrs<IPSET_ATTR_IPADDR_MAX> ip;
  if (mnl_attr_parse_nested(e.tb[IPSET_ATTR_IP], Attrs<IPSET_ATTR_IPADDR_MAX>::cb, &ip) < 0) {
    l->bad = EPROTO;
    return MNL_CB_OK;
  }
  Net n;
  const nlattr* a = ip.tb[IPSET_ATTR_IPADDR_IPV4] ? ip.tb[IPSET_ATTR_IPADDR_IPV4] : ip.tb[IPSET_ATTR_IPADDR_IPV6];
  size_t len = ip.tb[IPSET_ATTR_IPADDR_IPV4] ? 4 : 16;
  if (!a || mnl_attr_get_payload_len(a) != len) {
    l->bad = EPROTO;
    return MNL_CB_OK;
  }
  std::memcpy(n.addr, mnl_attr_get_payload(a), len);
  n.cidr = e.tb[IPSET_ATTR_CIDR] ? mnl_attr_get_u8(e.tb[IPSET_ATTR_CIDR]) : static_cast<uint8_t>(len * 8);
  l->members.insert(n);
  return MNL_CB_OK;
}

int list_cb(const nlmsghdr* nlh, void* data) {
  auto* l = static_cast<Listed*>(data);
  Attrs<IPSET_ATTR_CMD_MAX> t;
  if (mnl_attr_parse(nlh, sizeof(nfgenmsg), Attrs<IPSET_ATTR_CMD_MAX>::cb, &t) < 0) return MNL_CB_ERROR;
  if (t.tb[IPSET_ATTR_TYPENAME]) l->type = mnl_attr_get_str(t.tb[IPSET_ATTR_TYPENAME]);
  if (t.tb[IPSET_ATTR_FAMILY]) l->family = mnl_attr_get_u8(t.tb[IPSET_ATTR_FAMILY]);
  // A big set comes in several messages, each with some of the members.
  if (t.tb[IPSET_ATTR_ADT]) mnl_attr_parse_nested(t.tb[IPSET_ATTR_ADT], entry_cb, l);
  return MNL_CB_OK;
}

int type_cb(const nlmsghdr* nlh, void* data) {
  Attrs<IPSET_ATTR_CMD_MAX> t;
  if (mnl_attr_parse(nlh, sizeof(nfgenmsg), Attrs<IPSET_ATTR_CMD_MAX>::cb, &t) < 0) return MNL_CB_ERROR;
  if (t.tb[IPSET_ATTR_REVISION]) *static_cast<int*>(data) = mnl_attr_get_u8(t.tb[IPSET_ATTR_REVISION]);
  return MNL_CB_OK;
}

// ENOENT when there is no such set.
int list_set(Session& s, const std::string& name, Listed& out) {
  nlmsghdr* nlh = s.start(IPSET_CMD_LIST, NLM_F_DUMP);
  mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, name.c_str());
  int err = s.run(nlh, list_cb, &out);
  return err ? err : out.bad;
}

void put_member(nlmsghdr* nlh, const SetSpec& spec, const Net& n) {
  nlattr* data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
  nlattr* ip = mnl_attr_nest_start(nlh, IPSET_ATTR_IP);
  const bool v6 = spec.family == NFPROTO_IPV6;
  mnl_attr_put(nlh, (v6 ? IPSET_ATTR_IPADDR_IPV6 : IPSET_ATTR_IPADDR_IPV4) | NLA_F_NET_BYTEORDER, addr_len(spec.family),
               n.addr);
  mnl_attr_nest_end(nlh, ip);
  mnl_attr_put_u8(nlh, IPSET_ATTR_CIDR, n.cidr);
  mnl_attr_nest_end(nlh, data);
}

std::string member_text(const SetSpec& spec, const Net& n) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(spec.family == NFPROTO_IPV6 ? AF_INET6 : AF_INET, n.addr, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(n.cidr);
}

OpError fail(int err, const SetSpec& spec, const std::string& what) {
  return make_error(err, "ipset", "ipset " + spec.name + ": " + what + ": " + ipset_strerror(err));
}

OpError ensure(Session& s, const SetSpec& spec, SetOutcome& out) {
  out.name = spec.name;
  const char* family_name = spec.family == NFPROTO_IPV6 ? "inet6" : "inet";
  Listed now;
  int err = list_set(s, spec.name, now);
  if (err == ENOENT) {
    // The newest hash:net revision this kernel has (IPSET_CMD_TYPE), as the ipset tool picks.
    int revision = -1;
    nlmsghdr* nlh = s.start(IPSET_CMD_TYPE, NLM_F_ACK);
    mnl_attr_put_strz(nlh, IPSET_ATTR_TYPENAME, "hash:net");
    mnl_attr_put_u8(nlh, IPSET_ATTR_FAMILY, spec.family);
    if ((err = s.run(nlh, type_cb, &revision)) != 0 || revision < 0) {
      return fail(err ? err : EPROTO, spec, "the kernel has no hash:net sets (module ip_set_hash_net)");
    }
    nlh = s.start(IPSET_CMD_CREATE, NLM_F_ACK | NLM_F_CREATE);  // no NLM_F_EXCL: -exist
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, spec.name.c_str());
    mnl_attr_put_strz(nlh, IPSET_ATTR_TYPENAME, "hash:net");
    mnl_attr_put_u8(nlh, IPSET_ATTR_REVISION, static_cast<uint8_t>(revision));
    mnl_attr_put_u8(nlh, IPSET_ATTR_FAMILY, spec.family);
    mnl_attr_nest_end(nlh, mnl_attr_nest_start(nlh, IPSET_ATTR_DATA));  // the type's defaults
    if ((err = s.run(nlh)) != 0) return fail(err, spec, std::string("cannot create it as hash:net family ") + family_name);
    out.created = true;
    now = Listed{};
    now.type = "hash:net";
    now.family = spec.family;
  } else if (err) {
    return fail(err, spec, "cannot list it");
  }
  if (now.type != "hash:net" || now.family != spec.family) {
    return make_error(EEXIST, "ipset",
                      "ipset " + spec.name + " exists as " + now.type + " family " +
                          (now.family == NFPROTO_IPV6 ? "inet6" : now.family == NFPROTO_IPV4 ? "inet" : "?") +
                          ", not hash:net family " + family_name + " (it is left as it is)");
  }
  std::set<Net> want(spec.members.begin(), spec.members.end());
  for (const Net& n : want) {
    if (now.members.count(n)) continue;
    nlmsghdr* nlh = s.start(IPSET_CMD_ADD, NLM_F_ACK);  // no NLM_F_EXCL: -exist
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, spec.name.c_str());
    put_member(nlh, spec, n);
    if ((err = s.run(nlh)) != 0) return fail(err, spec, "cannot add " + member_text(spec, n));
    out.added++;
  }
  for (const Net& n : now.members) {
    if (want.count(n)) continue;
    nlmsghdr* nlh = s.start(IPSET_CMD_DEL, NLM_F_ACK);
    mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, spec.name.c_str());
    put_member(nlh, spec, n);
    if ((err = s.run(nlh)) != 0) return fail(err, spec, "cannot delete " + member_text(spec, n));
    out.deleted++;
  }
  return {};
}

// sets[i] checked on the main thread: a TypeError naming the field for anything that is not a
// hash:net set of one family with networks of that family, host bits zero.
std::vector<SetSpec> arg_sets(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(env, "sets must be an array");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<SetSpec> out;
  std::set<std::string> names;
  for (uint32_t k = 0; k < a.Length(); k++) {
    const std::string at = "sets[" + std::to_string(k) + "]";
    Napi::Value v = a.Get(k);
    if (!v.IsObject()) throw Napi::TypeError::New(env, at + ": must be an object");
    Napi::Object o = v.As<Napi::Object>();
    SetSpec spec;
    Napi::Value name = o.Get("name");
    if (!name.IsString()) throw Napi::TypeError::New(env, at + ".name: must be a string");
    spec.name = name.As<Napi::String>().Utf8Value();
    if (spec.name.empty() || spec.name.size() > IPSET_MAXNAMELEN - 1 || spec.name.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, at + ".name: must be 1 to 31 bytes without NUL: " + spec.name);
    }
    if (!names.insert(spec.name).second) throw Napi::TypeError::New(env, at + ".name: given twice: " + spec.name);
    Napi::Value type = o.Get("type");
    if (!type.IsString() || type.As<Napi::String>().Utf8Value() != "hash:net") {
      throw Napi::TypeError::New(env, at + ".type: must be \"hash:net\"");
    }
    Napi::Value family = o.Get("family");
    std::string fam = family.IsString() ? family.As<Napi::String>().Utf8Value() : "";
    if (fam != "inet" && fam != "inet6") throw Napi::TypeError::New(env, at + ".family: must be \"inet\" or \"inet6\"");
    spec.family = fam == "inet6" ? NFPROTO_IPV6 : NFPROTO_IPV4;
    Napi::Value members = o.Get("members");
    if (!members.IsArray()) throw Napi::TypeError::New(env, at + ".members: must be an array of networks");
    Napi::Array m = members.As<Napi::Array>();
    const size_t len = addr_len(spec.family);
    for (uint32_t j = 0; j < m.Length(); j++) {
      const std::string mat = at + ".members[" + std::to_string(j) + "]";
      Napi::Value mv = m.Get(j);
      std::string text = mv.IsString() ? mv.As<Napi::String>().Utf8Value() : "";
      size_t slash = text.find('/');
      Net n;
      const std::string addr = text.substr(0, slash);
      const std::string plen = slash == std::string::npos ? "" : text.substr(slash + 1);
      bool ok = !plen.empty() && plen.size() <= 3 && plen.find_first_not_of("0123456789") == std::string::npos &&
                inet_pton(spec.family == NFPROTO_IPV6 ? AF_INET6 : AF_INET, addr.c_str(), n.addr) == 1;
      unsigned bits = ok ? static_cast<unsigned>(std::stoul(plen)) : 0;
      if (!ok || bits < 1 || bits > len * 8) {
        throw Napi::TypeError::New(env, mat + ": not an " + (len == 4 ? "IPv4" : "IPv6") +
                                            " network ADDRESS/LENGTH (length 1 to " + std::to_string(len * 8) +
                                            "): " + text);
      }
      n.cidr = static_cast<uint8_t>(bits);
      for (size_t b = bits; b < len * 8; b++) {
        if (n.addr[b / 8] & (0x80u >> (b % 8))) {
          throw Napi::TypeError::New(env, mat + ": not a network address (host bits set): " + text);
        }
      }
      spec.members.push_back(n);
      spec.texts.push_back(text);
    }
    out.push_back(std::move(spec));
  }
  return out;
}

// names[i] checked on the main thread: set names as ipset takes them.
std::vector<std::string> arg_names(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(env, "names must be an array");
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (name.empty() || name.size() > IPSET_MAXNAMELEN - 1 || name.find('\0') != std::string::npos) {
      throw Napi::TypeError::New(env, "names[" + std::to_string(k) + "]: must be a set name of 1 to 31 bytes without NUL");
    }
    out.push_back(std::move(name));
  }
  return out;
}

// One set as IPSET_CMD_LIST gives it back, or absent.
struct ListedSet {
  bool exists = false;
  Listed listed;
};

}  // namespace

Napi::Value IpsetList(const Napi::CallbackInfo& info) {
  std::string netns = arg_netns(info, 0);
  std::vector<std::string> names = arg_names(info, 1);
  using Sets = std::vector<ListedSet>;
  return PromiseWorker<Sets>::Run(
      info.Env(),
      [netns, names = std::move(names)](Sets& sets) -> OpError {
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        Session s;
        if (OpError err = s.open()) return err;
        for (const std::string& name : names) {
          ListedSet& out = sets.emplace_back();
          int err = list_set(s, name, out.listed);
          if (err == ENOENT) continue;
          if (err) return make_error(err, "ipset", "ipset " + name + ": cannot list it: " + ipset_strerror(err));
          out.exists = true;
        }
        return {};
      },
      [names](Napi::Env env, Sets& sets) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, sets.size());
        for (uint32_t i = 0; i < sets.size(); i++) {
          if (!sets[i].exists) {
            a.Set(i, env.Null());
            continue;
          }
          const Listed& l = sets[i].listed;
          SetSpec spec;
          spec.family = l.family;
          Napi::Object o = Napi::Object::New(env);
          o.Set("name", Napi::String::New(env, names[i]));
          o.Set("type", Napi::String::New(env, l.type));
          o.Set("family", Napi::String::New(env, l.family == NFPROTO_IPV6 ? "inet6" : l.family == NFPROTO_IPV4 ? "inet" : "?"));
          Napi::Array members = Napi::Array::New(env, l.members.size());
          uint32_t k = 0;
          // A member's address is as long as its family's; another type's members are not read.
          for (const Net& n : l.members) members.Set(k++, Napi::String::New(env, member_text(spec, n)));
          o.Set("members", members);
          a.Set(i, o);
        }
        return a;
      });
}

Napi::Value IpsetEnsure(const Napi::CallbackInfo& info) {
  std::string netns = arg_netns(info, 0);
  std::vector<SetSpec> sets = arg_sets(info, 1);
  using Outcomes = std::vector<SetOutcome>;
  return PromiseWorker<Outcomes>::Run(
      info.Env(),
      [netns, sets = std::move(sets)](Outcomes& outcomes) -> OpError {
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        Session s;
        if (OpError err = s.open()) return err;
        for (const SetSpec& spec : sets) {
          if (OpError err = ensure(s, spec, outcomes.emplace_back())) return err;
        }
        return {};
      },
      [](Napi::Env env, Outcomes& outcomes) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, outcomes.size());
        for (uint32_t i = 0; i < outcomes.size(); i++) {
          Napi::Object o = Napi::Object::New(env);
          o.Set("name", Napi::String::New(env, outcomes[i].name));
          o.Set("created", Napi::Boolean::New(env, outcomes[i].created));
          o.Set("added", Napi::Number::New(env, outcomes[i].added));
          o.Set("deleted", Napi::Number::New(env, outcomes[i].deleted));
          a.Set(i, o);
        }
        return a;
      });
}

}  // namespace iptkit
