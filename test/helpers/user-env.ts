// The environment a user's process would have: the suite may run against a sanitizer build of
// the addon (IPTKIT_NATIVE, LD_PRELOAD), which the tools and scripts it spawns must not see.

export function userEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['IPTKIT_NATIVE', 'LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS']) delete env[k];
  return env;
}
