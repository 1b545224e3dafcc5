#include "worker.h"

namespace iptkit {

std::string arg_string(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

ScratchString arg_text(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() > i && info[i].IsTypedArray()) {
    Napi::TypedArray a = info[i].As<Napi::TypedArray>();
    if (a.TypedArrayType() == napi_uint8_array) {
      Napi::Uint8Array bytes = a.As<Napi::Uint8Array>();
      return ScratchString(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
    }
  }
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string or a Uint8Array");
  }
  // V8 writes the bytes into the scratch string itself: its UTF-8 size first, then the bytes.
  napi_env env = info.Env();
  size_t n = 0;
  if (napi_get_value_string_utf8(env, info[i], nullptr, 0, &n) != napi_ok) throw Napi::Error::New(env, std::string(name) + ": not readable");
  ScratchString s(n, '\0');
  if (napi_get_value_string_utf8(env, info[i], s.data(), n + 1, &n) != napi_ok) throw Napi::Error::New(env, std::string(name) + ": not readable");
  s.resize(n);
  return s;
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

std::vector<std::string> arg_string_array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsArray()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an array of strings");
  }
  Napi::Array a = info[i].As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) {
    Napi::Value v = a.Get(k);
    if (!v.IsString()) throw Napi::TypeError::New(info.Env(), std::string(name) + "[" + std::to_string(k) + "] must be a string");
    out.push_back(v.As<Napi::String>().Utf8Value());
  }
  return out;
}

Napi::Array string_array_js(Napi::Env env, const std::vector<std::string>& strings) {
  Napi::Array a = Napi::Array::New(env, strings.size());
  for (uint32_t i = 0; i < strings.size(); i++) a.Set(i, Napi::String::New(env, strings[i]));
  return a;
}

bool arg_backend_nft(const Napi::CallbackInfo& info, size_t i) {
  std::string backend = arg_string(info, i, "backend");
  if (backend != "legacy" && backend != "nft") throw Napi::TypeError::New(info.Env(), "backend must be 'legacy' or 'nft'");
  return backend == "nft";
}

}  // namespace iptkit
