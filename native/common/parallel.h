// Work split over the machine's cores: a few long-lived helper threads beside the calling one.
// A 30,000-rule restore spends a third of its time parsing rule lines, each independent of
// the others once its table is known; on two cores the parse then takes half as long. The
// helpers live as long as the process (like WarmThread), so each keeps a warm malloc arena and
// a piece of work costs no thread start.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace iptkit {

class Pieces {
 public:
  // Helpers run each piece in the network namespace the constructing thread is in: a rule's
  // ipset names resolve in its namespace's kernel. (Offline names, dialect::OfflineNames, are
  // per thread and not carried: pieces are for work against a kernel.)
  Pieces();

  // How many pieces run() cuts n items into, with at least `grain` items a piece (1 or more).
  static size_t count(size_t n, size_t grain);

  // Runs body(piece, begin, end) over [0, n) cut into count(n, grain) contiguous pieces in
  // order, piece 0 on the calling thread and the others on helpers, and returns when every
  // piece has run. A piece whose helper could not enter the namespace runs on the calling
  // thread afterwards, as does one that threw on its helper. `body` must be safe to run
  // concurrently on disjoint ranges, and again on a range it ran part of; it must not call
  // run() itself (a helper waiting on helpers could wait on itself).
  using Body = std::function<void(size_t piece, size_t begin, size_t end)>;
  void run(size_t n, size_t grain, const Body& body) const;

  // How many threads run() uses at most (the calling one included).
  static size_t width();

 private:
  std::string netns_;
};

}  // namespace iptkit
