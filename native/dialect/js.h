// The dialect's functions on the module object (see binding.d.ts).
#pragma once

#include <napi.h>

namespace iptkit {

void register_dialect(Napi::Env env, Napi::Object exports);

}  // namespace iptkit
