// Enters a network namespace on the calling thread only, and returns to the thread's own
// namespace when the guard goes out of scope. setns(CLONE_NEWNET) is per-thread, so the
// process and its other threads (the event loop among them) are unaffected.
#pragma once

#include <string>

#include "error.h"

namespace iptkit {

class NetnsGuard {
 public:
  // An empty path means: stay in the thread's current namespace.
  explicit NetnsGuard(const std::string& path);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

  // Set when entering failed (the thread is then still in its own namespace).
  const OpError& error() const { return error_; }

 private:
  int original_ = -1;
  OpError error_;
};

}  // namespace iptkit
