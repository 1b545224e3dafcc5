// A commit's plans (commit/plan.h) turned into one nf_tables batch, guarded by the
// generation they were planned against.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../commit/plan.h"
#include "../common/error.h"

namespace iptkit {
namespace nft {

// What a small commit learns of the ruleset it made, from the kernel's own answers: the new
// rules' handles (each NEWRULE sent with NLM_F_ECHO comes back with its handle and its
// request's sequence number) and the generation right after the batch. Enough to know the
// tables as committed without reading them again.
struct CommitEcho {
  bool known = false;  // every new rule echoed and the batch made exactly generation + 1
  uint32_t generation = 0;
  uint64_t netns = 0;  // the namespace's cookie (SO_NETNS_COOKIE)
  std::vector<std::vector<uint64_t>> handles;  // per plan, its new rules' handles in item order
};

// A commit adding at most this many rules asks for their echoes (more would cost a kernel
// serialisation a rule: a read's worth of work).
constexpr size_t kEchoRules = 256;

// Runs in the calling thread's namespace. ERESTART when the ruleset is no longer at `generation`.
// With `echo`, a guarded commit of at most kEchoRules new rules fills it, and records the
// tables as committed for the next commit at the new generation (state_cache.h).
// Keeps given by position (commit::Item::position) are made handles here, in `tables`.
OpError commit_tables(bool v6, uint32_t generation, std::vector<commit::TablePlan>& tables, CommitEcho* echo = nullptr);

}  // namespace nft
}  // namespace iptkit
