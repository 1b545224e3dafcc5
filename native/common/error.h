// A kernel or system failure, captured on the worker thread with its errno and context, and
// turned into a JS Error (code, errno, op, table, chain) on the main thread (worker.h). No
// Node here: the fuzz target links it.
#pragma once

#include <string>

namespace iptkit {

struct OpError {
  int err = 0;           // errno; 0 means no error
  std::string op;        // 'read', 'commit', 'setns', 'lock', …
  std::string table;
  std::string chain;
  std::string message;   // the full human message; built from the parts when empty

  explicit operator bool() const { return err != 0; }
};

OpError make_error(int err, std::string op, std::string message, std::string table = {}, std::string chain = {});

// The errno's symbolic name: "EPERM", "ENOENT", … ("E123" for ones it does not know).
const char* errno_name(int err);

}  // namespace iptkit
