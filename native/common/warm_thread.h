// One long-lived native thread for the big jobs (a restore of tens of thousands of rules).
// glibc gives each thread its own malloc arena: run on whichever of libuv's pool threads is
// free, each large job would find a cold arena and pay a page fault for every fresh page of
// its megabytes of steps, plans and entries (on a VM, faults are most of a large restore's
// time). On one thread the same arena serves every job, and its pages stay mapped.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace iptkit {

class WarmThread {
 public:
  // Runs `job` on the warm thread and waits for it (called from a pool thread). What the job
  // throws (std::bad_alloc) is thrown here, on the caller's thread, whose worker turns it
  // into the promise's rejection: thrown on the warm thread, it would end the process.
  static void run(const std::function<void()>& job) {
    WarmThread& w = instance();
    std::mutex done_m;
    std::condition_variable done_cv;
    bool done = false;
    std::exception_ptr failed;
    {
      std::lock_guard<std::mutex> lock(w.m_);
      w.jobs_.push_back([&] {
        try {
          job();
        } catch (...) {
          failed = std::current_exception();
        }
        std::lock_guard<std::mutex> l(done_m);
        done = true;
        done_cv.notify_one();
      });
    }
    w.cv_.notify_one();
    {
      std::unique_lock<std::mutex> l(done_m);
      done_cv.wait(l, [&] { return done; });
    }
    if (failed) std::rethrow_exception(failed);
  }

 private:
  static WarmThread& instance() {
    // Never destroyed: the thread is detached and lives as long as the process.
    static WarmThread* w = new WarmThread();
    return *w;
  }
  WarmThread() {
    std::thread([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock<std::mutex> lock(m_);
          cv_.wait(lock, [this] { return !jobs_.empty(); });
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
        job();
      }
    }).detach();
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
};

}  // namespace iptkit
