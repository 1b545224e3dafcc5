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

// Runs in the calling thread's namespace. ERESTART when the ruleset is no longer at `generation`.
OpError commit_tables(bool v6, uint32_t generation, const std::vector<commit::TablePlan>& tables);

}  // namespace nft
}  // namespace iptkit
