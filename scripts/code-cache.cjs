// Makes FILE.cache, V8's code cache of the bundled command FILE (dist/iptkit-cli.cjs), compiled
// exactly as the bin (src/cli/launch.ts) compiles it: node's CommonJS wrapper, the same file
// name. Nothing of it runs here. Run by scripts/bundle.sh; the cache is only valid for this node
// (V8 version and flags), and the bin compiles the bundle as usual when V8 refuses it.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { resolve } = require('node:path');
const { Script } = require('node:vm');

const file = resolve(process.argv[2]);
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file });
writeFileSync(`${file}.cache`, script.createCachedData());
