// Field helpers shared by the match codecs: port ranges written `LO:HI`, and the 16-byte
// union nf_inet_addr written in the family's inet_ntop form (docs/wire.md).
#pragma once

#include <linux/netfilter.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "codec.h"

namespace iptkit {

// `LO:HI`, both decimal.
void put_range(FieldWriter& out, std::string_view key, uint64_t lo, uint64_t hi);
// Reads `LO:HI` (or a single `N`, meaning N:N); absent keeps lo/hi. False and `err` on a bad
// value or one above `max`.
bool get_range(const Fields& in, std::string_view key, uint64_t max, uint64_t& lo, uint64_t& hi, std::string& err);

bool all_zero(const void* data, size_t len);

// An nf_inet_addr as `key=ADDR`. For IPv4 only the first 4 bytes are the address; iptables
// sometimes fills the other 12 of a mask too (a host address without /N sets all 16 bytes of
// the mask to 0xff), so when they are not zero they follow as `key_tail=HEX` (12 bytes) and
// decode→encode stays byte-identical.
void put_inet_addr(FieldWriter& out, std::string_view key, Family family, const nf_inet_addr& addr);
bool get_inet_addr(const Fields& in, std::string_view key, Family family, nf_inet_addr& addr, std::string& err);

// A field that must be present (encode of a mandatory field).
bool require(const Fields& in, std::string_view key, std::string& err);

}  // namespace iptkit
