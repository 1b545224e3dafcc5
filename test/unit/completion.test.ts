// `iptkit completion bash` as bash runs it: the script is sourced in a real bash, _iptkit is
// called on a command line as readline would split it, and COMPREPLY is what the user is offered.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { iptkit } from '../helpers/cli.js';
import { userEnv } from '../helpers/user-env.js';
import { HELP_COMMANDS, helpOf, helpOptions } from '../helpers/help-options.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'iptkit-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let script = '';

beforeAll(async () => {
  const r = await iptkit('completion', 'bash');
  expect(r).toMatchObject({ code: 0, stderr: '' });
  script = join(dir, 'iptkit.bash');
  writeFileSync(script, r.stdout);
  writeFileSync(join(dir, 'rules.v4'), '');
});

/** What bash offers for `line` with the cursor at its end (a trailing space: a new word). */
async function offered(line: string): Promise<string[]> {
  const words = line.split(' ');
  const { stdout } = await run(
    'bash',
    ['-c', 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _iptkit; printf "%s\\n" "${COMPREPLY[@]}"', 'bash', script, ...words],
    { cwd: dir, env: userEnv() },
  );
  return stdout.split('\n').filter((w) => w !== '').sort();
}

test('bash parses the script, and it registers _iptkit for iptkit', async () => {
  const { stdout } = await run('bash', ['-c', 'source "$1" && complete -p iptkit', 'bash', script], { env: userEnv() });
  expect(stdout.trim()).toBe('complete -F _iptkit iptkit');
});

test.each([
  ['iptkit li', ['list']],
  ['iptkit re', ['recover', 'restore']],
  ['iptkit --v', ['--version']],
  ['iptkit docker pu', ['publish']],
  ['iptkit docker un', ['unpublish']],
  ['iptkit restore --nof', ['--noflush']],
  ['iptkit list -t n', ['nat']],
  ['iptkit save --table ', ['filter', 'mangle', 'nat', 'raw', 'security']],
  ['iptkit list -t nat PRE', ['PREROUTING']],
  ['iptkit list -n -t nat -v POST', ['POSTROUTING']],
  ['iptkit list POST', []],
  ['iptkit list -v I', ['INPUT']],
  ['iptkit list INPUT ', []],
  ['iptkit save --backend l', ['legacy']],
  ['iptkit docker doctor --fail-on w', ['warning']],
  ['iptkit docker apply --te', ['--test']],
  ['iptkit docker apply r', ['rules.v4']],
  // restore's -t is --test (no value): the next word is the FILE.
  ['iptkit restore -t r', ['rules.v4']],
  ['iptkit restore -T ', ['filter', 'mangle', 'nat', 'raw', 'security']],
  ['iptkit completion ', ['bash']],
  ['iptkit help doc', ['docker']],
])('%s', async (line, expected) => {
  expect(await offered(line)).toEqual(expected);
});

describe("every option a command's help names is offered for it", () => {
  test.each(HELP_COMMANDS.filter((c) => c.length > 1 || c[0] !== 'docker').map((c) => [c.join(' '), c]))('%s', async (_name, command) => {
    const named = helpOptions(await helpOf(command!));
    expect(named.length).toBeGreaterThan(0);
    const offer = new Set(await offered(`iptkit ${command!.join(' ')} -`));
    expect(named.filter((o) => !offer.has(o))).toEqual([]);
  });
});

test('a shell other than bash, or none, is a usage error naming the command', async () => {
  expect(await iptkit('completion')).toEqual({ code: 2, stdout: '', stderr: "iptkit completion: name the shell: iptkit completion bash (see 'iptkit completion --help')\n" });
  expect(await iptkit('completion', 'zsh')).toEqual({ code: 2, stdout: '', stderr: "iptkit completion: no completion for 'zsh': only bash (see 'iptkit completion --help')\n" });
});
