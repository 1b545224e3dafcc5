// The IPv6 instance of the legacy back end: libip6tc (ip6tc_*) over struct ip6t_entry. The
// header has no extern "C" of its own.
#include <climits>

extern "C" {
#include <libiptc/libip6tc.h>
}

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
  using GetInfo = ip6t_getinfo;
  static constexpr int kSocketFamily = AF_INET6;
  static constexpr int kSockLevel = IPPROTO_IPV6;
  static constexpr int kGetInfo = IP6T_SO_GET_INFO;
  using GetEntries = ip6t_get_entries;
  static constexpr int kGetEntries = IP6T_SO_GET_ENTRIES;

  static ip6t_ip6& ip(Entry& e) { return e.ipv6; }
  static const ip6t_ip6& ip(const Entry& e) { return e.ipv6; }

  static xtc_handle* init(const char* table) { return ip6tc_init(table); }
  static void free(xtc_handle* h) { ip6tc_free(h); }
  static const char* strerror(int err) { return ip6tc_strerror(err); }
  static const char* first_chain(xtc_handle* h) { return ip6tc_first_chain(h); }
  static const char* next_chain(xtc_handle* h) { return ip6tc_next_chain(h); }
  static const Entry* first_rule(const char* c, xtc_handle* h) { return ip6tc_first_rule(c, h); }
  static const Entry* next_rule(const Entry* e, xtc_handle* h) { return ip6tc_next_rule(e, h); }
  static const char* get_target(const Entry* e, xtc_handle* h) { return ip6tc_get_target(e, h); }
  static int builtin(const char* c, xtc_handle* h) { return ip6tc_builtin(c, h); }
  static int is_chain(const char* c, xtc_handle* h) { return ip6tc_is_chain(c, h); }
  static const char* get_policy(const char* c, xt_counters* n, xtc_handle* h) { return ip6tc_get_policy(c, n, h); }
  static int get_references(unsigned* refs, const char* c, xtc_handle* h) { return ip6tc_get_references(refs, c, h); }
  static int insert_entry(const char* c, const Entry* e, unsigned pos, xtc_handle* h) {
    return ip6tc_insert_entry(c, e, pos, h);
  }
  static int append_entry(const char* c, const Entry* e, xtc_handle* h) { return ip6tc_append_entry(c, e, h); }
  static int delete_num_entry(const char* c, unsigned pos, xtc_handle* h) { return ip6tc_delete_num_entry(c, pos, h); }
  static int flush_entries(const char* c, xtc_handle* h) { return ip6tc_flush_entries(c, h); }
  static int create_chain(const char* c, xtc_handle* h) { return ip6tc_create_chain(c, h); }
  static int delete_chain(const char* c, xtc_handle* h) { return ip6tc_delete_chain(c, h); }
  static int set_policy(const char* c, const char* p, xt_counters* n, xtc_handle* h) {
    return ip6tc_set_policy(c, p, n, h);
  }
  static int commit(xtc_handle* h) { return ip6tc_commit(h); }
};

}  // namespace

OpError read_v6(const std::string& table, std::string& wire, std::vector<uint64_t>& counters) {
  return read_table<Ipv6>(table, wire, counters);
}
OpError commit_v6(std::vector<commit::TablePlan>& plans) { return commit_tables<Ipv6>(plans); }
std::unique_ptr<commit::RuleSink> entry_sink_v6() { return EntrySink<Ipv6>::make(); }
OpError fingerprint_v6(const std::string& table, bool& exists, uint64_t& digest) {
  return table_fingerprint<Ipv6>(table, exists, digest);
}
OpError holds_rules_v6(const std::string& table, bool& holds) { return holds_rules<Ipv6>(table, holds); }
OpError recover_v6(const std::string& path, const std::string& body, bool keep_if_left, Recovery& out) {
  return recover_record<Ipv6>(path, body, keep_if_left, out);
}

}  // namespace iptkit::legacy
