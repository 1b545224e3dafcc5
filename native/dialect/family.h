// The address family of a rule, valued as the kernel's NFPROTO_* (which is also AF_*).
#pragma once

#include <cstdint>

namespace iptkit {

enum class Family : uint8_t { ipv4 = 2 /* NFPROTO_IPV4 */, ipv6 = 10 /* NFPROTO_IPV6 */ };

}  // namespace iptkit
