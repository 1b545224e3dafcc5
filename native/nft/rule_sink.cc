#include "rule_sink.h"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/mman.h>

#include <cstring>
#include <new>

#include "handles.h"
#include "rule_encode.h"

namespace iptkit::nft {

bool encode_payload(const dialect::Rule& rule, uint64_t packets, uint64_t bytes, Family family, std::string_view& attrs,
                    std::string& why) {
  RulePtr r(nftnl_rule_alloc());
  if (!r) throw std::bad_alloc();
  if (!encode_rule(rule, packets, bytes, family, r.get(), why)) return false;
  // libmnl leaves attribute padding as it finds it: the message is built in zeroed memory.
  thread_local std::vector<char> scratch;
  scratch.assign(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg)) + encoded_size_bound(rule), 0);
  const uint16_t nfproto = family == Family::ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(scratch.data(), NFT_MSG_NEWRULE, nfproto, 0, 0);
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  const char* start = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
  attrs = std::string_view(start, static_cast<size_t>(reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len - start));
  return true;
}

PayloadSink::~PayloadSink() {
  for (Chunk& c : chunks_) unmap(c);
}

void PayloadSink::unmap(Chunk& c) {
  if (c.base) munmap(c.base, c.size);
  c.base = nullptr;
}

bool PayloadSink::take(const dialect::Rule& rule, std::string_view, commit::NewRule& nr, std::string& why) {
  std::string_view attrs;
  if (!encode_payload(rule, nr.packets, nr.bytes, family_, attrs, why)) return false;
  const size_t need = sizeof(uint32_t) + attrs.size();
  if (chunks_.empty() || chunks_.back().used + need > chunks_.back().size) {
    // Mapped, not malloc'd: given back whole once used (malloc keeps freed blocks below its
    // mmap threshold for reuse, where the batch, one block, could not use them).
    const size_t size = need > kChunk ? need : kChunk;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    chunks_.push_back(Chunk{static_cast<char*>(p), size, 0, 0});
  }
  Chunk& c = chunks_.back();
  const uint32_t len = static_cast<uint32_t>(attrs.size());
  std::memcpy(c.base + c.used, &len, sizeof len);
  std::memcpy(c.base + c.used + sizeof len, attrs.data(), attrs.size());
  nr.encoded = ((chunks_.size() - 1) << 32) | c.used;
  c.used += need;
  c.pending++;
  return true;
}

std::string_view PayloadSink::use(size_t encoded) {
  if (last_used_ && last_used_->pending == 0) unmap(*last_used_);
  Chunk& c = chunks_.at(encoded >> 32);
  if (!c.base) return {};  // used twice: the caller reports it
  const char* p = c.base + (encoded & 0xffffffffu);
  uint32_t len = 0;
  std::memcpy(&len, p, sizeof len);
  c.pending--;
  last_used_ = &c;
  return std::string_view(p + sizeof len, len);
}

std::unique_ptr<commit::RuleSink> payload_sink_v4() { return std::make_unique<PayloadSink>(Family::ipv4); }
std::unique_ptr<commit::RuleSink> payload_sink_v6() { return std::make_unique<PayloadSink>(Family::ipv6); }

}  // namespace iptkit::nft
