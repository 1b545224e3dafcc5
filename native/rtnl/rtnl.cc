// RTM_GETLINK dump over NETLINK_ROUTE with libmnl, inside the requested network namespace
// (NetnsGuard: this pool thread only), off the event loop (PromiseWorker). Each link crosses
// back as { index, name, kind }: kind is IFLA_INFO_KIND ("bridge", "veth", …) or null for a
// link without one (lo, a physical NIC).
#include "rtnl.h"

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "../common/netns.h"
#include "../common/worker.h"

namespace iptkit {
namespace {

struct Link {
  int index = 0;
  std::string name;
  std::string kind;
};

// Tables of attributes by type; only the ones read here are kept.
struct AttrTable {
  const nlattr* tb[IFLA_MAX + 1] = {};
};

int link_attr_cb(const nlattr* attr, void* data) {
  auto* t = static_cast<AttrTable*>(data);
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFLA_MAX) < 0) return MNL_CB_OK;  // newer kernel: skip
  t->tb[type] = attr;
  return MNL_CB_OK;
}

int info_attr_cb(const nlattr* attr, void* data) {
  auto* tb = static_cast<const nlattr**>(data);
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFLA_INFO_MAX) < 0) return MNL_CB_OK;
  tb[type] = attr;
  return MNL_CB_OK;
}

int link_cb(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<std::vector<Link>*>(data);
  if (nlh->nlmsg_type != RTM_NEWLINK) return MNL_CB_OK;
  auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  AttrTable t;
  if (mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, &t) < 0) return MNL_CB_ERROR;
  Link l;
  l.index = ifm->ifi_index;
  if (t.tb[IFLA_IFNAME] && mnl_attr_validate(t.tb[IFLA_IFNAME], MNL_TYPE_STRING) >= 0) {
    l.name = mnl_attr_get_str(t.tb[IFLA_IFNAME]);
  }
  if (t.tb[IFLA_LINKINFO]) {
    const nlattr* info[IFLA_INFO_MAX + 1] = {};
    if (mnl_attr_parse_nested(t.tb[IFLA_LINKINFO], info_attr_cb, info) >= 0 && info[IFLA_INFO_KIND] &&
        mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_STRING) >= 0) {
      l.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
    }
  }
  try {
    out->push_back(std::move(l));
  } catch (...) {
    errno = ENOMEM;
    return MNL_CB_ERROR;
  }
  return MNL_CB_OK;
}

OpError dump_links(std::vector<Link>& out) {
  mnl_socket* nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl) return make_error(errno, "rtnl", std::string("cannot open an rtnetlink socket: ") + strerror(errno));
  struct Closer {
    mnl_socket* s;
    ~Closer() { mnl_socket_close(s); }
  } closer{nl};
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    return make_error(errno, "rtnl", std::string("cannot bind the rtnetlink socket: ") + strerror(errno));
  }
  // Room for any one dump datagram (the kernel sends at most 32 KiB per skb; libmnl 1.0.4
  // has no MNL_SOCKET_DUMP_SIZE).
  std::vector<char> buf(64 * 1024);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  uint32_t seq = static_cast<uint32_t>(time(nullptr));
  nlh->nlmsg_seq = seq;
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
    return make_error(errno, "rtnl", std::string("RTM_GETLINK: cannot send the dump request: ") + strerror(errno));
  }
  uint32_t portid = mnl_socket_get_portid(nl);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(errno, "rtnl", std::string("RTM_GETLINK: ") + strerror(errno));
    }
    errno = 0;
    int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, link_cb, &out);
    if (r == MNL_CB_STOP) break;
    if (r < 0) {
      int err = errno ? errno : EIO;
      // NLM_F_DUMP_INTR: the list changed during the dump; the caller may simply retry.
      return make_error(err, "rtnl", std::string("RTM_GETLINK: ") + strerror(err));
    }
  }
  return {};
}

}  // namespace

Napi::Value RtnlLinks(const Napi::CallbackInfo& info) {
  std::string netns = arg_netns(info, 0);
  using Links = std::vector<Link>;
  return PromiseWorker<Links>::Run(
      info.Env(),
      [netns](Links& links) -> OpError {
        NetnsGuard ns(netns);
        if (ns.error()) return ns.error();
        OpError e = dump_links(links);
        // A dump interrupted by a concurrent change (EINTR) is retried a few times.
        for (int i = 0; i < 3 && e.err == EINTR; i++) {
          links.clear();
          e = dump_links(links);
        }
        return e;
      },
      [](Napi::Env env, Links& links) -> Napi::Value {
        Napi::Array a = Napi::Array::New(env, links.size());
        for (uint32_t i = 0; i < links.size(); i++) {
          Napi::Object o = Napi::Object::New(env);
          o.Set("index", Napi::Number::New(env, links[i].index));
          o.Set("name", Napi::String::New(env, links[i].name));
          o.Set("kind", links[i].kind.empty() ? env.Null() : Napi::String::New(env, links[i].kind));
          a.Set(i, o);
        }
        return a;
      });
}

}  // namespace iptkit
