// The netfilter netlink socket (libmnl): dump requests with their reply loop, the ruleset
// generation (NFT_MSG_GETGEN), and sending one nf_tables batch with its errors mapped back to
// the sequence numbers of the messages that caused them.
//
// Sockets are kept open between operations, per network namespace, for a second after their
// last use. Closing a netfilter socket runs nf_tables' NETLINK_URELEASE handler, which takes the
// namespace's commit mutex and waits there for the previous commit's deferred cleanup (an RCU
// grace period, 5-15 ms): a commit that follows closely, ours or another writer's, waited behind
// it. Publishing ports one at a time is exactly that pattern.
#pragma once

#include <libmnl/libmnl.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../common/error.h"

namespace iptkit {
namespace nft {

struct BatchError {
  uint32_t seq;
  int err;  // positive errno
};

class NlSocket {
 public:
  NlSocket() = default;
  ~NlSocket();
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;

  // Opens and binds the socket in the calling thread's network namespace, or takes one left
  // idle there by an earlier operation. errno on failure.
  int open();

  // Takes a socket left idle in the namespace whose inode is `netns`, on any thread (a socket
  // stays in the namespace it was opened in); false when none is idle there.
  bool open_idle(uint64_t netns);

  uint32_t next_seq() { return ++seq_; }
  // Marks every sequence number up to `last` as used (by a batch built outside the socket), so
  // that later requests never share a number with a batch message and its error.
  void used_seq(uint32_t last) {
    if (last > seq_) seq_ = last;
  }

  // Sends a dump request of `type` for `family`; `build` may add attributes (a table filter).
  // Calls `on_msg` for each reply; a non-zero return from it stops the dump with that errno.
  // Returns 0, or an errno (EINTR when the kernel flagged the dump inconsistent). A stopped
  // dump's rest is read and dropped, so that the socket can be used again, unless `drain` is
  // false: then the kernel never makes the rest, and the socket must not be used again.
  int dump(uint16_t type, uint16_t family, const std::function<void(nlmsghdr*)>& build,
           const std::function<int(const nlmsghdr*)>& on_msg, bool drain = true);

  // The cookie of the network namespace the socket lives in (never reused by the kernel), or 0
  // when the kernel cannot tell (before Linux 5.14).
  uint64_t netns_cookie();

  // The current ruleset generation.
  int get_gen(uint32_t& gen);

  // Sends a batch (NFNL_MSG_BATCH_BEGIN … END), given as pieces of memory, in one sendmsg (the
  // kernel makes one datagram of them), then collects the kernel's errors for its messages.
  // The kernel handles a batch inside sendmsg, so every error is queued before the GETGEN sent
  // after it; its reply marks the end. `overflowed` is set when errors were lost to a full
  // receive buffer. `on_reply`, if given, sees every other message the kernel sends back before
  // that end: the echoes of messages sent with NLM_F_ECHO, and the GETGEN's own reply.
  int send_batch(const std::vector<iovec>& batch, std::vector<BatchError>& errors, bool& overflowed,
                 const std::function<void(const nlmsghdr*, uint32_t marker)>* on_reply = nullptr);

 private:
  // Whether `buf` holds the end (NLMSG_DONE or an error) of the dump numbered `seq`.
  static bool dump_ended(uint32_t seq, const char* buf, size_t len);
  // Reads and drops what is left of the dump numbered `seq`.
  void drain(uint32_t seq);

  int set_sndbuf(size_t bytes);
  // Records a failed exchange: the socket may hold half an answer and is not kept for reuse.
  int failed(int err) {
    if (err) reusable_ = false;
    return err;
  }

  mnl_socket* nl_ = nullptr;
  bool reusable_ = true;
  uint64_t netns_ = 0;  // the inode of the namespace it was opened in, the idle pool's key
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
  std::unique_ptr<char[]> rx_;  // kRecvBuffer bytes, not zeroed: only what recv wrote is read
};

}  // namespace nft
}  // namespace iptkit
