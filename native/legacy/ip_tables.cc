// The IPv4 instance of the legacy back end (table.h): struct ipt_entry and the IPT_SO_*
// socket options of the kernel's ip_tables.
#include <net/if.h>  // before the kernel's headers, which then leave its names alone
#include <linux/netfilter_ipv4/ip_tables.h>

#include "backend.h"
#include "table.h"

namespace iptkit::legacy {
namespace {

struct Ipv4 {
  using Entry = ipt_entry;
  static constexpr Family family = Family::ipv4;
  static constexpr const char* kFamilyName = "ipv4";
  static constexpr size_t kAddrLen = sizeof(in_addr);
  static constexpr uint8_t kGotoFlag = IPT_F_GOTO;
  static constexpr uint8_t kFragFlag = IPT_F_FRAG;
  static constexpr uint8_t kProtoFlag = 0;
  static constexpr int kSocketFamily = AF_INET;
  static constexpr int kSockLevel = IPPROTO_IP;
  using GetInfo = ipt_getinfo;
  static constexpr int kGetInfo = IPT_SO_GET_INFO;
  using GetEntries = ipt_get_entries;
  static constexpr int kGetEntries = IPT_SO_GET_ENTRIES;
  using Replace = ipt_replace;
  static constexpr int kSetReplace = IPT_SO_SET_REPLACE;
  static constexpr int kSetAddCounters = IPT_SO_SET_ADD_COUNTERS;

  static ipt_ip& ip(Entry& e) { return e.ip; }
  static const ipt_ip& ip(const Entry& e) { return e.ip; }
};

}  // namespace

OpError read_v4(const std::string& table, std::string& wire, std::vector<uint64_t>& counters, uint64_t* digest) {
  return read_table<Ipv4>(table, wire, counters, digest);
}
OpError commit_v4(std::vector<commit::TablePlan>& plans, TableDigests* digests) { return commit_tables<Ipv4>(plans, digests); }
std::unique_ptr<commit::RuleSink> entry_sink_v4() { return EntrySink<Ipv4>::make(); }
OpError fingerprint_v4(const std::string& table, bool& exists, uint64_t& digest) {
  return table_fingerprint<Ipv4>(table, exists, digest);
}
OpError holds_rules_v4(const std::string& table, bool& holds) { return holds_rules<Ipv4>(table, holds); }
OpError recover_v4(const std::string& path, const std::string& body, bool keep_if_left, Recovery& out) {
  return recover_record<Ipv4>(path, body, keep_if_left, out);
}

}  // namespace iptkit::legacy
