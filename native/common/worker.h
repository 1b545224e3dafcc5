// A Promise-returning AsyncWorker: `work` runs on the libuv pool (off the event loop) and
// fills an OpError or a result; `done` builds the JS value on the main thread.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "error.h"
#include "scratch.h"

namespace iptkit {
// The OpError as a JS Error: code (EPERM, …), errno, op, table, chain (error_js.cc).
Napi::Error to_js_error(Napi::Env env, const OpError& e);
}  // namespace iptkit

namespace iptkit {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<OpError(Result&)>;
  using Done = std::function<Napi::Value(Napi::Env, Result&)>;

  // `external`: about how many bytes of native memory the work will hold, told to V8 as
  // external memory until it is done (napi_adjust_external_memory). V8 weighs it in deciding
  // when to collect: a big commit then starts a collection of the JavaScript heap's garbage
  // while it works, before its own peak, rather than some time after.
  static Napi::Promise Run(Napi::Env env, Work work, Done done, int64_t external = 0) {
    auto* w = new PromiseWorker(env, std::move(work), std::move(done));
    auto promise = w->deferred_.Promise();
    if (external > 0) {
      int64_t total = 0;
      if (napi_adjust_external_memory(env, external, &total) == napi_ok) w->external_ = external;
    }
    w->Queue();
    return promise;
  }

 protected:
  void Execute() override { error_ = work_(result_); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    forget_external();
    if (error_) {
      deferred_.Reject(to_js_error(env, error_).Value());
    } else {
      deferred_.Resolve(done_(env, result_));
    }
  }
  void OnError(const Napi::Error& e) override {
    forget_external();
    Napi::AsyncWorker::OnError(e);
  }

 private:
  PromiseWorker(Napi::Env env, Work work, Done done)
      : Napi::AsyncWorker(env, "iptkit"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), done_(std::move(done)) {}

  void forget_external() {
    if (external_ <= 0) return;
    int64_t total = 0;
    napi_adjust_external_memory(Env(), -external_, &total);
    external_ = 0;
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  Result result_{};
  OpError error_;
  int64_t external_ = 0;
};

// Argument helpers: a JS TypeError names the argument (JS validates first; these are a net).
std::string arg_string(const Napi::CallbackInfo& info, size_t i, const char* name);
// Text given as a string or as its bytes (a Uint8Array, e.g. a Buffer read from a file: no
// UTF-8 decoding in JavaScript and encoding again here).
ScratchString arg_text(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string arg_netns(const Napi::CallbackInfo& info, size_t i);  // null/undefined → ""
bool arg_family_v6(const Napi::CallbackInfo& info, size_t i);     // 'ipv4' | 'ipv6'
bool arg_backend_nft(const Napi::CallbackInfo& info, size_t i);   // 'legacy' | 'nft' → nft?
std::vector<std::string> arg_string_array(const Napi::CallbackInfo& info, size_t i, const char* name);
// Its way back: strings as a JS array (table names, for one).
Napi::Array string_array_js(Napi::Env env, const std::vector<std::string>& strings);

}  // namespace iptkit
