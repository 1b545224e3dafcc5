// nf_tables' RuleSink (commit/plan.h): each new rule is encoded as soon as it is parsed, into
// the attributes of its NFT_MSG_NEWRULE other than table, chain and position (expressions,
// NFTA_RULE_COMPAT, user data). The batch (commit.cc) writes table, chain and position itself
// and copies these after them. A 300,000-rule commit then holds ~500 bytes a rule until its
// batch is built, not a parsed Rule of ~600, and gives each 8 MiB of them back to the kernel
// as soon as the batch has copied them, so the payloads and the batch (as big) are never
// held whole at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../commit/plan.h"
#include "../dialect/rule.h"

namespace iptkit::nft {

// The attributes above for `rule` (counter at packets/bytes), valid until the next call on
// this thread. False with `why` when nf_tables has no form for the rule.
bool encode_payload(const dialect::Rule& rule, uint64_t packets, uint64_t bytes, Family family, std::string_view& attrs,
                    std::string& why);

class PayloadSink final : public commit::RuleSink {
 public:
  explicit PayloadSink(Family family) : family_(family) {}
  ~PayloadSink() override;
  PayloadSink(const PayloadSink&) = delete;
  PayloadSink& operator=(const PayloadSink&) = delete;

  void reserve(size_t) override {}
  bool take(const dialect::Rule& rule, std::string_view chain, commit::NewRule& nr, std::string& why) override;

  // The attributes of the rule whose NewRule::encoded is `encoded`; each is asked for once,
  // and its memory may be gone after the next call.
  std::string_view use(size_t encoded);

 private:
  struct Chunk {
    char* base = nullptr;
    size_t size = 0, used = 0;
    size_t pending = 0;  // payloads taken and not yet used
  };
  static constexpr size_t kChunk = 8 << 20;
  void unmap(Chunk& c);

  Family family_;
  std::vector<Chunk> chunks_;
  Chunk* last_used_ = nullptr;  // unmapped at the next use() once nothing in it is pending
};

std::unique_ptr<commit::RuleSink> payload_sink_v4();
std::unique_ptr<commit::RuleSink> payload_sink_v6();

}  // namespace iptkit::nft
