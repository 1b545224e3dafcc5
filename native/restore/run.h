// `restore` natively end to end: the input parsed once, the tables read and planned under the
// back end's guard (legacy: the xtables lock; nft: the ruleset generation), one commit, and a
// fresh read and plan when another writer got in between. No rule is printed and parsed again.
#pragma once

#include <napi.h>

namespace iptkit {

// restore(backend, family, netns, text, options) → Promise (see src/binding.ts)
Napi::Value Restore(const Napi::CallbackInfo& info);

// restoreResult(family, text, options, current[]) → the tables the input leaves when restored
// onto `current` (read results), as read results: no kernel. Throws EPARSE like the dialect.
Napi::Value RestoreResult(const Napi::CallbackInfo& info);

}  // namespace iptkit
