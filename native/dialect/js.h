// The dialect's functions on the module object (see src/native-binding.ts).
#pragma once

#include <napi.h>

namespace iptkit {

void register_dialect(Napi::Env env, Napi::Object exports);

namespace dialect {
struct ParseError;
}
// Throws the ParseError as a JS Error with code 'EPARSE' and line/token/expected where known.
[[noreturn]] void throw_parse(Napi::Env env, const dialect::ParseError& err);

}  // namespace iptkit
