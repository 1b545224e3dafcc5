// The command line without a kernel: help, version, usage mistakes and refusals all happen
// before the addon is asked anything (the binding is replaced by one that records calls).

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, test, vi } from 'vitest';

const calls: string[] = [];
vi.mock('../../src/binding.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/binding.js')>();
  const recorder = (): unknown =>
    new Proxy(
      {},
      {
        get: (_t, name) => () => {
          calls.push(String(name));
          throw new Error(`the kernel was asked: ${String(name)}`);
        },
      },
    );
  return { ...real, native: recorder(), nativeDialect: recorder() };
});

const { iptkit } = await import('../helpers/cli.js');
const { Netfilter } = await import('../../src/netfilter.js');
const { loadFailure } = await import('../../src/binding.js');

beforeEach(() => {
  calls.length = 0;
});

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-cli-unit-'));

describe('help does nothing else', () => {
  const commands = [['list'], ['save'], ['restore'], ['diff'], ['docker'], ['docker', 'apply'], ['docker', 'state'], ['docker', 'doctor'], ['docker', 'repair'], ['docker', 'publish'], ['docker', 'unpublish']];
  test.each(commands.flatMap((c) => [[...c, '--help'], [...c, '-h']]))('iptkit %s %s %s prints its help and exits 0', async (...argv: string[]) => {
    const r = await iptkit(...argv, '--netns', 'somewhere', '--backend', 'nft');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^usage: iptkit /);
    expect(r.stderr).toBe('');
    expect(calls).toEqual([]);
  });

  test('each command prints its own help', async () => {
    expect((await iptkit('restore', '--help')).stdout).toMatch(/^usage: iptkit restore /);
    expect((await iptkit('docker', 'doctor', '-h')).stdout).toMatch(/^usage: iptkit docker doctor .*--fail-on/);
    expect((await iptkit('help', 'save')).stdout).toMatch(/^usage: iptkit save /);
    expect((await iptkit('diff', '-h')).stdout).toMatch(/^usage: iptkit diff \[-n\] \[-c\] \[-T TABLE\] \[--json\] \[FILE\]\n[^]*3 when something would change/);
    expect((await iptkit('docker', 'apply', '--help')).stdout).toMatch(/--test[^]*exit 3 when\s+something would change/);
  });

  test('--help wins over a mistake in the same command line', async () => {
    const r = await iptkit('restore', '--bogus', '--help', '/nonexistent');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: iptkit restore /);
  });
});

test('--version prints the package version', async () => {
  const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await iptkit(flag);
    expect(r).toEqual({ code: 0, stdout: `iptkit ${version}\n`, stderr: '' });
  }
});

describe('usage mistakes: one line, exit 2, with a did-you-mean where one fits', () => {
  test.each([
    [['lst'], "iptkit: unknown command 'lst' (did you mean list?) (see 'iptkit --help')"],
    [['dif'], "iptkit: unknown command 'dif' (did you mean diff?) (see 'iptkit --help')"],
    [['restore', '--json', '/dev/null'], "iptkit restore: --json goes with --test (restore itself prints nothing) (see 'iptkit restore --help')"],
    [['--netns', 'x', 'list'], "iptkit: '--netns' is not a command: options come after the command (iptkit list --netns …) (see 'iptkit --help')"],
    [['restore', '--noflsh'], "iptkit restore: unknown option '--noflsh' (did you mean --noflush?) (see 'iptkit restore --help')"],
    [['restore', '--noflu'], "iptkit restore: unknown option '--noflu' (did you mean --noflush?) (see 'iptkit restore --help')"],
    [['list', '--line-number'], "iptkit list: unknown option '--line-number' (did you mean --line-numbers?) (see 'iptkit list --help')"],
    [['list', '-q'], "iptkit list: unknown option '-q' (see 'iptkit list --help')"],
    [['save', '-t'], "iptkit save: -t/--table needs a value (see 'iptkit save --help')"],
    [['save', '-t', 'nat', '-t', 'raw'], "iptkit save: -t/--table given twice ('nat' and 'raw') (see 'iptkit save --help')"],
    [['save', '--counters=1'], "iptkit save: --counters takes no value (got '1') (see 'iptkit save --help')"],
    [['save', 'nat'], "iptkit save: unexpected argument 'nat': save takes no arguments (see 'iptkit save --help')"],
    [['list', 'INPUT', 'OUTPUT'], "iptkit list: unexpected argument 'OUTPUT': list takes at most one CHAIN (see 'iptkit list --help')"],
    [['list', '--backend', 'iptables'], "iptkit list: --backend must be auto, legacy or nft, not 'iptables' (see 'iptkit list --help')"],
    [['list', '-4', '-6'], "iptkit list: -4 and -6 exclude each other (see 'iptkit list --help')"],
    [['docker', 'doctr'], "iptkit docker: unknown docker command 'doctr' (did you mean doctor?) (see 'iptkit docker --help')"],
    [['docker', 'doctor', '--fail-on', 'info'], "iptkit docker doctor: --fail-on must be error or warning, not 'info' (see 'iptkit docker doctor --help')"],
    [['docker', 'apply'], "iptkit docker apply: docker apply needs a STATE.json (or - for stdin) (see 'iptkit docker apply --help')"],
    [['docker', 'state', '--hint', 'x'], "iptkit docker state: unknown option '--hint' (did you mean --hints?) (see 'iptkit docker state --help')"],
  ])('iptkit %j', async (argv, message) => {
    const r = await iptkit(...argv);
    expect(r).toEqual({ code: 2, stdout: '', stderr: message + '\n' });
    expect(calls).toEqual([]);
  });

  test('no command at all prints the usage on stderr, exit 2', async () => {
    const r = await iptkit();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: iptkit <command>/);
  });
});

describe('an empty or wrong --netns is refused before any kernel work', () => {
  test.each([['list'], ['save'], ['restore', '/dev/null'], ['diff', '/dev/null'], ['docker', 'state'], ['docker', 'doctor']])('iptkit %s --netns \'\' (an unset shell variable)', async (...argv: string[]) => {
    const r = await iptkit(...argv, '--netns', '');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--netns '' names no namespace/);
    expect(calls).toEqual([]);
  });

  test("Netfilter.open({ netns: '' }) is a RangeError naming the option", async () => {
    await expect(Netfilter.open({ netns: '' })).rejects.toThrow(new RangeError("netns: '' names no namespace; leave the option out for this process's own namespace"));
    expect(calls).toEqual([]);
  });

  test.each([
    ['a missing name', 'iptkit-no-such-namespace', /'iptkit-no-such-namespace' is not a network namespace \(\/var\/run\/netns\/iptkit-no-such-namespace does not exist\)/],
    ['a plain file', '/etc/hostname', /'\/etc\/hostname' is not a network namespace \(\/etc\/hostname is not a namespace file\)/],
    ['a path with a slash that is not a path', 'a/b', /'a\/b' is neither a name nor a path/],
  ])('%s is refused', async (_what, netns, message) => {
    await expect(Netfilter.open({ netns, backend: 'nft' })).rejects.toThrow(message);
    const r = await iptkit('list', '--backend', 'nft', '--netns', netns);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(calls).toEqual([]);
  });
});

test('a missing input file is one line, exit 1', async () => {
  const r = await iptkit('restore', '--backend', 'nft', join(tmp, 'nonexistent.rules'));
  expect(r).toEqual({ code: 1, stdout: '', stderr: `iptkit restore: cannot read ${join(tmp, 'nonexistent.rules')}: no such file\n` });
  const state = await iptkit('docker', 'apply', '--backend', 'nft', join(tmp, 'nonexistent.json'));
  expect(state.code).toBe(1);
  expect(state.stderr).toBe(`iptkit docker: cannot read ${join(tmp, 'nonexistent.json')}: no such file\n`);
  expect(calls).toEqual([]);
});

test('a state file that is not JSON is one line, exit 1', async () => {
  const file = join(tmp, 'bad.json');
  writeFileSync(file, '{ "networks": [');
  const r = await iptkit('docker', 'apply', '--backend', 'nft', file);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^iptkit docker: state ${file}: not JSON \\(.*\\)\\n$`));
});

describe('a failed addon load names the package to install', () => {
  test.each([
    ['libnftnl.so.11', 'apt-get install libnftnl11', 'dnf install libnftnl', 'apk add libnftnl'],
    ['libmnl.so.0', 'apt-get install libmnl0', 'dnf install libmnl', 'apk add libmnl'],
  ])('%s', (lib, debian, fedora, alpine) => {
    // The message dlopen gives, as Node passes it on.
    const e = new Error(`${lib}: cannot open shared object file: No such file or directory`);
    const message = loadFailure('/x/iptkit.node', e);
    expect(message).toContain(`needs ${lib}, which is not installed`);
    for (const advice of [debian, fedora, alpine]) expect(message).toContain(advice);
  });
});
