// Finding and dealing with an unfinished multi-table commit (backend.h, recover_pending).
#include <unistd.h>

#include <cerrno>

#include "../common/intent.h"
#include "backend.h"

namespace iptkit::legacy {

OpError recover_pending(bool v6, bool lock_held, const std::string& lock_path, int64_t lock_timeout_ms,
                        bool explicit_, Recovery& out) {
  const char* family = v6 ? "ipv6" : "ipv4";
  out = Recovery{};
  out.family = family;
  intent::Netns ns;
  if (OpError err = intent::current_netns(ns)) return err;
  out.path = intent::path(ns, family);
  if (!intent::exists(out.path)) return {};  // the common case: one stat
  int fd = -1;
  if (!lock_held) {
    if (OpError err = intent::lock_for_recovery(lock_path, lock_timeout_ms, fd)) {
      err.message = "an unfinished commit is recorded in " + out.path + " and recovering it needs the xtables lock: " + err.message;
      return err;
    }
  }
  std::string body;
  bool found = false;
  OpError err = intent::read(out.path, found, body);  // again: another process may have recovered it
  if (!err && found) {
    out.found = true;
    err = v6 ? recover_v6(out.path, body, !explicit_, out) : recover_v4(out.path, body, !explicit_, out);
  }
  if (fd >= 0) close(fd);
  return err;
}

}  // namespace iptkit::legacy
