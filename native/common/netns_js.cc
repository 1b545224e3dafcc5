// netnsCookie: the namespace's SO_NETNS_COOKIE, which no other namespace of this boot has (an
// inode number comes back once its namespace is gone; a cookie does not). The Docker record
// keeps it, to tell that a record was written for the namespace it is read in.
#include <napi.h>

#include <string>

#include "intent.h"
#include "netns.h"
#include "netns_js.h"
#include "worker.h"

namespace iptkit {

Napi::Value NetnsCookie(const Napi::CallbackInfo& info) {
  std::string netns = arg_netns(info, 0);
  return PromiseWorker<uint64_t>::Run(
      info.Env(),
      [=](uint64_t& cookie) -> OpError {
        NetnsGuard guard(netns);
        if (guard.error()) return guard.error();
        intent::Netns ns;
        if (OpError err = intent::current_netns(ns)) return err;
        cookie = ns.cookie;
        return {};
      },
      // Decimal text: a cookie is a 64-bit counter, past a double's exact range in principle.
      [](Napi::Env env, uint64_t& cookie) -> Napi::Value { return Napi::String::New(env, std::to_string(cookie)); });
}

}  // namespace iptkit
