// OpError as the JS Error a rejected promise carries (code, errno, op, table, chain).
#include <napi.h>

#include "error.h"

namespace iptkit {

Napi::Error to_js_error(Napi::Env env, const OpError& e) {
  const char* name = errno_name(e.err);
  std::string code = name ? name : "E" + std::to_string(e.err);
  std::string msg = e.message;
  if (msg.empty()) {
    msg = e.op;
    if (!e.table.empty()) msg += " table " + e.table;
    if (!e.chain.empty()) msg += " chain " + e.chain;
    msg += ": " + std::string(strerror(e.err));
  }
  msg += " (" + code + ")";
  Napi::Error js = Napi::Error::New(env, msg);
  js.Set("code", Napi::String::New(env, code));
  js.Set("errno", Napi::Number::New(env, e.err));
  js.Set("op", Napi::String::New(env, e.op));
  if (!e.table.empty()) js.Set("table", Napi::String::New(env, e.table));
  if (!e.chain.empty()) js.Set("chain", Napi::String::New(env, e.chain));
  return js;
}

}  // namespace iptkit
