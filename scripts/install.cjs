#!/usr/bin/env node
// npm's install step of the iptkit package: nothing when the prebuilt addon inside the
// package fits this machine (linux-x64, or linux-arm64 when the packer had the cross
// toolchain; glibc), else a source build with cmake-js (which
// needs cmake, a C++ compiler and the libmnl/libnftnl dev packages). In a checkout of
// the repository (not under node_modules) it does nothing: scripts/setup.sh builds there.
'use strict';
const { existsSync } = require('node:fs');
const { join, sep } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
if (!root.split(sep).includes('node_modules')) process.exit(0);

const glibc = process.report?.getReport().header.glibcVersionRuntime;
const prebuild = join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'iptkit.node');
if (glibc && existsSync(prebuild)) process.exit(0);

console.error(`iptkit: no prebuilt addon for ${process.platform}-${process.arch}${glibc ? '' : ' (musl)'}; building it from source with cmake-js`);
const r = spawnSync(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--out', 'build', '--log-level', 'error'], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) {
  console.error(
    'iptkit: the source build failed. It needs cmake, g++, pkg-config and the dev packages of\n' +
      '  libmnl and libnftnl (Debian/Ubuntu: apt-get install cmake g++ pkg-config\n' +
      '  libmnl-dev libnftnl-dev).',
  );
  process.exit(r.status ?? 1);
}
