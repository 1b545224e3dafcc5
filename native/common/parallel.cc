// Work split over the machine's cores (see parallel.h).
#include "parallel.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "netns.h"

namespace iptkit {
namespace {

// More helpers than this buys nothing for a parse of a few megabytes: the commit after it is
// one system call, and each helper is one more thread in every process that loads the addon.
constexpr size_t kMaxWidth = 4;

struct Piece {
  const Pieces::Body* body;
  size_t index, begin, end;
  const std::string* netns;
  bool ran = false;
};

// What the caller waits on: the count of its pieces still out with helpers.
struct Latch {
  std::mutex m;
  std::condition_variable cv;
  size_t left = 0;
};

// Whether the calling thread is in the namespace at `path`.
bool same_netns(const std::string& path) {
  struct stat a {}, b {};
  return stat(path.c_str(), &a) == 0 && stat("/proc/thread-self/ns/net", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

class Helpers {
 public:
  static Helpers& instance() {
    // Never destroyed: the threads are detached and live as long as the process.
    static Helpers* h = new Helpers(Pieces::width() - 1);
    return *h;
  }

  // How many helpers started (fewer than asked when the process may not make more threads).
  size_t size() const { return started_; }

  void submit(Piece* p, Latch* latch) {
    {
      std::lock_guard<std::mutex> lock(m_);
      queue_.push_back({p, latch});
    }
    cv_.notify_one();
  }

 private:
  explicit Helpers(size_t n) {
    // A thread starts in its creator's namespace, here usually the one a restore entered.
    // Living there, a helper would keep that namespace alive after `ip netns delete`: the
    // helpers are made from the process's own (the main thread's), where they wait. A caller
    // that cannot go there gets none, and its work runs on its own thread.
    const std::string home = "/proc/self/ns/net";
    NetnsGuard at_home(same_netns(home) ? std::string() : home);
    if (at_home.error()) return;
    for (size_t i = 0; i < n; i++) {
      try {
        std::thread([this] { loop(); }).detach();
      } catch (const std::system_error&) {
        break;  // EAGAIN (a pids limit): the work runs on fewer threads
      }
      started_++;
    }
  }

  void loop() {
    for (;;) {
      std::pair<Piece*, Latch*> job;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        job = queue_.front();
        queue_.pop_front();
      }
      Piece& p = *job.first;
      try {
        // Already there (the process's own namespace, say): no setns, which would need
        // CAP_SYS_ADMIN even to stay.
        const bool here = same_netns(*p.netns);
        NetnsGuard ns(here ? std::string() : *p.netns);
        if (!ns.error()) {
          (*p.body)(p.index, p.begin, p.end);
          p.ran = true;
        }
      } catch (...) {
        p.ran = false;  // the caller runs it again, on its own thread, where a throw is its own
      }
      Latch& l = *job.second;
      std::lock_guard<std::mutex> lock(l.m);
      if (--l.left == 0) l.cv.notify_one();
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::pair<Piece*, Latch*>> queue_;
  size_t started_ = 0;
};

}  // namespace

// The calling thread's namespace, by a path any thread of the process can open while the
// calling thread lives (it waits in run() for its helpers).
Pieces::Pieces() : netns_("/proc/self/task/" + std::to_string(gettid()) + "/ns/net") {}

size_t Pieces::width() {
  static const size_t w = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kMaxWidth);
  return w;
}

size_t Pieces::count(size_t n, size_t grain) {
  return std::max<size_t>(1, std::min(width(), n / std::max<size_t>(grain, 1)));
}

void Pieces::run(size_t n, size_t grain, const Body& body) const {
  const size_t k = count(n, grain);
  if (k == 1) {
    body(0, 0, n);
    return;
  }
  std::vector<Piece> pieces(k);
  for (size_t i = 0; i < k; i++) pieces[i] = Piece{&body, i, n * i / k, n * (i + 1) / k, &netns_};
  Latch latch;
  auto wait = [&] {
    std::unique_lock<std::mutex> lock(latch.m);
    latch.cv.wait(lock, [&] { return latch.left == 0; });
  };
  // The helpers hold `pieces`, `latch` and `body` until they are done: whatever throws here,
  // they are waited for first. A piece no helper took runs on this thread below.
  try {
    Helpers& helpers = Helpers::instance();
    for (size_t i = 1; i < k && i <= helpers.size(); i++) {
      {
        std::lock_guard<std::mutex> lock(latch.m);
        latch.left++;
      }
      try {
        helpers.submit(&pieces[i], &latch);
      } catch (...) {
        std::lock_guard<std::mutex> lock(latch.m);
        latch.left--;
        throw;
      }
    }
    body(0, pieces[0].begin, pieces[0].end);
  } catch (...) {
    wait();
    throw;
  }
  wait();
  for (size_t i = 1; i < k; i++) {
    if (!pieces[i].ran) body(i, pieces[i].begin, pieces[i].end);
  }
}

}  // namespace iptkit
