#include "lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "worker.h"

namespace iptkit {

OpError xtables_lock(const std::string& path, int64_t timeout_ms, int64_t interval_ms, int& fd) {
  if (interval_ms <= 0) interval_ms = 1;
  // Same open flags as iptables' xtables_lock(): created if missing, mode 0600.
  fd = open(path.c_str(), O_CREAT | O_CLOEXEC | O_RDONLY, 0600);
  if (fd < 0) return make_error(errno, "lock", "cannot open xtables lock " + path + ": " + strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return {};
    int err = errno;
    if (err != EWOULDBLOCK && err != EINTR) {
      close(fd);
      fd = -1;
      return make_error(err, "lock", "cannot lock " + path + ": " + strerror(err));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      close(fd);
      fd = -1;
      return make_error(ETIMEDOUT, "lock",
                        "another app is holding the xtables lock " + path + "; gave up after " +
                            std::to_string(timeout_ms) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
}

Napi::Value LockAcquire(const Napi::CallbackInfo& info) {
  std::string path = arg_string(info, 0, "path");
  int64_t timeout_ms = info[1].As<Napi::Number>().Int64Value();
  int64_t interval_ms = info[2].As<Napi::Number>().Int64Value();
  return PromiseWorker<int>::Run(
      info.Env(), [=](int& fd) -> OpError { return xtables_lock(path, timeout_ms, interval_ms, fd); },
      [](Napi::Env env, int& fd) -> Napi::Value { return Napi::Number::New(env, fd); });
}

Napi::Value LockRelease(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  // Closing the descriptor drops the flock; there is nothing to report if it was already gone.
  if (fd >= 0) close(fd);
  return info.Env().Undefined();
}

}  // namespace iptkit
