// The API reference (npm run docs) is made from the TSDoc comments of the public entry point,
// src/index.ts; typedoc.json treats every warning (a type the API names but does not export, a
// broken {@link}, a bad tag) as an error, so this fails on the first one.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { userEnv } from '../helpers/user-env.js';

const repo = new URL('../..', import.meta.url).pathname;

test('typedoc documents src/index.ts without a warning', async () => {
  const { stdout, stderr } = await promisify(execFile)('npx', ['--no-install', 'typedoc', '--emit', 'none'], { cwd: repo, env: userEnv({ NO_COLOR: '1' }) }).catch(
    (e: { stdout: string; stderr: string; code: number }) => {
      throw new Error(`typedoc exited ${e.code}:\n${e.stdout}${e.stderr}`);
    },
  );
  expect(`${stdout}${stderr}`).not.toMatch(/\[(warning|error)\]/);
}, 300_000);
