// `iptkit docker …`: filled in by the Docker operations.
import { UsageError } from './args.js';
import type { Io } from './common.js';

export async function dockerCommand(argv: readonly string[], _io: Io): Promise<number> {
  throw new UsageError(`docker ${argv[0] ?? ''}: not available yet`);
}
