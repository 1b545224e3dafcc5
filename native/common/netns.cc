#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace iptkit {

NetnsGuard::NetnsGuard(const std::string& path) {
  if (path.empty()) return;
  original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_ < 0) {
    error_ = make_error(errno, "setns", "cannot open this thread's network namespace: " + std::string(strerror(errno)));
    return;
  }
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int err = errno;
    error_ = make_error(err, "setns", "cannot open network namespace " + path + ": " + strerror(err));
    close(original_);
    original_ = -1;
    return;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    int err = errno;
    error_ = make_error(err, "setns", "cannot enter network namespace " + path + ": " + strerror(err));
    close(original_);
    original_ = -1;
  }
  close(target);
}

NetnsGuard::~NetnsGuard() {
  if (original_ < 0) return;
  // A pool thread left in a foreign namespace would silently misdirect later work: if the
  // way back fails there is no safe way to continue.
  if (setns(original_, CLONE_NEWNET) != 0) abort();
  close(original_);
}

}  // namespace iptkit
