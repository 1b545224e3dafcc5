// The IPv6 instance of the legacy back end (table.h): struct ip6t_entry and the IP6T_SO_*
// socket options of the kernel's ip6_tables.
#include <net/if.h>  // before the kernel's headers, which then leave its names alone
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "backend.h"
#include "table.h"

namespace iptkit::legacy {
namespace {

struct Ipv6 {
  using Entry = ip6t_entry;
  static constexpr Family family = Family::ipv6;
  static constexpr const char* kFamilyName = "ipv6";
  static constexpr size_t kAddrLen = sizeof(in6_addr);
  static constexpr uint8_t kGotoFlag = IP6T_F_GOTO;
  static constexpr uint8_t kFragFlag = 0;
  static constexpr uint8_t kProtoFlag = IP6T_F_PROTO;
  static constexpr int kSocketFamily = AF_INET6;
  static constexpr int kSockLevel = IPPROTO_IPV6;
  using GetInfo = ip6t_getinfo;
  static constexpr int kGetInfo = IP6T_SO_GET_INFO;
  using GetEntries = ip6t_get_entries;
  static constexpr int kGetEntries = IP6T_SO_GET_ENTRIES;
  using Replace = ip6t_replace;
  static constexpr int kSetReplace = IP6T_SO_SET_REPLACE;
  static constexpr int kSetAddCounters = IP6T_SO_SET_ADD_COUNTERS;

  static ip6t_ip6& ip(Entry& e) { return e.ipv6; }
  static const ip6t_ip6& ip(const Entry& e) { return e.ipv6; }
};

}  // namespace

OpError read_v6(const std::string& table, std::string& wire, std::vector<uint64_t>& counters, uint64_t* digest) {
  return read_table<Ipv6>(table, wire, counters, digest);
}
OpError commit_v6(std::vector<commit::TablePlan>& plans, TableDigests* digests) { return commit_tables<Ipv6>(plans, digests); }
std::unique_ptr<commit::RuleSink> entry_sink_v6() { return EntrySink<Ipv6>::make(); }
OpError fingerprint_v6(const std::string& table, bool& exists, uint64_t& digest) {
  return table_fingerprint<Ipv6>(table, exists, digest);
}
OpError holds_rules_v6(const std::string& table, bool& holds) { return holds_rules<Ipv6>(table, holds); }
OpError recover_v6(const std::string& path, const std::string& body, bool keep_if_left, Recovery& out) {
  return recover_record<Ipv6>(path, body, keep_if_left, out);
}

}  // namespace iptkit::legacy
