// The core contracts of docs/design.md through the `iptkit` CLI, on both back ends, with the real
// tools (iptables-legacy-*, iptables-nft-*) as the oracle, in throwaway namespaces, IPv4 and
// IPv6.

import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { iptkit, iptkitBin, protColumnAsNumbers } from '../helpers/cli.js';
import { Netns, saveLines, withNetns } from '../helpers/netns.js';

const seed = readFileSync(new URL('../../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');
const mixed = readFileSync(new URL('../fixtures/legacy-mixed.rules', import.meta.url), 'utf8');

const tmp = mkdtempSync(join(tmpdir(), 'iptkit-cli-'));
function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const CASES = (['legacy', 'nft'] as const).flatMap((backend) =>
  (['ipv4', 'ipv6'] as const).map((family) => {
    const ip = family === 'ipv4' ? 'iptables' : 'ip6tables';
    return {
      backend,
      family,
      flag: family === 'ipv4' ? '-4' : '-6',
      restore: `${ip}-${backend}-restore`,
      save: `${ip}-${backend}-save`,
      cmd: `${ip}-${backend}`,
    };
  }),
);

/** The mixed ruleset's IPv6 twin: same shapes, IPv6 addresses and ICMPv6. */
const mixed6 = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:LOGDROP - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -m limit --limit 5/sec -j ACCEPT
-A INPUT -s fd00::/8 -p tcp -m multiport --dports 22,80,443 -j ACCEPT
-A INPUT ! -s 2001:db8::/32 -p udp -m udp --dport 53 -m comment --comment "dns v6" -j ACCEPT
-A INPUT -m iprange --src-range 2001:db8::1-2001:db8::9 -j LOGDROP
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
-A INPUT -j REJECT --reject-with icmp6-adm-prohibited
-A FORWARD -i br+ ! -o br-x -g LOGDROP
-A LOGDROP -j LOG --log-prefix "v6 drop: "
-A LOGDROP -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s fd00:19::/64 ! -o br-96a729b6b174 -j MASQUERADE
-A DOCKER ! -i br-96a729b6b174 -p tcp -m tcp --dport 20443 -j DNAT --to-destination [fd00:19::2]:443
COMMIT
`;

const inputs = { ipv4: { mixed, seed }, ipv6: { mixed: mixed6, seed: undefined } };

function realSave(ns: Netns, save: string, counters = false): string[] {
  return saveLines(ns.ok(save, counters ? ['-c'] : []));
}

describe.each(CASES)('$backend $family: iptkit against the real tools', (f) => {
  const tables = f.family === 'ipv4' ? ['filter', 'nat', 'mangle', 'raw'] : ['filter', 'nat'];

  test('save prints what iptables-save prints, with and without -c', () =>
    withNetns((ns) => {
      ns.ok(f.restore, ['-c'], inputs[f.family].mixed);
      return (async () => {
        for (const counters of [false, true]) {
          const ours = await iptkit('save', f.flag, '--backend', f.backend, '--netns', ns.name, ...(counters ? ['-c'] : []));
          expect(ours.code, ours.stderr).toBe(0);
          expect(saveLines(ours.stdout)).toEqual(realSave(ns, f.save, counters));
        }
      })();
    }));

  test('list prints what iptables -L prints for the same flags', () =>
    withNetns(async (ns) => {
      ns.ok(f.restore, ['-c'], inputs[f.family].mixed);
      for (const table of tables) {
        for (const flags of [['-n'], ['-n', '-v'], ['-n', '-v', '-x'], ['-n', '--line-numbers'], ['-n', '-v', '-x', '--line-numbers']]) {
          const ours = await iptkit('list', f.flag, '--backend', f.backend, '--netns', ns.name, '-t', table, ...flags);
          expect(ours.code, ours.stderr).toBe(0);
          const theirs = ns.ok(f.cmd, ['-t', table, '-L', ...flags]);
          expect(protColumnAsNumbers(ours.stdout), `${table} ${flags.join(' ')}`).toBe(theirs);
        }
      }
      // One chain.
      const one = await iptkit('list', f.flag, '--backend', f.backend, '--netns', ns.name, '-n', '-v', 'LOGDROP');
      expect(protColumnAsNumbers(one.stdout)).toBe(ns.ok(f.cmd, ['-L', 'LOGDROP', '-n', '-v']));
    }));

  test('restore leaves the kernel as iptables-restore does', async () => {
    const input = file(`mixed-${f.family}.rules`, inputs[f.family].mixed);
    const ours = new Netns('iptkit-cli');
    const theirs = new Netns('iptkit-cli');
    try {
      for (const counters of [false, true]) {
        const flags = counters ? ['-c'] : [];
        const r = await iptkit('restore', f.flag, '--backend', f.backend, '--netns', ours.name, ...flags, input);
        expect(r.code, r.stderr).toBe(0);
        theirs.ok(f.restore, flags, inputs[f.family].mixed);
        expect(realSave(ours, f.save, counters)).toEqual(realSave(theirs, f.save, counters));
      }
    } finally {
      ours.delete();
      theirs.delete();
    }
  });

  test('restore --noflush adds to what is there, like iptables-restore -n', async () => {
    const base = inputs[f.family].mixed;
    const more = `*filter\n:NEW - [0:0]\n-A INPUT -p tcp -m tcp --dport 8443 -j ACCEPT\n-I INPUT 2 -j NEW\n-A NEW -j RETURN\n-D INPUT -i lo -j ACCEPT\nCOMMIT\n`;
    const ours = new Netns('iptkit-cli');
    const theirs = new Netns('iptkit-cli');
    try {
      ours.ok(f.restore, [], base);
      theirs.ok(f.restore, [], base);
      const r = await iptkit('restore', f.flag, '--backend', f.backend, '--netns', ours.name, '-n', file(`more-${f.family}.rules`, more));
      expect(r.code, r.stderr).toBe(0);
      theirs.ok(f.restore, ['-n'], more);
      expect(realSave(ours, f.save)).toEqual(realSave(theirs, f.save));
    } finally {
      ours.delete();
      theirs.delete();
    }
  });

  test('a broken restore file names the line and changes nothing', () =>
    withNetns(async (ns) => {
      ns.ok(f.restore, ['-c'], inputs[f.family].mixed);
      const before = realSave(ns, f.save, true);
      const broken = `*filter\n-A INPUT -p tcp --dport 80 -j ACCEPT\n-A INPUT -p tcp --dportt 81 -j ACCEPT\nCOMMIT\n`;
      const r = await iptkit('restore', f.flag, '--backend', f.backend, '--netns', ns.name, file('broken.rules', broken));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/line 3/);
      expect(r.stderr).toMatch(/--dportt/);
      expect(realSave(ns, f.save, true)).toEqual(before);
    }));

  test('a kernel rejection in a later table leaves the earlier tables as they were', () =>
    withNetns(async (ns) => {
      ns.ok(f.restore, ['-c'], inputs[f.family].mixed);
      const before = realSave(ns, f.save, true);
      // MASQUERADE is only valid in POSTROUTING: the parser accepts it, the kernel does not.
      const bad = `*filter\n-A INPUT -j ACCEPT\nCOMMIT\n*nat\n-A PREROUTING -p tcp -j MASQUERADE\nCOMMIT\n`;
      const r = await iptkit('restore', f.flag, '--backend', f.backend, '--netns', ns.name, '-n', file('bad.rules', bad));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/nat/);
      expect(r.stderr).toMatch(/EINVAL/);
      expect(realSave(ns, f.save, true)).toEqual(before);
    }));

  test('counters of untouched rules survive a commit', () =>
    withNetns(async (ns) => {
      const counted = inputs[f.family].mixed.replace(/^-A /gm, '[7:700] -A ');
      ns.ok(f.restore, ['-c'], counted);
      const before = realSave(ns, f.save, true);
      const add = `*filter\n-A INPUT -p udp -m udp --dport 5000 -j ACCEPT\nCOMMIT\n`;
      const r = await iptkit('restore', f.flag, '--backend', f.backend, '--netns', ns.name, '-n', file('add.rules', add));
      expect(r.code, r.stderr).toBe(0);
      const after = realSave(ns, f.save, true);
      const added = after.filter((l) => !before.includes(l));
      expect(added).toEqual(['[0:0] -A INPUT -p udp -m udp --dport 5000 -j ACCEPT']);
      expect(after.filter((l) => l !== added[0])).toEqual(before);
    }));
});

const BACKENDS = CASES.filter((c) => c.family === 'ipv4');

describe.each(BACKENDS)('$backend: the seed Docker host and the non-negotiables', (f) => {
  test('its nat listing is what iptables -t nat -L -n -v prints', () =>
    withNetns(async (ns) => {
      ns.ok(f.restore, ['-c'], seed);
      const ours = await iptkit('list', '--backend', f.backend, '--netns', ns.name, '-t', 'nat', '-n', '-v');
      expect(ours.code, ours.stderr).toBe(0);
      expect(protColumnAsNumbers(ours.stdout)).toBe(ns.ok(f.cmd, ['-t', 'nat', '-L', '-n', '-v']));
      // And it reads like the article's listing: protocol names, K/M scaled counters.
      expect(ours.stdout).toContain(' 287K   17M DOCKER     all  --  *      *       0.0.0.0/0            0.0.0.0/0            ADDRTYPE match dst-type LOCAL');
      expect(ours.stdout).toContain('   68  2924 DNAT       tcp  --  !br-96a729b6b174 *       0.0.0.0/0            0.0.0.0/0            tcp dpt:23 to:172.19.0.2:22');
    }));

  test('a rule with an extension iptkit does not know survives a read-modify-commit byte for byte', () =>
    withNetns(async (ns) => {
      ns.ok(f.restore, [], `*filter\n-A INPUT -p tcp -m length --length 100:200 -m tcp --dport 22 -j ACCEPT\n-A INPUT -m time --timestart 09:00 --timestop 17:00 -j TTL-unknown-target-free\nCOMMIT\n`.replace(' -j TTL-unknown-target-free', ' -j ACCEPT'));
      const before = realSave(ns, f.save);
      const saved = await iptkit('save', '--backend', f.backend, '--netns', ns.name);
      expect(saved.stdout).toMatch(/opaque/i);
      const r = await iptkit('restore', '--backend', f.backend, '--netns', ns.name, '-n', file('add1.rules', '*filter\n-A INPUT -j DROP\nCOMMIT\n'));
      expect(r.code, r.stderr).toBe(0);
      const after = realSave(ns, f.save);
      expect(after.filter((l) => l !== '-A INPUT -j DROP')).toEqual(before);
      // Restoring iptkit's own save output must refuse the opaque rule rather than guess.
      const back = await iptkit('restore', '--backend', f.backend, '--netns', ns.name, file('opaque.rules', saved.stdout));
      expect(back.code).toBe(1);
      expect(back.stderr).toMatch(/line \d+/);
    }));

  test('a concurrent iptables -w -A loop loses no rule to iptkit commits', async () => {
    const ns = new Netns('iptkit-cli');
    try {
      ns.ok(f.restore, [], seed);
      ns.ok(f.cmd, ['-N', 'THEIRS']);
      const loop = spawnSync('true'); // warm the spawn path
      expect(loop.status).toBe(0);
      const { spawn } = await import('node:child_process');
      const writer = spawn('ip', [
        'netns', 'exec', ns.name, 'sh', '-c',
        `for i in $(seq 1 150); do ${f.cmd} -w -A THEIRS -s 10.0.$((i / 250)).$((i % 250)) -j ACCEPT || exit 1; done`,
      ]);
      const done = new Promise<number>((resolve) => writer.on('exit', (c) => resolve(c ?? -1)));
      for (let i = 0; i < 40; i++) {
        const r = await iptkit('restore', '--backend', f.backend, '--netns', ns.name, '-n', file(`ours-${i}.rules`, `*filter\n-A INPUT -s 192.0.2.${i}/32 -j ACCEPT\nCOMMIT\n`));
        expect(r.code, r.stderr).toBe(0);
      }
      expect(await done).toBe(0);
      const rules = realSave(ns, f.save);
      expect(rules.filter((l) => l.startsWith('-A THEIRS '))).toHaveLength(150);
      expect(rules.filter((l) => l.startsWith('-A INPUT -s 192.0.2.'))).toHaveLength(40);
    } finally {
      ns.delete();
    }
  });

  test('without CAP_NET_ADMIN the error is a typed EPERM', () =>
    withNetns((ns) => {
      const r = ns.run('capsh', ['--drop=cap_net_admin', '--', '-c', `node ${iptkitBin()} save --backend ${f.backend} -t filter`]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/EPERM/);
      const lib = new URL('../../dist/src/index.js', import.meta.url).pathname;
      const script = `import(${JSON.stringify(lib)}).then(async (m) => { try { const nf = await m.Netfilter.open({ backend: '${f.backend}' }); await nf.read(['filter']); console.log('no error'); } catch (e) { console.log(e instanceof m.NetfilterError, e.code, e.errno, e.op, e.table); } })`;
      const r2 = ns.run('capsh', ['--drop=cap_net_admin', '--', '-c', `node -e ${JSON.stringify(script).replace(/\$/g, '\\$')}`]);
      expect(r2.stdout.trim()).toBe('true EPERM 1 read filter');
    }));
});
