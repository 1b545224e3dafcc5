#include "worker.h"

namespace iptkit {

std::string arg_string(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

std::string arg_netns(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return {};
  return arg_string(info, i, "netns");
}

bool arg_family_v6(const Napi::CallbackInfo& info, size_t i) {
  std::string f = arg_string(info, i, "family");
  if (f == "ipv4") return false;
  if (f == "ipv6") return true;
  throw Napi::RangeError::New(info.Env(), "family must be 'ipv4' or 'ipv6', got '" + f + "'");
}

}  // namespace iptkit
