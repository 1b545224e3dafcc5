// Reading the network interfaces of a namespace over rtnetlink (RTM_GETLINK dump with libmnl),
// so that `iptkit docker doctor` can tell which bridges exist without running `ip`.
#pragma once

#include <napi.h>

namespace iptkit {

// rtnlLinks(netns: string | null): Promise<Array<{ index, name, kind }>>
Napi::Value RtnlLinks(const Napi::CallbackInfo& info);

}  // namespace iptkit
