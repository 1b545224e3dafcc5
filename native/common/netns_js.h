// The namespace's identity for JavaScript (netns_js.cc).
#pragma once

#include <napi.h>

namespace iptkit {

Napi::Value NetnsCookie(const Napi::CallbackInfo& info);  // (netns) → Promise<decimal string>; "0": none

}  // namespace iptkit
