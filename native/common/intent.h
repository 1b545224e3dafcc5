// The intent record of a multi-table legacy commit: x_tables replaces one table per
// setsockopt, so a process killed between two replaces would leave some tables new and some
// old. Before the first replace, the commit writes a record (the namespace's identity, and per
// table what it held and what is being written) to /run/iptkit, atomically (a temp file
// renamed; no fsync: the tables it guards do not outlive a crash either); after the last
// replace it removes it. Whoever finds a
// record later (the next iptkit operation on that namespace, `iptkit recover`) finishes or
// rolls back (legacy/recover.h). This file knows files and namespaces, not tables: the record's
// body is bytes the legacy back end writes and reads.
#pragma once

#include <cstdint>
#include <string>

#include "error.h"

namespace iptkit::intent {

// The network namespace the calling thread is in: st_dev/st_ino of /proc/thread-self/ns/net
// (the process's other threads may be elsewhere) and its cookie (SO_NETNS_COOKIE: unique for
// the boot, so a record of a deleted namespace whose inode number came back is told apart;
// 0 where the kernel has none).
struct Netns {
  uint64_t dev = 0, ino = 0, cookie = 0;
};
OpError current_netns(Netns& out);

// The directory: $IPTKIT_INTENT_DIR, else /run/iptkit (made with mode 0700 when missing).
std::string dir();

// The record's path for this namespace and family ("ipv4" / "ipv6").
std::string path(const Netns& ns, const char* family);

// Writes `body` as the record at `path`, atomically (a checksum seals it); not synced, see above.
OpError write(const std::string& path, const std::string& body);

// Reads the record at `path`: found=false when there is none; EBADMSG when it is torn or not
// a record (a valid rename cannot leave one, so this is another program's file).
OpError read(const std::string& path, bool& found, std::string& body);

// Removes it. No record is not an error.
OpError remove(const std::string& path);

// Whether a record exists: one stat, for the check every legacy operation makes.
bool exists(const std::string& path);

// Takes the xtables lock for a recovery that runs outside a commit (a read, `iptkit recover`):
// `path` empty means $XTABLES_LOCKFILE or /run/xtables.lock. If this process already holds it
// (a transaction took it through lockAcquire and now reads), fd stays -1 and that is enough.
OpError lock_for_recovery(const std::string& path, int64_t timeout_ms, int& fd);

// A 64-bit digest, fed in pieces (identities of tables, the record's checksum).
class Digest {
 public:
  void add(const void* data, size_t n);
  void add(const std::string& s) {
    add_u64(s.size());
    add(s.data(), s.size());
  }
  void add_u64(uint64_t v) { add(&v, sizeof v); }
  uint64_t value() const;

 private:
  uint64_t a_ = 0x9E3779B97F4A7C15ull, b_ = 0xC2B2AE3D27D4EB4Full;
  uint64_t len_ = 0;
};

}  // namespace iptkit::intent
