// Once per test run: iptkit's records (the legacy intent records, the Docker record) go to a
// directory of the run's own instead of /run/iptkit, so that the throwaway namespaces' files
// never outlive the run. Test files that need their own directory still set
// IPTKIT_INTENT_DIR themselves; every child process inherits this one.
//
// The run's temporary files go there too: TMPDIR is the directory os.tmpdir() gives every test
// worker (and child), so the directories test files make with mkdtempSync go with the run
// rather than each file having to remove its own.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'iptkit-test-run-'));
  process.env['IPTKIT_INTENT_DIR'] = join(dir, 'run');
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  process.env['TMPDIR'] = tmp;
  return () => rmSync(dir, { recursive: true, force: true });
}
