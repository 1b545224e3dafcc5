// The commit wire of docs/wire.md ("Commit"), parsed into the plan both back ends take. One
// parser for both: every record's checks that do not depend on the kernel live here; the
// back ends check the rest against the table they find.
#pragma once

#include <string_view>

#include "../common/error.h"
#include "../dialect/family.h"
#include "plan.h"

namespace iptkit::commit {

// EINVAL naming the table, the wire line and the chain when the wire is malformed or a rule
// does not parse. New rules are parsed into out.owned (opaque markers iptkit printed itself
// are read back to their bytes).
OpError parse_wire(std::string_view text, Family family, TablePlan& out);

}  // namespace iptkit::commit
