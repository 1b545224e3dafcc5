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

namespace {

// Where a NEWRULE message's attributes begin.
char* attributes(nlmsghdr* nlh) { return static_cast<char*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg))); }

}  // namespace

bool encode_payload(const dialect::Rule& rule, uint64_t packets, uint64_t bytes, Family family, std::string_view& attrs,
                    std::string& why) {
  // libmnl leaves attribute padding as it finds it: the message is built in zeroed memory.
  thread_local std::vector<char> scratch;
  scratch.assign(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg)) + encoded_size_bound(rule), 0);
  const uint16_t nfproto = family == Family::ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(scratch.data(), NFT_MSG_NEWRULE, nfproto, 0, 0);
  if (!encode_rule(rule, packets, bytes, family, nlh, why)) return false;
  const char* start = attributes(nlh);
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

bool PayloadSink::take(const dialect::Rule& rule, std::string_view table, std::string_view chain, commit::NewRule& nr,
                       std::string& why) {
  std::string_view attrs;
  if (!encode_payload(rule, nr.packets, nr.bytes, family_, attrs, why)) return false;
  // As the batch would write it: appended to its chain, table and chain first (the order of
  // nftnl_rule_nlmsg_build_payload), the sequence number set when the batch is made.
  const size_t need = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg)) + MNL_ATTR_HDRLEN + MNL_ALIGN(table.size() + 1) +
                      MNL_ATTR_HDRLEN + MNL_ALIGN(chain.size() + 1) + MNL_ALIGN(attrs.size());
  if (chunks_.empty() || chunks_.back().used + need > chunks_.back().size) {
    // Mapped, not malloc'd: zeroed, and given back whole once used (malloc keeps freed
    // blocks below its mmap threshold for reuse, where the batch, one block, could not).
    const size_t size = need > kChunk ? need : kChunk;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    chunks_.push_back(Chunk{static_cast<char*>(p), size, 0, 0});
  }
  Chunk& c = chunks_.back();
  const uint16_t nfproto = family_ == Family::ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(c.base + c.used, NFT_MSG_NEWRULE, nfproto, NLM_F_CREATE | NLM_F_APPEND, 0);
  mnl_attr_put(nlh, NFTA_RULE_TABLE, table.size() + 1, std::string(table).c_str());
  mnl_attr_put(nlh, NFTA_RULE_CHAIN, chain.size() + 1, std::string(chain).c_str());
  std::memcpy(mnl_nlmsg_get_payload_tail(nlh), attrs.data(), attrs.size());
  nlh->nlmsg_len += static_cast<uint32_t>(MNL_ALIGN(attrs.size()));
  nr.encoded = ((chunks_.size() - 1) << 32) | c.used;
  c.used += nlh->nlmsg_len;
  c.pending++;
  taken_++;
  return true;
}

nlmsghdr* PayloadSink::message(size_t encoded) const {
  const Chunk& c = chunks_.at(encoded >> 32);
  return c.base ? reinterpret_cast<nlmsghdr*>(c.base + (encoded & 0xffffffffu)) : nullptr;
}

std::string_view PayloadSink::use(size_t encoded) {
  if (last_used_ && last_used_->pending == 0) unmap(*last_used_);
  Chunk& c = chunks_.at(encoded >> 32);
  if (!c.base) return {};  // used twice: the caller reports it
  auto* nlh = reinterpret_cast<nlmsghdr*>(c.base + (encoded & 0xffffffffu));
  // Past table and chain, the first two attributes.
  auto* a = reinterpret_cast<nlattr*>(attributes(nlh));
  a = mnl_attr_next(mnl_attr_next(a));
  const char* end = reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len;
  c.pending--;
  last_used_ = &c;
  return std::string_view(reinterpret_cast<const char*>(a), static_cast<size_t>(end - reinterpret_cast<const char*>(a)));
}

std::unique_ptr<commit::RuleSink> payload_sink_v4() { return std::make_unique<PayloadSink>(Family::ipv4); }
std::unique_ptr<commit::RuleSink> payload_sink_v6() { return std::make_unique<PayloadSink>(Family::ipv6); }

}  // namespace iptkit::nft
