// man/iptkit.1 is made by scripts/man.mjs from the command's own help: the committed page must
// be what the current help makes, groff must read it without a warning, and every option a
// help names must survive the roff escaping into the rendered page.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { SUBCOMMANDS } from '../../src/cli/docker-commands.js';
// @ts-expect-error: a plain JavaScript build script, without declarations
import { manPage } from '../../scripts/man.mjs';
import { userEnv } from '../helpers/user-env.js';
import { HELP_COMMANDS, helpOf, helpOptions } from '../helpers/help-options.js';

const page = new URL('../../man/iptkit.1', import.meta.url).pathname;
const run = promisify(execFile);

test('man/iptkit.1 is what scripts/man.mjs makes from the help (else: npm run build && npm run man)', async () => {
  const made = (await manPage(main, Object.keys(SUBCOMMANDS))) as string;
  expect(readFileSync(page, 'utf8')).toBe(made);
});

test('groff reads the page without a warning', async () => {
  const { stderr } = await run('groff', ['-man', '-ww', '-z', '-Tutf8', page], { env: userEnv() });
  expect(stderr).toBe('');
});

test('the rendered page names every command and every option of every help', async () => {
  const { stdout } = await run('groff', ['-man', '-Tascii', '-P', '-cbou', page], { env: userEnv() });
  for (const command of HELP_COMMANDS) {
    expect(stdout).toContain(`iptkit ${command.join(' ')}`);
    for (const option of helpOptions(await helpOf(command))) expect(stdout, `iptkit ${command.join(' ')}: ${option}`).toContain(option);
  }
  for (const c of ['recover [-4|-6]', 'completion bash']) expect(stdout).toContain(c);
});
