#include "socket.h"

#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "handles.h"

namespace iptkit {
namespace nft {

namespace {

// Large enough for any single skb a dump sends; a truncated datagram would lose messages.
constexpr size_t kRecvBuffer = 1 << 20;
// Kernel-side receive queue: room for a flood of errors when a large batch fails.
constexpr int kRcvBuf = 8 << 20;

struct DumpCtx {
  const std::function<int(const nlmsghdr*)>* on_msg;
  int err = 0;
};

// No C++ exception may unwind through libmnl: everything is caught here.
int dump_cb(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<DumpCtx*>(data);
  try {
    int err = (*ctx->on_msg)(nlh);
    if (err != 0) {
      ctx->err = err;
      return MNL_CB_ERROR;
    }
    return MNL_CB_OK;
  } catch (...) {
    ctx->err = ENOMEM;
    return MNL_CB_ERROR;
  }
}

// Idle sockets, each with the namespace it lives in. An idle socket holds its namespace alive,
// so none is kept longer than kIdle: a namespace deleted by its owner goes soon after.
class IdlePool {
 public:
  static IdlePool& instance() {
    static IdlePool* pool = new IdlePool();  // never destroyed: a detached thread may use it
    return *pool;
  }

  struct Entry {
    mnl_socket* nl;
    uint32_t portid;
    uint32_t seq;
    std::unique_ptr<char[]> rx;
    uint64_t netns;
    std::chrono::steady_clock::time_point since;
  };

  bool take(uint64_t netns, Entry& out) {
    std::lock_guard<std::mutex> lock(m_);
    for (size_t i = idle_.size(); i-- > 0;) {
      if (idle_[i].netns != netns) continue;
      out = std::move(idle_[i]);
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
    return false;
  }

  void put(Entry e) {
    std::vector<mnl_socket*> surplus;
    {
      std::lock_guard<std::mutex> lock(m_);
      e.since = std::chrono::steady_clock::now();
      idle_.push_back(std::move(e));
      // A few per namespace serve any number of operations (each holds one at a time).
      size_t same = 0;
      for (size_t i = idle_.size(); i-- > 0;) {
        if (idle_[i].netns != idle_.back().netns || ++same <= kPerNetns) continue;
        surplus.push_back(idle_[i].nl);
        idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
      }
      if (!reaper_) {
        reaper_ = true;
        try {
          std::thread([this] { reap(); }).detach();
        } catch (...) {
          reaper_ = false;
        }
      }
    }
    for (mnl_socket* nl : surplus) close_later(nl);
  }

  // Closes a socket off the caller's thread: the close may wait out a grace period.
  static void close_later(mnl_socket* nl) {
    try {
      std::thread([nl] { mnl_socket_close(nl); }).detach();
    } catch (...) {
      mnl_socket_close(nl);
    }
  }

 private:
  static constexpr auto kIdle = std::chrono::seconds(1);
  static constexpr size_t kPerNetns = 4;

  // Closes sockets idle for kIdle; ends when none is left (put starts it again).
  void reap() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      cv_.wait_for(lock, kIdle);
      auto now = std::chrono::steady_clock::now();
      std::vector<mnl_socket*> old;
      for (size_t i = idle_.size(); i-- > 0;) {
        if (now - idle_[i].since < kIdle) continue;
        old.push_back(idle_[i].nl);
        idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
      }
      const bool done = idle_.empty();
      if (done) reaper_ = false;
      lock.unlock();
      for (mnl_socket* nl : old) mnl_socket_close(nl);
      if (done) return;
      lock.lock();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::vector<Entry> idle_;
  bool reaper_ = false;
};

// The inode of the calling thread's network namespace (unique while the namespace lives), or 0.
uint64_t thread_netns() {
  struct stat st {};
  if (stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

// Whether the kernel has queued anything more for the socket (then it is not reused).
bool has_pending(mnl_socket* nl) {
  char c;
  ssize_t n = recv(mnl_socket_get_fd(nl), &c, 1, MSG_DONTWAIT | MSG_PEEK);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

}  // namespace

NlSocket::~NlSocket() {
  if (!nl_) return;
  mnl_socket* nl = nl_;
  nl_ = nullptr;
  if (reusable_ && netns_ != 0 && !has_pending(nl)) {
    try {
      IdlePool::instance().put({nl, portid_, seq_, std::move(rx_), netns_, {}});
      return;
    } catch (...) {
    }
  }
  IdlePool::close_later(nl);
}

bool NlSocket::open_idle(uint64_t netns) {
  IdlePool::Entry idle;
  if (nl_ || netns == 0 || !IdlePool::instance().take(netns, idle)) return false;
  netns_ = netns;
  nl_ = idle.nl;
  portid_ = idle.portid;
  seq_ = idle.seq;
  rx_ = std::move(idle.rx);
  return true;
}

int NlSocket::open() {
  const uint64_t netns = thread_netns();
  if (open_idle(netns)) return 0;
  netns_ = netns;
  nl_ = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (!nl_) return errno;
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) return failed(errno);
  portid_ = mnl_socket_get_portid(nl_);
  // Error messages carry only the header of the message they answer, not all of it: a failed
  // 30,000-rule batch would otherwise echo every rule back.
  int one = 1;
  mnl_socket_setsockopt(nl_, NETLINK_CAP_ACK, &one, sizeof one);
  int fd = mnl_socket_get_fd(nl_);
  int rcv = kRcvBuf;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  rx_.reset(new char[kRecvBuffer]);
  seq_ = static_cast<uint32_t>(time(nullptr));
  return 0;
}

int NlSocket::set_sndbuf(size_t bytes) {
  int fd = mnl_socket_get_fd(nl_);
  int cur = 0;
  socklen_t sl = sizeof cur;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &sl);
  // The kernel refuses a netlink datagram larger than the send buffer (EMSGSIZE), and a batch
  // must be one datagram: grow the buffer to hold it.
  if (static_cast<size_t>(cur) >= bytes + 4096) return 0;
  int want = static_cast<int>(bytes + 65536);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want) == 0) return 0;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want) == 0) return 0;
  return errno;
}

int NlSocket::dump(uint16_t type, uint16_t family, const std::function<void(nlmsghdr*)>& build,
                   const std::function<int(const nlmsghdr*)>& on_msg, bool drain_rest) {
  char req[MNL_SOCKET_BUFFER_SIZE];
  uint32_t seq = next_seq();
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req, type, family, NLM_F_DUMP, seq);
  if (build) build(nlh);
  // Undrained, the rest of the dump stays queued: this socket is never used again.
  if (!drain_rest) reusable_ = false;
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return failed(errno);
  DumpCtx ctx{&on_msg};
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, rx_.get(), kRecvBuffer);
    if (n < 0) return failed(errno);
    int ret = mnl_cb_run(rx_.get(), static_cast<size_t>(n), seq, portid_, dump_cb, &ctx);
    if (ret == MNL_CB_STOP) return 0;
    if (ret < 0) {
      int err = ctx.err ? ctx.err : (errno ? errno : EIO);
      // The caller may go on using this socket (a read retries an interrupted dump): the rest
      // of this dump must not be left queued, or the next request reads it as its answer.
      if (drain_rest && !dump_ended(seq, rx_.get(), static_cast<size_t>(n))) drain(seq);
      return failed(err);
    }
  }
}

bool NlSocket::dump_ended(uint32_t seq, const char* buf, size_t len) {
  int left = static_cast<int>(len);
  for (auto* m = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left)) {
    if (m->nlmsg_seq == seq && (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR)) return true;
  }
  return false;
}

void NlSocket::drain(uint32_t seq) {
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, rx_.get(), kRecvBuffer);
    if (n < 0) {
      if (errno == ENOBUFS) continue;
      return;
    }
    if (dump_ended(seq, rx_.get(), static_cast<size_t>(n))) return;
  }
}

uint64_t NlSocket::netns_cookie() {
#ifdef SO_NETNS_COOKIE
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(mnl_socket_get_fd(nl_), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) == 0 && len == sizeof cookie) {
    return cookie;
  }
#endif
  return 0;
}

int NlSocket::get_gen(uint32_t& gen) {
  char req[MNL_SOCKET_BUFFER_SIZE];
  uint32_t seq = next_seq();
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, seq);
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return failed(errno);
  bool have = false;
  std::function<int(const nlmsghdr*)> on_msg = [&](const nlmsghdr* m) -> int {
    GenPtr g(nftnl_gen_alloc());
    if (!g) return ENOMEM;
    if (nftnl_gen_nlmsg_parse(m, g.get()) < 0) return EPROTO;
    gen = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
    have = true;
    return 0;
  };
  DumpCtx ctx{&on_msg};
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, rx_.get(), kRecvBuffer);
    if (n < 0) return failed(errno);
    // The ack (an error message with code 0) ends the exchange: mnl_cb_run gives STOP for it.
    int ret = mnl_cb_run(rx_.get(), static_cast<size_t>(n), seq, portid_, dump_cb, &ctx);
    if (ret == MNL_CB_STOP) return have ? 0 : failed(EPROTO);
    if (ret < 0) return failed(ctx.err ? ctx.err : (errno ? errno : EIO));
  }
}

int NlSocket::send_batch(const std::vector<iovec>& batch, std::vector<BatchError>& errors, bool& overflowed,
                         const std::function<void(const nlmsghdr*, uint32_t marker)>* on_reply) {
  overflowed = false;
  size_t len = 0;
  for (const iovec& v : batch) len += v.iov_len;
  if (int err = set_sndbuf(len)) return failed(err);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = const_cast<iovec*>(batch.data());
  msg.msg_iovlen = batch.size();
  ssize_t sent = sendmsg(mnl_socket_get_fd(nl_), &msg, 0);
  if (sent < 0) return failed(errno);
  if (static_cast<size_t>(sent) != len) return failed(EMSGSIZE);

  // A request after the batch: its answer can only come after every error of the batch.
  char req[MNL_SOCKET_BUFFER_SIZE];
  uint32_t marker = next_seq();
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, marker);
  if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) return failed(errno);

  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl_, rx_.get(), kRecvBuffer);
    if (n < 0) {
      if (errno == ENOBUFS) {
        overflowed = true;
        reusable_ = false;
        continue;
      }
      return failed(errno);
    }
    int left = static_cast<int>(n);
    for (auto* m = reinterpret_cast<const nlmsghdr*>(rx_.get()); mnl_nlmsg_ok(m, left);
         m = mnl_nlmsg_next(m, &left)) {
      if (m->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
        if (m->nlmsg_seq == marker) return 0;  // the ack of the GETGEN marker
        if (e->error != 0) errors.push_back({e->msg.nlmsg_seq, -e->error});
      } else if (on_reply) {
        (*on_reply)(m, marker);
      }
    }
  }
}

}  // namespace nft
}  // namespace iptkit
