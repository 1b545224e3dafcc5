// The native legacy back end (legacyTableNames, legacyRead, legacyCommit) called directly,
// against the real kernel in throwaway network namespaces. The oracles are iptables-legacy-save
// and iptables-legacy-restore: what the addon commits must save exactly like what the tool
// restores for the same rules.

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { NativeBinding, NativeFamily } from '../../binding.js';
import { Netns, isRoot, saveLines, withNetns } from '../helpers/netns.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const nativePath = process.env['IPTKIT_NATIVE'] ?? join(root, 'build', 'Release', 'iptkit.node');
const native = createRequire(import.meta.url)(nativePath) as NativeBinding;

const PREFIX = 'iptkit-legacy';

// The tools run here only touch this file's own namespaces, yet /run/xtables.lock is one file
// for the whole machine: another suite holding it (lock tests do) would stall them. A lock of
// our own keeps them serialised among themselves and independent of everyone else.
process.env['XTABLES_LOCKFILE'] = `/tmp/iptkit-legacy-${process.pid}.lock`;
afterAll(() => rmSync(process.env['XTABLES_LOCKFILE']!, { force: true }));

interface Tools {
  save: string;
  restore: string;
}
const TOOLS: Record<NativeFamily, Tools> = {
  ipv4: { save: 'iptables-legacy-save', restore: 'iptables-legacy-restore' },
  ipv6: { save: 'ip6tables-legacy-save', restore: 'ip6tables-legacy-restore' },
};

function restore(ns: Netns, family: NativeFamily, text: string): void {
  ns.ok(TOOLS[family].restore, ['-c'], text);
}

function save(ns: Netns, family: NativeFamily, table: string): string[] {
  return saveLines(ns.ok(TOOLS[family].save, ['-c', '-t', table]));
}

/** Splits a saved rule into arguments as a shell would: iptables-save quotes with "…" and \\". */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      any = true;
    } else if (c === '"') {
      quoted = !quoted;
      any = true;
    } else if (c === ' ' && !quoted) {
      if (any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push(cur);
  return out;
}

const CHECK: Record<NativeFamily, string> = { ipv4: 'iptables-legacy', ipv6: 'ip6tables-legacy' };

/**
 * `iptables -C` finds every saved rule: the tool builds each entry from its text and compares
 * it with the kernel's (ip fields, interface masks, match and target data), so this checks the
 * bytes the addon wrote, beyond what save prints.
 */
function checkEachRule(ns: Netns, family: NativeFamily, table: string): number {
  let n = 0;
  for (const line of save(ns, family, table)) {
    const m = /^\[\d+:\d+\] -A (.*)$/.exec(line);
    if (!m) continue;
    const r = ns.run(CHECK[family], ['-t', table, '-C', ...words(m[1]!)]);
    expect(r.status, `${CHECK[family]} -C ${m[1]}: ${r.stderr}`).toBe(0);
    n++;
  }
  return n;
}

interface Rec {
  kind: string;
  words: string[];
  fields: Record<string, string>;
}

function records(wire: string): Rec[] {
  return wire
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [kind, ...rest] = l.split('\t');
      const words: string[] = [];
      const fields: Record<string, string> = {};
      for (const f of rest) {
        const eq = f.indexOf('=');
        if (eq < 0) words.push(f);
        else fields[f.slice(0, eq)] = f.slice(eq + 1);
      }
      return { kind: kind!, words, fields };
    });
}

/** The chains of a read wire, each with its rule blocks (the rule line and what follows it). */
function chains(wire: string): { line: string; name: string; rules: string[][] }[] {
  const out: { line: string; name: string; rules: string[][] }[] = [];
  for (const line of wire.split('\n')) {
    if (line === '' || line.startsWith('table\t')) continue;
    if (line.startsWith('chain\t')) out.push({ line, name: line.split('\t')[1]!, rules: [] });
    else if (line.startsWith('rule\t') || line.startsWith('rule')) out.at(-1)!.rules.push([line]);
    else out.at(-1)!.rules.at(-1)!.push(line);
  }
  return out;
}

/** A commit wire that keeps every rule of a read wire and changes nothing (with was= guards). */
function keepAll(wire: string): string {
  const head = wire.split('\n')[0]!;
  const lines = [head];
  for (const c of chains(wire)) {
    lines.push(`chain\t${c.name}\twas=${c.rules.length}`);
    c.rules.forEach((_, i) => lines.push(`keep\t${i}`));
  }
  return lines.join('\n') + '\n';
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; table?: string; chain?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

const RULES4 = `*filter
:INPUT DROP [5:500]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [1:2]
:USER1 - [0:0]
:USER2 - [0:0]
[3:300] -A INPUT -s 10.0.0.0/8 -d 192.168.1.1/32 -i eth+ -p tcp -j ACCEPT
[0:0] -A INPUT -f -g USER2
[0:0] -A INPUT ! -f
[7:700] -A INPUT -m length --length 100:200 -j RETURN
[4:400] -A FORWARD ! -s 10.1.0.0/255.255.0.255 ! -i lo -o eth0 ! -p udp -j USER1
[0:0] -A FORWARD -i veth1234567890a -o br+ -j DROP
[0:0] -A USER1 -j RETURN
[9:90] -A USER2 -p tcp -m tcp --dport 80 -j DROP
COMMIT
`;

const RULES6 = `*filter
:INPUT ACCEPT [2:200]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:USER6 - [0:0]
[3:300] -A INPUT -s fd00::/16 -d 2001:db8::1/128 -i eth+ -p tcp -j ACCEPT
[1:10] -A INPUT ! -s fd00:1::/ffff:ffff:0:ffff:: ! -p udp -g USER6
[0:0] -A INPUT -m length --length 100:200
[0:0] -A FORWARD ! -i lo -o eth0 -j USER6
[0:0] -A USER6 -j RETURN
COMMIT
`;

// The extensions of DESIGN.md, as iptables-save prints them.
const EXT4_FILTER = `*filter
:INPUT ACCEPT [10:1000]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
[1:60] -A INPUT -p tcp -m tcp --sport 1024:65535 --dport 22 --tcp-flags SYN,RST,ACK,FIN SYN -j ACCEPT
[0:0] -A INPUT -p tcp -m tcp ! --dport 8000:8080 ! --tcp-flags FIN,SYN FIN -j DROP
[0:0] -A INPUT -p udp -m udp --sport 53 ! --dport 1:1023 -j ACCEPT
[0:0] -A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT
[0:0] -A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT
[0:0] -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
[0:0] -A INPUT -m conntrack ! --ctstate INVALID --ctorigdst 10.0.0.0/8 --ctproto 6 -j ACCEPT
[0:0] -A INPUT -m state --state NEW -j ACCEPT
[0:0] -A INPUT -m comment --comment "a comment with spaces = and %" -j ACCEPT
[0:0] -A INPUT -p tcp -m multiport --dports 80,443,8000:8100 -j ACCEPT
[0:0] -A INPUT -p udp -m multiport ! --sports 53,123 -j DROP
[0:0] -A INPUT -m mark --mark 0x1/0xff -j ACCEPT
[0:0] -A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 ! --dst-range 192.168.0.1-192.168.0.3 -j DROP
[0:0] -A INPUT -m limit --limit 5/min --limit-burst 7 -j LOG --log-prefix "in: " --log-level 6 --log-tcp-options
[0:0] -A INPUT -m addrtype --src-type LOCAL --dst-type UNICAST -j ACCEPT
[0:0] -A INPUT -p tcp -j REJECT --reject-with tcp-reset
[0:0] -A INPUT -j REJECT --reject-with icmp-host-prohibited
[0:0] -A FORWARD -j DOCKER-USER
[0:0] -A DOCKER-USER -j RETURN
COMMIT
`;

const EXT4_MANGLE = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
[0:0] -A PREROUTING -i eth0 -j MARK --set-xmark 0x10/0xff
[0:0] -A PREROUTING -j MARK --set-xmark 0x1/0xffffffff
[0:0] -A POSTROUTING -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill
COMMIT
`;

const EXT4_RAW = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
[0:0] -A PREROUTING -p udp -m udp --dport 4789 -j CT --notrack
[0:0] -A OUTPUT -p udp -m udp --dport 53 -j CT --notrack
COMMIT
`;

const EXT6_FILTER = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
[0:0] -A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
[0:0] -A INPUT -s fd00::/8 -p tcp -m tcp --dport 443 -m conntrack --ctstate NEW -j ACCEPT
[0:0] -A INPUT -m iprange --src-range fd00::1-fd00::9 -j DROP
[0:0] -A INPUT -p tcp -j REJECT --reject-with tcp-reset
[0:0] -A INPUT -j REJECT --reject-with icmp6-adm-prohibited
COMMIT
`;

describe.skipIf(!isRoot)('native legacy back end', () => {
  it('lists the x_tables tables of a namespace', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      expect(await native.legacyTableNames('ipv4', ns.path)).toContain('filter');
      // Same as the kernel's own list, read by a process inside the namespace.
      const listed = ns.ok('cat', ['/proc/net/ip_tables_names']).split('\n').filter(Boolean);
      expect((await native.legacyTableNames('ipv4', ns.path)).sort()).toEqual(listed.sort());
    }, PREFIX);
  });

  it('reads an IPv4 table into the wire: chains, policies, counters, ip fields, targets', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      const wire = await native.legacyRead('ipv4', ns.path, 'filter');
      const lines = wire.split('\n');
      expect(lines[0]).toBe('table\tfilter\tfamily=ipv4');
      const cs = chains(wire);
      expect(cs.map((c) => c.line)).toEqual([
        'chain\tINPUT\tpolicy=DROP\tpkts=5\tbytes=500',
        'chain\tFORWARD\tpolicy=ACCEPT\tpkts=0\tbytes=0',
        'chain\tOUTPUT\tpolicy=ACCEPT\tpkts=1\tbytes=2',
        'chain\tUSER1\trefs=1',
        'chain\tUSER2\trefs=1',
      ]);
      const [input, forward, , user1, user2] = cs;
      expect(input!.rules).toEqual([
        [
          'rule\tpkts=3\tbytes=300\tsrc=10.0.0.0/255.0.0.0\tdst=192.168.1.1/255.255.255.255\tin=eth+\tproto=6',
          'verdict\tACCEPT',
        ],
        ['rule\tpkts=0\tbytes=0\tfrag=1\tgoto=1', 'jump\tUSER2'],
        ['rule\tpkts=0\tbytes=0\tinv=32\tfrag=1'],
        ['rule\tpkts=7\tbytes=700', expect.stringMatching(/^match\tlength\t0\traw=[0-9A-F]+$/), 'verdict\tRETURN'],
      ]);
      expect(forward!.rules).toEqual([
        // inv: SRCIP|VIA_IN|PROTO = 0x08|0x01|0x40
        ['rule\tpkts=4\tbytes=400\tsrc=10.1.0.0/255.255.0.255\tin=lo\tout=eth0\tproto=17\tinv=73', 'jump\tUSER1'],
        ['rule\tpkts=0\tbytes=0\tin=veth1234567890a\tout=br+', 'verdict\tDROP'],
      ]);
      expect(user1!.rules).toEqual([['rule\tpkts=0\tbytes=0', 'verdict\tRETURN']]);
      expect(user2!.rules[0]![0]).toBe('rule\tpkts=9\tbytes=90\tproto=6');
      expect(user2!.rules[0]![1]).toMatch(/^match\ttcp\t0\t/);
      expect(user2!.rules[0]![2]).toBe('verdict\tDROP');
    }, PREFIX);
  });

  it('reads an IPv6 table into the wire', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv6', RULES6);
      const wire = await native.legacyRead('ipv6', ns.path, 'filter');
      expect(wire.split('\n')[0]).toBe('table\tfilter\tfamily=ipv6');
      const cs = chains(wire);
      expect(cs.map((c) => c.line)).toEqual([
        'chain\tINPUT\tpolicy=ACCEPT\tpkts=2\tbytes=200',
        'chain\tFORWARD\tpolicy=DROP\tpkts=0\tbytes=0',
        'chain\tOUTPUT\tpolicy=ACCEPT\tpkts=0\tbytes=0',
        'chain\tUSER6\trefs=2',
      ]);
      expect(cs[0]!.rules).toEqual([
        ['rule\tpkts=3\tbytes=300\tsrc=fd00::/ffff::\tdst=2001:db8::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\tin=eth+\tproto=6', 'verdict\tACCEPT'],
        ['rule\tpkts=1\tbytes=10\tsrc=fd00:1::/ffff:ffff:0:ffff::\tproto=17\tinv=72\tgoto=1', 'jump\tUSER6'],
        ['rule\tpkts=0\tbytes=0', expect.stringMatching(/^match\tlength\t0\traw=[0-9A-F]+$/)],
      ]);
      expect(cs[1]!.rules).toEqual([['rule\tpkts=0\tbytes=0\tin=lo\tout=eth0\tinv=1', 'jump\tUSER6']]);
    }, PREFIX);
  });

  for (const [family, rules] of [
    ['ipv4', RULES4],
    ['ipv6', RULES6],
  ] as const) {
    it(`${family}: committing the read table back with keeps changes nothing, counters included`, async () => {
      await withNetns(async (ns) => {
        restore(ns, family, rules);
        const before = save(ns, family, 'filter');
        const wire = await native.legacyRead(family, ns.path, 'filter');
        await native.legacyCommit(family, ns.path, [keepAll(wire)]);
        expect(save(ns, family, 'filter')).toEqual(before);
        expect(await native.legacyRead(family, ns.path, 'filter')).toBe(wire);
      }, PREFIX);
    });
  }

  it('ipv4: new rules, chains and policies save exactly as iptables-legacy-restore makes them', async () => {
    const ns = new Netns(PREFIX);
    const oracle = new Netns(PREFIX);
    try {
      restore(ns, 'ipv4', RULES4);
      const wire = await native.legacyRead('ipv4', ns.path, 'filter');
      const raw = records(wire).find((r) => r.kind === 'match' && r.words[0] === 'length')!.fields['raw']!;
      // INPUT: keep 0, drop the goto to USER2 and `! -f`, keep the length rule, add three.
      // FORWARD: new policy with counters, drop rule 1, keep rule 0 and add after it.
      // OUTPUT: policy change without counters keeps its counters [1:2].
      // USER2 goes away (its only reference went with the goto); NEWCHAIN appears.
      const commit = [
        'table\tfilter\tfamily=ipv4',
        'chain\tINPUT\twas=4',
        'rule\tpkts=11\tbytes=1100\tsrc=172.16.0.0/255.240.0.0\tproto=6\tinv=8',
        'jump\tNEWCHAIN',
        'keep\t0',
        `rule\tin=wlan%2B\tinv=1`, // an escaped '+' is the wildcard too
        'verdict\tDROP',
        'keep\t3',
        'rule\tdst=192.0.2.0/255.255.255.0\tfrag=1',
        `match\tlength\t0\traw=${raw}`,
        'verdict\tQUEUE',
        'chain\tFORWARD\tpolicy=DROP\tpkts=7\tbytes=70\twas=2',
        'keep\t0',
        'rule\tin=eth0\tinv=1',
        'jump\tUSER1',
        'chain\tOUTPUT\tpolicy=DROP',
        'chain\tNEWCHAIN',
        'rule\tproto=17',
        'verdict\tRETURN',
        'rule\tgoto=1',
        'jump\tUSER1',
        'chain\tUSER1',
        'keep\t0',
        '',
      ].join('\n');
      await native.legacyCommit('ipv4', ns.path, [commit]);
      restore(
        oracle,
        'ipv4',
        `*filter
:INPUT DROP [5:500]
:FORWARD DROP [7:70]
:OUTPUT DROP [1:2]
:NEWCHAIN - [0:0]
:USER1 - [0:0]
[11:1100] -A INPUT ! -s 172.16.0.0/12 -p tcp -j NEWCHAIN
[3:300] -A INPUT -s 10.0.0.0/8 -d 192.168.1.1/32 -i eth+ -p tcp -j ACCEPT
[0:0] -A INPUT ! -i wlan+ -j DROP
[7:700] -A INPUT -m length --length 100:200 -j RETURN
[0:0] -A INPUT -d 192.0.2.0/24 -f -m length --length 100:200 -j QUEUE
[4:400] -A FORWARD ! -s 10.1.0.0/255.255.0.255 ! -i lo -o eth0 ! -p udp -j USER1
[0:0] -A FORWARD ! -i eth0 -j USER1
[0:0] -A NEWCHAIN -p udp -j RETURN
[0:0] -A NEWCHAIN -g USER1
[0:0] -A USER1 -j RETURN
COMMIT
`,
      );
      expect(save(ns, 'ipv4', 'filter')).toEqual(save(oracle, 'ipv4', 'filter'));
      expect(checkEachRule(ns, 'ipv4', 'filter')).toBe(10);
    } finally {
      ns.delete();
      oracle.delete();
    }
  });

  it('ipv4: the commit parser gives the same entries for every spelling the wire allows', async () => {
    // The parser takes common lines (plain `keep N`, `rule` without escapes, repeated match
    // and target shapes) on shortcuts; every other spelling goes the general way. Both must
    // give the bytes iptables-legacy-restore gives (checked by save and by -C on each rule).
    const ns = new Netns(PREFIX);
    const oracle = new Netns(PREFIX);
    try {
      restore(ns, 'ipv4', RULES4);
      const tcp = (f: string): string => `match\ttcp\t0\t${f}`;
      const commit = [
        'table\tfilter\tfamily=ipv4',
        'chain\tINPUT\twas=4',
        'keep\t00', // leading zeros: the general path
        'rule\tsrc=10.1.2.3/32\tin=eth%30\tproto=0x6', // an escape and a hex number
        tcp('spts=0:65535\tdpts=22:22\toption=0\tflg_mask=0\tflg_cmp=0\tinvflags=0'),
        'verdict\tACCEPT',
        'rule\tsrc=10.1.2.4\tdst=192.168.0.1/24\tproto=6', // host without mask; host bits cleared
        tcp('dpts=80'), // the same shape with other keys: defaults for the rest
        'verdict\tACCEPT',
        'rule\tpkts=5\tbytes=500\tsrc=10.1.2.5/255.255.255.255\tin=br+\tproto=6\tinv=1',
        tcp('spts=1024:65535\tdpts=443:443\toption=0\tflg_mask=0\tflg_cmp=0\tinvflags=2'),
        'verdict\tDROP',
        'rule\tsrc=010.1.2.6/32\tproto=17', // not a plain dotted quad: inet_pton decides
        'verdict\tDROP',
        'keep\t3',
        'chain\tFORWARD\twas=2',
        'keep\t0',
        'keep\t1',
        'chain\tOUTPUT',
        'chain\tUSER1',
        'keep\t0',
        'chain\tUSER2',
        'keep\t0',
        '',
      ].join('\n');
      const bad = await rejection(native.legacyCommit('ipv4', ns.path, [commit]));
      expect(bad.code).toBe('EINVAL');
      expect(bad.message).toMatch(/line 13 \(chain INPUT\): rule record: src=010\.1\.2\.6\/32 is not an IPv4 ADDR\/MASK/);
      await native.legacyCommit('ipv4', ns.path, [commit.replace('src=010.1.2.6/32', 'src=10.1.2.6/32')]);
      restore(
        oracle,
        'ipv4',
        `*filter
:INPUT DROP [5:500]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [1:2]
:USER1 - [0:0]
:USER2 - [0:0]
[3:300] -A INPUT -s 10.0.0.0/8 -d 192.168.1.1/32 -i eth+ -p tcp -j ACCEPT
[0:0] -A INPUT -s 10.1.2.3/32 -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT
[0:0] -A INPUT -s 10.1.2.4/32 -d 192.168.0.0/24 -p tcp -m tcp --dport 80 -j ACCEPT
[5:500] -A INPUT -s 10.1.2.5/32 ! -i br+ -p tcp -m tcp --sport 1024:65535 ! --dport 443 -j DROP
[0:0] -A INPUT -s 10.1.2.6/32 -p udp -j DROP
[7:700] -A INPUT -m length --length 100:200 -j RETURN
[4:400] -A FORWARD ! -s 10.1.0.0/255.255.0.255 ! -i lo -o eth0 ! -p udp -j USER1
[0:0] -A FORWARD -i veth1234567890a -o br+ -j DROP
[0:0] -A USER1 -j RETURN
[9:90] -A USER2 -p tcp -m tcp --dport 80 -j DROP
COMMIT
`,
      );
      expect(save(ns, 'ipv4', 'filter')).toEqual(save(oracle, 'ipv4', 'filter'));
      expect(checkEachRule(ns, 'ipv4', 'filter')).toBe(10);
    } finally {
      ns.delete();
      oracle.delete();
    }
  });

  it('ipv6: new rules, chains and policies save exactly as ip6tables-legacy-restore makes them', async () => {
    const ns = new Netns(PREFIX);
    const oracle = new Netns(PREFIX);
    try {
      restore(ns, 'ipv6', RULES6);
      const commit = [
        'table\tfilter\tfamily=ipv6',
        'chain\tINPUT\twas=3',
        'keep\t1',
        'rule\tpkts=5\tbytes=50\tsrc=2001:db8::/32\tdst=fd00::1/128\tproto=58\tinv=16',
        'verdict\tACCEPT',
        'chain\tFORWARD\tpolicy=ACCEPT\tpkts=0\tbytes=0',
        'chain\tOUTPUT',
        'rule\tout=eth%2B\tproto=6',
        'jump\tUSER6',
        'chain\tUSER6',
        'keep\t0',
        '',
      ].join('\n');
      await native.legacyCommit('ipv6', ns.path, [commit]);
      restore(
        oracle,
        'ipv6',
        `*filter
:INPUT ACCEPT [2:200]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:USER6 - [0:0]
[1:10] -A INPUT ! -s fd00:1::/ffff:ffff:0:ffff:: ! -p udp -g USER6
[5:50] -A INPUT -s 2001:db8::/32 ! -d fd00::1/128 -p ipv6-icmp -j ACCEPT
[0:0] -A OUTPUT -o eth+ -p tcp -j USER6
[0:0] -A USER6 -j RETURN
COMMIT
`,
      );
      expect(save(ns, 'ipv6', 'filter')).toEqual(save(oracle, 'ipv6', 'filter'));
      expect(checkEachRule(ns, 'ipv6', 'filter')).toBe(4);
    } finally {
      ns.delete();
      oracle.delete();
    }
  });

  // Every rule re-created from the wire (a read wire is a valid commit wire: rules with their
  // counters, built-in chains with policy and counters) must save exactly as before: this
  // runs each extension's codec through decode and encode against the kernel.
  for (const [family, table, text] of [
    ['ipv4', 'nat', readFileSync(join(root, 'fixtures', 'seed-docker-host.rules'), 'utf8')],
    ['ipv4', 'filter', EXT4_FILTER],
    ['ipv4', 'mangle', EXT4_MANGLE],
    ['ipv4', 'raw', EXT4_RAW],
    ['ipv6', 'filter', EXT6_FILTER],
  ] as const) {
    it(`${family} ${table}: committing a read wire as all-new rules gives back the same table`, async () => {
      await withNetns(async (ns) => {
        restore(ns, family, text);
        const before = save(ns, family, table);
        const wire = await native.legacyRead(family, ns.path, table);
        // Rules leave the handle and come back from their bytes: nothing is kept.
        const flushFirst = [
          `table\t${table}\tfamily=${family}`,
          ...chains(wire).filter((c) => c.line.includes('policy=')).map((c) => `chain\t${c.name}`),
          '',
        ].join('\n');
        await native.legacyCommit(family, ns.path, [flushFirst]);
        expect(save(ns, family, table)).not.toEqual(before);
        await native.legacyCommit(family, ns.path, [wire]);
        expect(save(ns, family, table)).toEqual(before);
        expect(checkEachRule(ns, family, table)).toBe(before.filter((l) => l.includes(' -A ')).length);
      }, PREFIX);
    });
  }

  it('an extension without a codec survives a read-modify-commit byte for byte', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      const before = await native.legacyRead('ipv4', ns.path, 'filter');
      const rawOf = (w: string) => records(w).filter((r) => r.kind === 'match' && r.words[0] === 'length');
      // Move the length rule: it is re-created from its raw bytes, not kept.
      const input = chains(before)[0]!;
      const moved = input.rules[3]!.map((l) => (l.startsWith('rule\t') ? 'rule\tpkts=7\tbytes=700' : l));
      const wire = [
        'table\tfilter\tfamily=ipv4',
        'chain\tINPUT',
        ...moved,
        'keep\t0',
        'keep\t1',
        'keep\t2',
        'chain\tFORWARD',
        'keep\t0',
        'keep\t1',
        'chain\tOUTPUT',
        'chain\tUSER1',
        'keep\t0',
        'chain\tUSER2',
        'keep\t0',
        '',
      ].join('\n');
      await native.legacyCommit('ipv4', ns.path, [wire]);
      const after = await native.legacyRead('ipv4', ns.path, 'filter');
      expect(rawOf(after)).toEqual(rawOf(before));
      expect(chains(after)[0]!.rules[0]).toEqual(input.rules[3]);
      expect(save(ns, 'ipv4', 'filter')).toContain('[7:700] -A INPUT -m length --length 100:200 -j RETURN');
    }, PREFIX);
  });

  it('rejects with ESTALE when a chain has another rule count than was= says, and changes nothing', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      const before = save(ns, 'ipv4', 'filter');
      const wire = keepAll(await native.legacyRead('ipv4', ns.path, 'filter'))
        .replace('chain\tINPUT\twas=4', 'chain\tINPUT\twas=5')
        .replace('chain\tOUTPUT\twas=0', 'chain\tOUTPUT\twas=0\nrule\nverdict\tACCEPT');
      const e = await rejection(native.legacyCommit('ipv4', ns.path, [wire]));
      expect(e.code).toBe('ESTALE');
      expect(e.chain).toBe('INPUT');
      expect(e.message).toMatch(/INPUT/);
      expect(save(ns, 'ipv4', 'filter')).toEqual(before);
    }, PREFIX);
  });

  for (const [family, rules] of [
    ['ipv4', RULES4],
    ['ipv6', RULES6],
  ] as const) {
  it(`${family}: a table the kernel refuses puts back the tables committed before it, counters included`, async () => {
    await withNetns(async (ns) => {
      restore(ns, family, rules);
      restore(ns, family, '*nat\n:PREROUTING ACCEPT [3:33]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n');
      const filterBefore = save(ns, family, 'filter');
      const natBefore = save(ns, family, 'nat');
      // filter: flush everything, new policies; valid on its own.
      const filter = [
        `table\tfilter\tfamily=${family}`,
        'chain\tINPUT\tpolicy=ACCEPT\tpkts=0\tbytes=0',
        'rule',
        'verdict\tDROP',
        'chain\tFORWARD',
        'chain\tOUTPUT',
        '',
      ].join('\n');
      // nat: a loop of jumps reachable from PREROUTING; the kernel says ELOOP.
      const nat = [
        `table\tnat\tfamily=${family}`,
        'chain\tPREROUTING',
        'rule',
        'jump\tA',
        'chain\tINPUT',
        'chain\tOUTPUT',
        'chain\tPOSTROUTING',
        'chain\tA',
        'rule',
        'jump\tB',
        'chain\tB',
        'rule',
        'jump\tA',
        '',
      ].join('\n');
      const e = await rejection(native.legacyCommit(family, ns.path, [filter, nat]));
      expect(e.code).toBe('ELOOP');
      expect(e.table).toBe('nat');
      expect(e.message).toMatch(/nat/);
      expect(save(ns, family, 'filter')).toEqual(filterBefore);
      expect(save(ns, family, 'nat')).toEqual(natBefore);
      // A second table that is stale fails before anything is committed.
      const natStale = `table\tnat\tfamily=${family}\nchain\tPREROUTING\twas=9\nchain\tINPUT\nchain\tOUTPUT\nchain\tPOSTROUTING\n`;
      const stale = await rejection(native.legacyCommit(family, ns.path, [filter, natStale]));
      expect(stale.code).toBe('ESTALE');
      expect(stale.table).toBe('nat');
      expect(stale.chain).toBe('PREROUTING');
      expect(save(ns, family, 'filter')).toEqual(filterBefore);
      // And the same commit without the bad table goes through.
      await native.legacyCommit(family, ns.path, [filter]);
      expect(save(ns, family, 'filter')).not.toEqual(filterBefore);
    }, PREFIX);
  });
  }

  it('rejects malformed wire with EINVAL naming the record and line, before touching the kernel', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      const before = save(ns, 'ipv4', 'filter');
      const base = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\nchain\tFORWARD\nchain\tOUTPUT\n';
      const cases: [string, RegExp][] = [
        [base + 'rule\tsrc=10.0.0.%ZZ\n', /line 5.*rule record: bad escape/],
        [base + 'bogus\tx\n', /line 5.*bogus record: unknown record kind/],
        [base + 'rule\tcolour=red\n', /line 5.*rule record: unknown key 'colour'/],
        [base + 'rule\tsrc=10.0.0.300/8\n', /line 5.*src=10\.0\.0\.300\/8/],
        [base + 'rule\njump\tNOSUCH\n', /line 6.*NOSUCH/],
        [base + 'rule\njump\tINPUT\n', /line 6.*built-in chain INPUT/],
        [base + 'keep\t1\nkeep\t0\n', /line 6.*strictly increasing/],
        [base + 'rule\nmatch\tnosuchmatch\t0\tport=1\n', /line 6.*no codec for match nosuchmatch/],
        ['table\tfilter\tfamily=ipv6\n', /line 1.*family=ipv6/],
      ];
      for (const [wire, msg] of cases) {
        const e = await rejection(native.legacyCommit('ipv4', ns.path, [wire]));
        expect(e.code, wire).toBe('EINVAL');
        expect(e.message, wire).toMatch(msg);
      }
      expect(save(ns, 'ipv4', 'filter')).toEqual(before);
    }, PREFIX);
  });

  it("rejects a codec's bad field with EINVAL naming table, chain and field", async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      const wire = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\nrule\tproto=6\nmatch\ttcp\t0\tdpts=banana\nchain\tFORWARD\nchain\tOUTPUT\n';
      const e = await rejection(native.legacyCommit('ipv4', ns.path, [wire]));
      expect(e.code).toBe('EINVAL');
      expect(e.table).toBe('filter');
      expect(e.chain).toBe('INPUT');
      expect(e.message).toMatch(/tcp.*dpts/);
    }, PREFIX);
  });

  // append=1: what `iptables-legacy-restore -n` does for -A lines, without a read to plan it.
  const APPEND_BASE = `*filter
:INPUT ACCEPT [5:500]
:FORWARD DROP [2:20]
:OUTPUT ACCEPT [0:0]
:DOCKER-ISOLATION - [0:0]
:DOCKER-USER - [0:0]
[3:300] -A FORWARD -j DOCKER-USER
[1:100] -A DOCKER-ISOLATION -j RETURN
[4:400] -A DOCKER-USER -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [6:600]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [1:10]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
[8:800] -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
[2:200] -A DOCKER -i docker0 -j RETURN
COMMIT
`;
  const APPEND_LINES = `*filter
[5:50] -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
[0:0] -A FORWARD -j DOCKER-ISOLATION
[0:0] -A DOCKER-USER -s 10.9.0.0/16 -j DROP
COMMIT
*nat
[0:0] -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
[0:0] -A DOCKER -i br+ -j RETURN
COMMIT
`;

  /** An append=1 wire of the rules `after` has beyond `before` (zero counters left out). */
  function appendWire(before: string, after: string): string {
    const head = after.split('\n')[0]!;
    const lines = [`${head}\tappend=1`];
    const had = new Map(chains(before).map((c) => [c.name, c.rules.length]));
    for (const c of chains(after)) {
      const added = c.rules.slice(had.get(c.name) ?? 0);
      if (added.length === 0) continue;
      lines.push(`chain\t${c.name}`);
      for (const r of added) lines.push(r[0]!.replace('\tpkts=0\tbytes=0', ''), ...r.slice(1));
    }
    return lines.join('\n') + '\n';
  }

  it('ipv4 append=1: appends to nat DOCKER and filter chains as iptables-legacy-restore -n does, counters kept', async () => {
    const ns = new Netns(PREFIX);
    const oracle = new Netns(PREFIX);
    try {
      restore(ns, 'ipv4', APPEND_BASE);
      restore(oracle, 'ipv4', APPEND_BASE);
      const base = { filter: save(ns, 'ipv4', 'filter'), nat: save(ns, 'ipv4', 'nat') };
      const wires: string[] = [];
      const read: Record<string, string> = {};
      for (const table of ['filter', 'nat']) read[table] = await native.legacyRead('ipv4', ns.path, table);
      oracle.ok('iptables-legacy-restore', ['-n', '-c'], APPEND_LINES);
      for (const table of ['filter', 'nat']) {
        wires.push(appendWire(read[table]!, await native.legacyRead('ipv4', oracle.path, table)));
      }
      expect(wires[0]).toMatch(/^table\tfilter\tfamily=ipv4\tappend=1\nchain\tFORWARD\nrule\tpkts=5\tbytes=50/);
      expect(wires[0]).toMatch(/\nrule\n(?:.*\n)?jump\tDOCKER-ISOLATION\n/);
      expect(wires[0]).not.toMatch(/chain\t(INPUT|OUTPUT|DOCKER-ISOLATION)\b/);
      expect(wires[1]).not.toMatch(/chain\tPREROUTING/);
      await native.legacyCommit('ipv4', ns.path, wires);
      for (const table of ['filter', 'nat']) {
        const now = save(ns, 'ipv4', table);
        // iptables-legacy-restore -n lets libiptc zero the built-in chains' counters; the
        // addon keeps them, as every commit of a changed table does: compare without them.
        const policyless = (lines: string[]) => lines.map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1'));
        expect(policyless(now)).toEqual(policyless(save(oracle, 'ipv4', table)));
        // The rules that were there keep their counters; the built-in chains theirs.
        for (const l of base[table as 'filter' | 'nat']) {
          if (l.startsWith('[') || l.startsWith(':')) expect(now).toContain(l);
        }
      }
      expect(checkEachRule(ns, 'ipv4', 'filter')).toBe(6);
      expect(checkEachRule(ns, 'ipv4', 'nat')).toBe(4);
    } finally {
      ns.delete();
      oracle.delete();
    }
  });

  it('ipv4 append=1: a missing chain is ENOENT naming table and chain, and nothing changes (rollback as ever)', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', APPEND_BASE);
      const before = { filter: save(ns, 'ipv4', 'filter'), nat: save(ns, 'ipv4', 'nat') };
      const filter = 'table\tfilter\tfamily=ipv4\tappend=1\nchain\tDOCKER-USER\nrule\nverdict\tDROP\n';
      const nat = 'table\tnat\tfamily=ipv4\tappend=1\nchain\tDOCKER\nrule\nverdict\tRETURN\nchain\tNOPE\nrule\nverdict\tACCEPT\n';
      const e = await rejection(native.legacyCommit('ipv4', ns.path, [filter, nat]));
      expect(e.code).toBe('ENOENT');
      expect(e.table).toBe('nat');
      expect(e.chain).toBe('NOPE');
      expect(e.message).toMatch(/nat.*NOPE.*No chain\/target\/match by that name/);
      // A jump to a chain the kernel does not have: ENOENT as well.
      const jump = 'table\tfilter\tfamily=ipv4\tappend=1\nchain\tFORWARD\nrule\njump\tNOSUCH\n';
      const j = await rejection(native.legacyCommit('ipv4', ns.path, [jump]));
      expect(j.code).toBe('ENOENT');
      expect(j.message).toMatch(/NOSUCH/);
      // The kernel refuses nat (DOCKER jumps to itself): filter, committed first, is put back.
      const loop = 'table\tnat\tfamily=ipv4\tappend=1\nchain\tDOCKER\nrule\njump\tDOCKER\n';
      const l = await rejection(native.legacyCommit('ipv4', ns.path, [filter, loop]));
      expect(l.code).toBe('ELOOP');
      expect(l.table).toBe('nat');
      expect(save(ns, 'ipv4', 'filter')).toEqual(before.filter);
      expect(save(ns, 'ipv4', 'nat')).toEqual(before.nat);
    }, PREFIX);
  });

  it('ipv4 append=1: keep, policy=, chain counters and was= are EINVAL naming the record and line', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', APPEND_BASE);
      const before = save(ns, 'ipv4', 'filter');
      const head = 'table\tfilter\tfamily=ipv4\tappend=1\n';
      const cases: [string, RegExp][] = [
        [head + 'chain\tFORWARD\nkeep\t0\n', /line 3.*keep record/],
        [head + 'chain\tFORWARD\nrule\nverdict\tACCEPT\nkeep\t0\n', /line 5.*keep record/],
        [head + 'chain\tFORWARD\tpolicy=ACCEPT\n', /line 2.*chain record: policy=/],
        [head + 'chain\tDOCKER-USER\nchain\tFORWARD\tpolicy=DROP\tpkts=1\tbytes=2\n', /line 3.*chain record/],
        [head + 'chain\tFORWARD\twas=1\nrule\nverdict\tACCEPT\n', /line 2.*chain record: was=/],
      ];
      for (const [wire, msg] of cases) {
        const e = await rejection(native.legacyCommit('ipv4', ns.path, [wire]));
        expect(e.code, wire).toBe('EINVAL');
        expect(e.message, wire).toMatch(msg);
      }
      expect(save(ns, 'ipv4', 'filter')).toEqual(before);
    }, PREFIX);
  });

  it('ipv4: -i + and ! -o + read as in=+ / out=+ and a read→commit saves the same', async () => {
    await withNetns(async (ns) => {
      restore(
        ns,
        'ipv4',
        '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n' +
          '[1:10] -A INPUT -i + -j ACCEPT\n[2:20] -A OUTPUT ! -o + -j DROP\n[0:0] -A FORWARD ! -i + -o + -j ACCEPT\nCOMMIT\n',
      );
      const before = save(ns, 'ipv4', 'filter');
      const wire = await native.legacyRead('ipv4', ns.path, 'filter');
      const rules = records(wire).filter((r) => r.kind === 'rule');
      expect(rules.map((r) => [r.fields['in'], r.fields['out'], r.fields['inv'] ?? '0'])).toEqual([
        ['+', undefined, '0'],
        ['+', '+', '1'],
        [undefined, '+', '2'],
      ]);
      await native.legacyCommit('ipv4', ns.path, [wire]);
      // iptables-legacy-save prints none of these interfaces (nor their !), so -C cannot
      // check them; the read after the commit shows the same bytes.
      expect(save(ns, 'ipv4', 'filter')).toEqual(before);
      expect(before).toContain('[2:20] -A OUTPUT -j DROP');
      expect(await native.legacyRead('ipv4', ns.path, 'filter')).toBe(wire);
    }, PREFIX);
  });

  it('a namespace path that does not exist rejects with ENOENT', async () => {
    const e = await rejection(native.legacyRead('ipv4', '/var/run/netns/iptkit-legacy-no-such-ns', 'filter'));
    expect(e.code).toBe('ENOENT');
    expect(e.message).toMatch(/iptkit-legacy-no-such-ns/);
    const c = await rejection(native.legacyCommit('ipv4', '/var/run/netns/iptkit-legacy-no-such-ns', []));
    expect(c.code).toBe('ENOENT');
  });

  it('a table the kernel does not have rejects with ENOENT naming it', async () => {
    await withNetns(async (ns) => {
      const e = await rejection(native.legacyRead('ipv4', ns.path, 'nosuchtable'));
      expect(e.code).toBe('ENOENT');
      expect(e.table).toBe('nosuchtable');
      expect(e.message).toMatch(/nosuchtable/);
    }, PREFIX);
  });

  it('concurrent calls in two namespaces each see only their own namespace', async () => {
    const a = new Netns(PREFIX);
    const b = new Netns(PREFIX);
    try {
      restore(a, 'ipv4', RULES4);
      restore(b, 'ipv4', EXT4_FILTER);
      const wireA = await native.legacyRead('ipv4', a.path, 'filter');
      const wireB = await native.legacyRead('ipv4', b.path, 'filter');
      const saveB = save(b, 'ipv4', 'filter');
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 16; i++) {
        calls.push(native.legacyRead('ipv4', a.path, 'filter').then((w) => expect(w).toBe(wireA)));
        // The read wire itself re-creates every rule with its counters: a real replace each time.
        calls.push(native.legacyCommit('ipv4', b.path, [wireB]));
        calls.push(native.legacyRead('ipv4', b.path, 'filter').then((w) => expect(w).toBe(wireB)));
        calls.push(native.legacyTableNames('ipv4', a.path).then((n) => expect(n).toContain('filter')));
      }
      await Promise.all(calls);
      expect(save(b, 'ipv4', 'filter')).toEqual(saveB);
    } finally {
      a.delete();
      b.delete();
    }
  });

  it('an unprivileged process gets EPERM', async () => {
    await withNetns(async (ns) => {
      const script = `/tmp/iptkit-legacy-eperm-${process.pid}.cjs`;
      writeFileSync(
        script,
        `const b = require(${JSON.stringify(nativePath)});
         b.legacyRead('ipv4', null, 'filter').then(() => console.log('resolved'), (e) => console.log(e.code));`,
      );
      try {
        const r = spawnSync(
          'ip',
          ['netns', 'exec', ns.name, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
            '--inh-caps=-all', '--bounding-set=-all', process.execPath, script],
          { encoding: 'utf8' },
        );
        expect(r.stderr).toBe('');
        expect(r.stdout.trim()).toBe('EPERM');
      } finally {
        rmSync(script, { force: true });
      }
    }, PREFIX);
  });

  it('reads and commits 30,000 rules (timings printed, not asserted)', async () => {
    await withNetns(async (ns) => {
      const n = 30_000;
      const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':BIG - [0:0]'];
      for (let i = 0; i < n; i++) {
        lines.push(`-A BIG -s 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 -i eth${i % 7} -p tcp -j ACCEPT`);
      }
      lines.push('-A INPUT -j BIG', 'COMMIT', '');
      restore(ns, 'ipv4', lines.join('\n'));
      let t = performance.now();
      const wire = await native.legacyRead('ipv4', ns.path, 'filter');
      const readMs = performance.now() - t;
      expect(chains(wire).find((c) => c.name === 'BIG')!.rules).toHaveLength(n);

      const keep = keepAll(wire).replace('chain\tBIG\twas=30000\n', 'chain\tBIG\twas=30000\nrule\tproto=17\nverdict\tDROP\n');
      t = performance.now();
      await native.legacyCommit('ipv4', ns.path, [keep]);
      const keepMs = performance.now() - t;

      // Every rule new: the whole chain re-created from the wire.
      const fresh = wire
        .split('\n')
        .map((l) => (l.startsWith('chain\t') ? l.split('\t').slice(0, 2).join('\t') : l))
        .join('\n');
      t = performance.now();
      await native.legacyCommit('ipv4', ns.path, [fresh]);
      const freshMs = performance.now() - t;
      expect(save(ns, 'ipv4', 'filter').filter((l) => l.includes('-A BIG'))).toHaveLength(n);
      console.log(
        `30,000 rules: read ${readMs.toFixed(1)} ms (${(wire.length / 1e6).toFixed(1)} MB wire); ` +
          `commit keep-all + 1 ${keepMs.toFixed(1)} ms; commit all new ${freshMs.toFixed(1)} ms`,
      );
    }, PREFIX);
  });
});
