// nf_tables' RuleSink (commit/plan.h): each new rule is encoded as soon as it is parsed, into
// the whole NFT_MSG_NEWRULE that appends it to its chain (table, chain, expressions,
// NFTA_RULE_COMPAT, user data), written back to back in 8 MiB mappings. When the commit sends
// every rule of the table that way (a new table, new rules at the ends of chains: a Docker
// apply), the batch sends the mappings themselves (iovecs, one per run of messages that are
// sent in the order they were taken) after giving each message its sequence number: 300,000 rules are then ~500 bytes each, once, where
// they were a parsed Rule of ~600 and then a batch copy. Otherwise the batch copies each
// message's attributes after a position it writes, and each mapping goes back to the kernel
// as soon as the batch has copied all of its messages.
#pragma once

#include <sys/uio.h>

#include <linux/netlink.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../commit/plan.h"
#include "../dialect/rule.h"

namespace iptkit::nft {

// The attributes of `rule`'s NFT_MSG_NEWRULE but table, chain and position (counter at
// packets/bytes), valid until the next call on this thread. False with `why` when nf_tables
// has no form for the rule.
bool encode_payload(const dialect::Rule& rule, uint64_t packets, uint64_t bytes, Family family, std::string_view& attrs,
                    std::string& why);

class PayloadSink final : public commit::RuleSink {
 public:
  explicit PayloadSink(Family family) : family_(family) {}
  ~PayloadSink() override;
  PayloadSink(const PayloadSink&) = delete;
  PayloadSink& operator=(const PayloadSink&) = delete;

  void reserve(size_t) override {}
  bool take(const dialect::Rule& rule, std::string_view table, std::string_view chain, commit::NewRule& nr,
            std::string& why) override;

  size_t taken() const { return taken_; }
  // The message of the rule whose NewRule::encoded is `encoded` (its sequence number is the
  // caller's to set), while the mappings are all there.
  nlmsghdr* message(size_t encoded) const;
  // The attributes after table and chain of that message; each is asked for once, and its
  // mapping may be gone after the next call.
  std::string_view use(size_t encoded);

 private:
  struct Chunk {
    char* base = nullptr;
    size_t size = 0, used = 0;
    size_t pending = 0;  // messages taken and not yet used
  };
  static constexpr size_t kChunk = 8 << 20;
  void unmap(Chunk& c);

  Family family_;
  std::vector<Chunk> chunks_;
  size_t taken_ = 0;
  Chunk* last_used_ = nullptr;  // unmapped at the next use() once nothing in it is pending
};

std::unique_ptr<commit::RuleSink> payload_sink_v4();
std::unique_ptr<commit::RuleSink> payload_sink_v6();

}  // namespace iptkit::nft
