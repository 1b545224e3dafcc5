// The xt matches iptables-nft 1.8.9 writes as native expressions instead of compat `match`
// (nft.c add_match: tcp, udp, mark, limit): their xt structs, built in memory so that the
// dialect prints a native match exactly as it prints the kernel's struct on legacy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iptkit {
namespace nft {

enum class NativeKind { kNone, kTcp, kUdp, kMark, kLimit };

// The struct iptables creates before parsing options (tcp/udp: port ranges 0:65535), at the
// XT_ALIGNed size the kernel gives the compat match of that name and revision.
void native_match_init(NativeKind kind, std::string& name, uint8_t& revision, std::vector<uint8_t>& data);
void native_set_ports(NativeKind kind, std::vector<uint8_t>& data, bool source, uint16_t lo, uint16_t hi, bool invert);
void native_set_tcp_flags(std::vector<uint8_t>& data, uint8_t mask, uint8_t cmp, bool invert);
void native_set_limit(std::vector<uint8_t>& data, uint32_t avg, uint32_t burst);

}  // namespace nft
}  // namespace iptkit
