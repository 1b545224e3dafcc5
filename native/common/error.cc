#include "error.h"

#include <cerrno>
#include <cstring>

namespace iptkit {

OpError make_error(int err, std::string op, std::string message, std::string table, std::string chain) {
  OpError e;
  e.err = err;
  e.op = std::move(op);
  e.message = std::move(message);
  e.table = std::move(table);
  e.chain = std::move(chain);
  return e;
}

const char* errno_name(int err) {
  // glibc >= 2.32 knows every name; nullptr for numbers it does not.
  return strerrorname_np(err);
}

}  // namespace iptkit
