#!/usr/bin/env node
// Extracts Docker's own golden iptables dumps from a moby/moby git directory into iptkit's
// fixture format (test/golden/moby/*.txt), for the golden tests of the Docker layouts:
//
//   node scripts/moby-goldens.mjs GIT_DIR TAG > test/golden/moby/TAG.txt
//   node scripts/moby-goldens.mjs GIT_DIR TAG nftables > test/golden/moby/TAG-nftables.txt
//
// TAG is v28.5.2 (libnetwork/...) or docker-v29.x.y (daemon/libnetwork/...). The fixture holds
// the expected iptables-save text of each case of the bridge driver's TestIptabler (comments
// stripped, as Docker's test does) and the `iptables -S` output of TestUserChain, each after a
// `=== NAME` line; NAME is Docker's golden file name without `.golden`. With `nftables` (Docker
// 29), the nftabler's TestNftabler cases instead: `nft list table` of its docker-bridges table
// per case and family. It copies Docker's output for given inputs, no code.
// SPDX-License-Identifier: GPL-2.0-or-later

import { execFileSync } from 'node:child_process';

const [gitDir, tag, mode] = process.argv.slice(2);
if (!gitDir || !tag || (mode !== undefined && mode !== 'nftables')) {
  console.error('usage: moby-goldens.mjs GIT_DIR TAG [nftables]');
  process.exit(2);
}
const git = (...args) => execFileSync('git', ['-C', gitDir, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
const commit = git('rev-parse', `${tag}^{commit}`).trim();
const root = tag.startsWith('docker-v') ? 'daemon/libnetwork' : 'libnetwork';
const iptabler = `${root}/drivers/bridge/internal/${mode === 'nftables' ? 'nftabler' : 'iptabler'}/testdata`;
// v29: testdata/TestUserChain/<case>.golden; v28: testdata/TestUserChain_<case> (no suffix).
const userChain = `${root}/testdata`;

const files = git('ls-tree', '-r', '--name-only', commit, '--', ...(mode === 'nftables' ? [iptabler] : [iptabler, userChain]))
  .split('\n')
  // WSL2's mirrored-networking variants are left out (iptkit does not model WSL2).
  .filter((f) => !f.includes('wsl2mirrored=true'))
  .filter((f) => f.startsWith(`${iptabler}/`) ? f.endsWith('.golden') : /\/testdata\/TestUserChain[/_]/.test(f))
  .sort();

const out = [
  `# moby/moby ${tag} (commit ${commit}): Docker's golden files, extracted by scripts/moby-goldens.mjs`,
  mode === 'nftables' ? `# TestNftabler: ${iptabler}` : `# TestIptabler: ${iptabler}; TestUserChain: ${userChain}/TestUserChain*`,
];
for (const f of files) {
  // v28: testdata/TestIptabler_<case>.golden; v29: testdata/TestIptabler/<case>.golden.
  const name = f.slice(f.indexOf('/testdata/') + '/testdata/'.length).replace(/\.golden$/, '').replace(/^(TestIptabler|TestUserChain)_/, '$1/');
  const text = git('show', `${commit}:${f}`)
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replace(/\n+$/, '');
  out.push(`=== ${name}`, text);
}
process.stdout.write(out.join('\n') + '\n');
