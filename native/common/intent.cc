#include "intent.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "lock.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace iptkit::intent {
namespace {

constexpr char kMagic[] = "iptkit intent 1\n";
constexpr size_t kMagicLen = sizeof kMagic - 1;

OpError sys_error(const char* what, const std::string& path) {
  int err = errno;
  return make_error(err, "intent", std::string(what) + " " + path + ": " + strerror(err));
}

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// The directory, made if missing; O_DIRECTORY|O_NOFOLLOW so that a symlink planted at its name
// is refused rather than followed.
OpError open_dir(int& fd) {
  std::string d = dir();
  if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("cannot make", d);
  fd = open(d.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return sys_error("cannot open", d);
  return {};
}

std::string base(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

}  // namespace

void Digest::add(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  constexpr uint64_t k1 = 0x87C37B91114253D5ull, k2 = 0x4CF5AD432745937Full;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    uint64_t w1, w2;
    memcpy(&w1, p + i, 8);
    memcpy(&w2, p + i + 8, 8);
    a_ = rotl(a_ ^ (w1 * k1), 31) * k2 + b_;
    b_ = rotl(b_ ^ (w2 * k2), 33) * k1 + a_;
  }
  uint64_t tail[2] = {0, 0};
  memcpy(tail, p + i, n - i);
  a_ = rotl(a_ ^ (tail[0] * k1), 31) * k2 + b_;
  b_ = rotl(b_ ^ ((tail[1] + n) * k2), 33) * k1 + a_;
  len_ += n;
}

uint64_t Digest::value() const {
  uint64_t h = a_ ^ rotl(b_, 17) ^ len_;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  return h;
}

OpError current_netns(Netns& out) {
  struct stat st;
  if (stat("/proc/thread-self/ns/net", &st) != 0) return sys_error("cannot stat", "/proc/thread-self/ns/net");
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  out.cookie = 0;
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0 && len == sizeof cookie) out.cookie = cookie;
    close(s);
  }
  return {};
}

std::string dir() {
  const char* d = getenv("IPTKIT_INTENT_DIR");
  return d && *d ? std::string(d) : std::string("/run/iptkit");
}

std::string path(const Netns& ns, const char* family) {
  char name[96];
  snprintf(name, sizeof name, "/netns-%u:%u-%llu.%s.intent", major(ns.dev), minor(ns.dev),
           static_cast<unsigned long long>(ns.ino), family);
  return dir() + name;
}

OpError write(const std::string& path, const std::string& body) {
  int dfd = -1;
  if (OpError err = open_dir(dfd)) return err;
  std::string tmp = "." + base(path) + "." + std::to_string(getpid()) + ".tmp";
  int fd = openat(dfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    OpError err = sys_error("cannot create", dir() + "/" + tmp);
    close(dfd);
    return err;
  }
  Digest d;
  d.add(body.data(), body.size());
  uint64_t sum = d.value(), len = body.size();
  // No fsync: what the record guards lives in kernel memory. A killed process leaves the file
  // in the page cache, where the next process finds it; a crash or power loss that would lose
  // an unsynced file loses the tables and the namespace with it. (Synced, the record cost a
  // publish on a disk-backed /run about a millisecond.)
  bool ok = write_all(fd, kMagic, kMagicLen) && write_all(fd, reinterpret_cast<const char*>(&len), sizeof len) &&
            write_all(fd, body.data(), body.size()) && write_all(fd, reinterpret_cast<const char*>(&sum), sizeof sum);
  OpError err;
  if (!ok) err = sys_error("cannot write", dir() + "/" + tmp);
  close(fd);
  if (!err && renameat(dfd, tmp.c_str(), dfd, base(path).c_str()) != 0) err = sys_error("cannot rename to", path);
  if (err) unlinkat(dfd, tmp.c_str(), 0);
  close(dfd);
  return err;
}

OpError read(const std::string& path, bool& found, std::string& body) {
  found = false;
  body.clear();
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return sys_error("cannot open", path);
  }
  std::string all;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      OpError err = sys_error("cannot read", path);
      close(fd);
      return err;
    }
    if (n == 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  found = true;
  uint64_t len = 0, sum = 0;
  if (all.size() < kMagicLen + 16 || all.compare(0, kMagicLen, kMagic) != 0) {
    return make_error(EBADMSG, "intent", path + " is not an iptkit intent record");
  }
  memcpy(&len, all.data() + kMagicLen, sizeof len);
  if (len != all.size() - kMagicLen - 16) return make_error(EBADMSG, "intent", path + " is torn (length)");
  memcpy(&sum, all.data() + all.size() - 8, sizeof sum);
  body.assign(all, kMagicLen + 8, len);
  Digest d;
  d.add(body.data(), body.size());
  if (d.value() != sum) return make_error(EBADMSG, "intent", path + " is torn (checksum)");
  return {};
}

OpError remove(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("cannot remove", path);
  return {};
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

namespace {

// Whether this process holds a flock on the file `st` names: /proc/locks lists each flock
// with the pid that took it and the file's device and inode.
bool held_by_us(const struct stat& st) {
  FILE* f = fopen("/proc/locks", "re");
  if (!f) return false;
  char line[256];
  bool held = false;
  const long pid = getpid();
  while (fgets(line, sizeof line, f)) {
    char kind[32], mode[32], rw[32];
    long lpid;
    unsigned maj, min;
    unsigned long long ino;
    // "1: FLOCK  ADVISORY  WRITE 1234 00:19:567 0 EOF" (blocked waiters read "1: -> FLOCK …")
    const char* p = strchr(line, ':');
    if (!p) continue;
    if (sscanf(p + 1, " %31s %31s %31s %ld %x:%x:%llu", kind, mode, rw, &lpid, &maj, &min, &ino) != 7) continue;
    if (strcmp(kind, "FLOCK") != 0 || lpid != pid) continue;
    if (makedev(maj, min) == st.st_dev && ino == st.st_ino) {
      held = true;
      break;
    }
  }
  fclose(f);
  return held;
}

}  // namespace

OpError lock_for_recovery(const std::string& given, int64_t timeout_ms, int& fd) {
  fd = -1;
  std::string path = given;
  if (path.empty()) {
    const char* env = getenv("XTABLES_LOCKFILE");
    path = env && *env ? env : "/run/xtables.lock";
  }
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && held_by_us(st)) return {};
  return xtables_lock(path, timeout_ms, 10, fd);
}

}  // namespace iptkit::intent
