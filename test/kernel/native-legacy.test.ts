// The native legacy back end (legacyTableNames, legacyRead, legacyCommit) called directly,
// against the real kernel in throwaway network namespaces, on the wire of docs/wire.md: rules
// cross as their canonical text. The oracles are iptables-legacy-save and
// iptables-legacy-restore: a read must print each rule as the tool saves it, and what the
// addon commits must save exactly like what the tool restores for the same rules.

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { NativeBinding, NativeFamily, NativeTableRead } from '../../src/native-binding.js';
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
  cmd: string;
}
const TOOLS: Record<NativeFamily, Tools> = {
  ipv4: { save: 'iptables-legacy-save', restore: 'iptables-legacy-restore', cmd: 'iptables-legacy' },
  ipv6: { save: 'ip6tables-legacy-save', restore: 'ip6tables-legacy-restore', cmd: 'ip6tables-legacy' },
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

/** `iptables -C` with these arguments in the namespace: whether the kernel has that entry. */
function has(ns: Netns, family: NativeFamily, table: string, chain: string, args: string[]): boolean {
  const r = ns.run(TOOLS[family].cmd, ['-t', table, '-C', chain, ...args]);
  return r.status === 0;
}

/**
 * `iptables -C` finds every saved rule: the tool builds each entry from its text and compares
 * it with the kernel's (ip fields, interface masks, match and target data), so this checks the
 * bytes the addon wrote, beyond what save prints.
 */
function checkEachRule(ns: Netns, family: NativeFamily, table: string): number {
  let n = 0;
  for (const line of save(ns, family, table)) {
    const m = /^\[\d+:\d+\] -A (\S+) ?(.*)$/.exec(line);
    if (!m) continue;
    const r = ns.run(TOOLS[family].cmd, ['-t', table, '-C', m[1]!, ...words(m[2]!)]);
    expect(r.status, `${TOOLS[family].cmd} -C ${m[1]} ${m[2]}: ${r.stderr}`).toBe(0);
    n++;
  }
  return n;
}

interface WireChain {
  /** The chain record as read. */
  line: string;
  name: string;
  policy?: string;
  packets?: bigint;
  bytes?: bigint;
  references?: number;
  /** The rules' canonical texts. */
  rules: string[];
  /** [packets, bytes] per rule. */
  counters: [bigint, bigint][];
}

/** A read, taken apart as docs/wire.md ("Read") lays it out; checks the framing on the way. */
function chains(read: NativeTableRead): WireChain[] {
  const lines = read.wire.split('\n');
  expect(lines.at(-1), 'the wire ends with a newline').toBe('');
  expect(lines[0]).toMatch(/^table\t[^\t]+\tipv[46]$/);
  const out: WireChain[] = [];
  let i = 1;
  let k = 0; // ordinal of the next rule in the table
  while (i < lines.length - 1) {
    const line = lines[i++]!;
    const f = line.split('\t');
    expect(f[0], line).toBe('chain');
    const n = Number(f.at(-1));
    expect(Number.isInteger(n) && i + n <= lines.length - 1, line).toBe(true);
    const c: WireChain = { line, name: f[1]!, rules: lines.slice(i, i + n), counters: [] };
    if (f[2] === '-') {
      expect(f, line).toHaveLength(5);
      c.references = Number(f[3]);
    } else {
      expect(f, line).toHaveLength(6);
      expect(['ACCEPT', 'DROP']).toContain(f[2]);
      c.policy = f[2]!;
      c.packets = BigInt(f[3]!);
      c.bytes = BigInt(f[4]!);
    }
    for (let j = 0; j < n; j++, k++) c.counters.push([read.counters[2 * k]!, read.counters[2 * k + 1]!]);
    out.push(c);
    i += n;
  }
  expect(read.counters).toBeInstanceOf(BigUint64Array);
  expect(read.counters.length, 'two counters per rule').toBe(2 * k);
  expect(read.handles).toBeNull();
  return out;
}

/** A read as `iptables-legacy-save -c -t TABLE` prints it (saveLines form). */
function asSave(table: string, read: NativeTableRead): string[] {
  const cs = chains(read);
  const out = [`*${table}`];
  for (const c of cs) out.push(`:${c.name} ${c.policy ?? '-'} [${c.packets ?? 0}:${c.bytes ?? 0}]`);
  for (const c of cs) {
    c.rules.forEach((text, j) => out.push(`[${c.counters[j]![0]}:${c.counters[j]![1]}] -A ${c.name}${text ? ' ' + text : ''}`));
  }
  out.push('COMMIT');
  return out;
}

function tableOf(read: NativeTableRead): { table: string; family: NativeFamily } {
  const [, table, family] = read.wire.split('\n')[0]!.split('\t');
  return { table: table!, family: family as NativeFamily };
}

/** A commit wire that keeps every rule of a read and changes nothing (with was= guards). */
function keepAll(read: NativeTableRead): string {
  const { table, family } = tableOf(read);
  const lines = [`table\t${table}\tfamily=${family}`];
  for (const c of chains(read)) {
    lines.push(`chain\t${c.name}\twas=${c.rules.length}`);
    c.rules.forEach((_, i) => lines.push(`keep\t${i}`));
  }
  return lines.join('\n') + '\n';
}

/** A commit record for a new rule: its counters (`-` for zero) and text. */
function ruleRecord(text: string, counters?: readonly [bigint, bigint]): string {
  return counters && (counters[0] || counters[1]) ? `rule\t${counters[0]}\t${counters[1]}\t${text}` : `rule\t-\t-\t${text}`;
}

/**
 * A read as a commit that re-creates every rule from its text, with its counters, and sets
 * every built-in chain's policy and counters: nothing is kept.
 */
function allNew(read: NativeTableRead): string {
  const { table, family } = tableOf(read);
  const lines = [`table\t${table}\tfamily=${family}`];
  for (const c of chains(read)) {
    lines.push(c.policy ? `chain\t${c.name}\tpolicy=${c.policy}\tpkts=${c.packets}\tbytes=${c.bytes}` : `chain\t${c.name}`);
    c.rules.forEach((text, i) => lines.push(ruleRecord(text, c.counters[i])));
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

// The extensions of docs/design.md, as iptables-save prints them.
const EXT4_FILTER = `*filter
:INPUT ACCEPT [10:1000]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
[1:60] -A INPUT -p tcp -m tcp --sport 1024:65535 --dport 22 --tcp-flags SYN,RST,ACK,FIN SYN -j ACCEPT
[0:0] -A INPUT -p tcp -m tcp ! --dport 8000:8080 ! --tcp-flags FIN,SYN FIN -j DROP
[0:0] -A INPUT -m statistic --mode random --probability 0.25 -j ACCEPT
[0:0] -A INPUT -m statistic --mode nth ! --every 3 --packet 1 -j DROP
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
[2:120] -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
[0:0] -A POSTROUTING -o eth0 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j TCPMSS --set-mss 1400
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
[0:0] -A INPUT -m statistic --mode random ! --probability 0.5 -j ACCEPT
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

  it('reads an IPv4 table into the wire: chains, policies, counters, canonical rule texts', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      const read = await native.legacyRead('ipv4', ns.path, 'filter');
      expect(read.wire.split('\n')[0]).toBe('table\tfilter\tipv4');
      const cs = chains(read);
      expect(cs.map((c) => c.line)).toEqual([
        'chain\tINPUT\tDROP\t5\t500\t4',
        'chain\tFORWARD\tACCEPT\t0\t0\t2',
        'chain\tOUTPUT\tACCEPT\t1\t2\t0',
        'chain\tUSER1\t-\t1\t1',
        'chain\tUSER2\t-\t1\t1',
      ]);
      const [input, forward, , user1, user2] = cs;
      expect(input!.rules).toEqual([
        '-s 10.0.0.0/8 -d 192.168.1.1/32 -i eth+ -p tcp -j ACCEPT',
        '-f -g USER2',
        '! -f',
        // No module prints xt_length: its bytes travel as the opaque marker.
        expect.stringMatching(/^-m length --iptkit-opaque 0:[0-9a-f]{16} -j RETURN$/),
      ]);
      expect(input!.counters).toEqual([
        [3n, 300n],
        [0n, 0n],
        [0n, 0n],
        [7n, 700n],
      ]);
      expect(forward!.rules).toEqual([
        '! -s 10.1.0.0/255.255.0.255 ! -i lo -o eth0 ! -p udp -j USER1',
        '-i veth1234567890a -o br+ -j DROP',
      ]);
      expect(forward!.counters).toEqual([
        [4n, 400n],
        [0n, 0n],
      ]);
      expect(user1!.rules).toEqual(['-j RETURN']);
      expect(user2!.rules).toEqual(['-p tcp -m tcp --dport 80 -j DROP']);
      expect(user2!.counters).toEqual([[9n, 90n]]);
      // Everything but the opaque rule is exactly what iptables-legacy-save prints.
      const saved = save(ns, 'ipv4', 'filter');
      const mine = asSave('filter', read);
      expect(mine.filter((l) => !l.includes('--iptkit-opaque'))).toEqual(saved.filter((l) => !l.includes(' -m length ')));
      expect(saved).toContain('[7:700] -A INPUT -m length --length 100:200 -j RETURN');
    }, PREFIX);
  });

  // From 8,192 rules a read prints its rules in pieces on helper threads (common/parallel.h):
  // each piece writes the chain headers that fall in it, empty chains included, and each
  // enters the namespace (an ipset's name is asked of its kernel).
  it('reads a table printed in pieces as iptables-legacy-save prints it, headers at the edges', async () => {
    await withNetns(async (ns) => {
      ns.ok('ipset', ['create', 'pieces-set', 'hash:ip']);
      const half = 4096;
      const lines = ['*filter', ':INPUT ACCEPT [1:2]', ':FORWARD DROP [3:4]', ':OUTPUT ACCEPT [5:6]', ':E1 - [0:0]', ':A - [0:0]', ':E2 - [0:0]', ':B - [0:0]', ':E3 - [0:0]'];
      for (let i = 0; i < half; i++) lines.push(`[${i}:${2 * i}] -A INPUT -s 10.0.${i >> 8}.${i & 255}/32 -p tcp -m tcp --dport ${i + 1} -j ACCEPT`);
      for (let i = 0; i < half; i++) lines.push(`[${i + 1}:7] -A A -m set --match-set pieces-set src -m comment --comment "r${i}" -j E2`);
      lines.push('[9:9] -A B -j E3', 'COMMIT', '');
      restore(ns, 'ipv4', lines.join('\n'));
      const read = await native.legacyRead('ipv4', ns.path, 'filter');
      const mine = asSave('filter', read);
      expect(mine.length).toBe(2 + 8 + 2 * half + 1);
      expect(mine).toEqual(save(ns, 'ipv4', 'filter'));
      expect(mine).toContain('[4096:7] -A A -m set --match-set pieces-set src -m comment --comment r4095 -j E2');
    }, PREFIX);
  });

  it('reads an IPv6 table into the wire', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv6', RULES6);
      const read = await native.legacyRead('ipv6', ns.path, 'filter');
      expect(read.wire.split('\n')[0]).toBe('table\tfilter\tipv6');
      const cs = chains(read);
      expect(cs.map((c) => c.line)).toEqual([
        'chain\tINPUT\tACCEPT\t2\t200\t3',
        'chain\tFORWARD\tDROP\t0\t0\t1',
        'chain\tOUTPUT\tACCEPT\t0\t0\t0',
        'chain\tUSER6\t-\t2\t1',
      ]);
      expect(cs[0]!.rules).toEqual([
        '-s fd00::/16 -d 2001:db8::1/128 -i eth+ -p tcp -j ACCEPT',
        '! -s fd00:1::/ffff:ffff:0:ffff:: ! -p udp -g USER6',
        expect.stringMatching(/^-m length --iptkit-opaque 0:[0-9a-f]{16}$/),
      ]);
      expect(cs[0]!.counters).toEqual([
        [3n, 300n],
        [1n, 10n],
        [0n, 0n],
      ]);
      expect(cs[1]!.rules).toEqual(['! -i lo -o eth0 -j USER6']);
      const saved = save(ns, 'ipv6', 'filter');
      expect(asSave('filter', read).filter((l) => !l.includes('--iptkit-opaque'))).toEqual(
        saved.filter((l) => !l.includes(' -m length ')),
      );
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
        const read = await native.legacyRead(family, ns.path, 'filter');
        await native.legacyCommit(family, ns.path, [keepAll(read)]);
        expect(save(ns, family, 'filter')).toEqual(before);
        const again = await native.legacyRead(family, ns.path, 'filter');
        expect(again.wire).toBe(read.wire);
        expect(again.counters).toEqual(read.counters);
      }, PREFIX);
    });
  }

  it('keeprun keeps rules by position as a run of keep records would; out of range is refused', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-legacy-restore', ['-c'], '*filter\n:INPUT ACCEPT [0:0]\n[1:10] -A INPUT -i a1 -j ACCEPT\n[2:20] -A INPUT -i a2 -j ACCEPT\n[3:30] -A INPUT -i a3 -j ACCEPT\n[4:40] -A INPUT -i a4 -j ACCEPT\nCOMMIT\n');
      const saved = saveLines(ns.ok('iptables-legacy-save', ['-c']));
      const head = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\nchain\tFORWARD\nchain\tOUTPUT\n';
      const input = (body: string): string => head.replace('chain\tINPUT\n', `chain\tINPUT\n${body}`);
      await expect(native.legacyCommit('ipv4', ns.path, [input('keeprun\t3\t2\n')])).rejects.toMatchObject({ table: 'filter' });
      await expect(native.legacyCommit('ipv4', ns.path, [input('keeprun\t1\n')])).rejects.toMatchObject({ code: 'EINVAL' });
      // 2^22 rules a record at most, and a table's runs together too (each is an item of the plan).
      const big = `keeprun\t0\t${2 ** 21}\n`;
      await expect(native.legacyCommit('ipv4', ns.path, [input(big + big + 'keeprun\t0\t1\n')])).rejects.toThrow(
        /wire line 5 \(chain INPUT\): keeprun record: the table's runs keep more than 4194304 rules/,
      );
      expect(saveLines(ns.ok('iptables-legacy-save', ['-c']))).toEqual(saved);
      await native.legacyCommit('ipv4', ns.path, [input('keeprun\t0\t2\nrule\t-\t-\t-i b1 -j DROP\nkeep\t3\n')]);
      expect(saveLines(ns.ok('iptables-legacy-save', ['-c'])).filter((l) => l.includes('-A INPUT'))).toEqual([
        '[1:10] -A INPUT -i a1 -j ACCEPT',
        '[2:20] -A INPUT -i a2 -j ACCEPT',
        '[0:0] -A INPUT -i b1 -j DROP',
        '[4:40] -A INPUT -i a4 -j ACCEPT',
      ]);
    }, PREFIX);
  });

  it('ipv4: new rules, chains and policies save exactly as iptables-legacy-restore makes them', async () => {
    const ns = new Netns(PREFIX);
    const oracle = new Netns(PREFIX);
    try {
      restore(ns, 'ipv4', RULES4);
      const read = await native.legacyRead('ipv4', ns.path, 'filter');
      // The opaque length match as read, re-used in a new rule: its bytes come back as they were.
      const length = chains(read)[0]!.rules[3]!.replace(/ -j RETURN$/, '');
      // INPUT: keep 0, drop the goto to USER2 and `! -f`, keep the length rule, add three.
      // FORWARD: new policy with counters, drop rule 1, keep rule 0 and add after it.
      // OUTPUT: policy change without counters keeps its counters [1:2].
      // USER2 goes away (its only reference went with the goto); NEWCHAIN appears.
      const commit = [
        'table\tfilter\tfamily=ipv4',
        'chain\tINPUT\twas=4',
        'rule\t11\t1100\t! -s 172.16.0.0/12 -p tcp -j NEWCHAIN',
        'keep\t0',
        'rule\t-\t-\t! -i wlan+ -j DROP',
        'keep\t3',
        `rule\t-\t-\t-d 192.0.2.0/24 -f ${length} -j QUEUE`,
        'chain\tFORWARD\tpolicy=DROP\tpkts=7\tbytes=70\twas=2',
        'keep\t0',
        'rule\t-\t-\t! -i eth0 -j USER1',
        'chain\tOUTPUT\tpolicy=DROP',
        'chain\tNEWCHAIN',
        'rule\t-\t-\t-p udp -j RETURN',
        'rule\t-\t-\t-g USER1',
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

  it('ipv4: rules in any spelling iptables takes give the entries iptables-legacy-restore gives', async () => {
    // Long option names, implicit matches, protocol numbers, host bits, octal address parts,
    // options after the target, quoting: the dialect reads them as iptables does, and the
    // entries it makes are the tool's (checked by save and by -C on each rule).
    const spellings: [string, string][] = [
      ['-', '-s 10.1.2.3/32 -i eth0 -p tcp --dport 22 -j ACCEPT'],
      ['-', '--source 10.1.2.4 --destination 192.168.0.1/24 -p 6 -m tcp --dport 80 -j ACCEPT'],
      ['5\t500', '-p tcp -m tcp --sport 1024: ! --dport 443 -s 10.1.2.5/255.255.255.255 ! -i br+ -j DROP'],
      ['-', '-s 010.1.2.6/32 -p udp -j DROP'],
      ['-', '-j ACCEPT -p udp -m udp --dport 53'],
      ['-', '-m comment --comment "say \\"hi\\" to \'x\'" -j ACCEPT'],
      ['-', '-p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW,ESTABLISHED -j LOG --log-prefix "x: "'],
      ['-', '-m state --state NEW'],
      ['-', '-p icmp --icmp-type echo-request -j ACCEPT'],
    ];
    const ns = new Netns(PREFIX);
    const oracle = new Netns(PREFIX);
    try {
      restore(ns, 'ipv4', RULES4);
      const heads = save(ns, 'ipv4', 'filter').filter((l) => l.startsWith(':'));
      const commit = [
        'table\tfilter\tfamily=ipv4',
        'chain\tINPUT\twas=4',
        'keep\t0',
        ...spellings.map(([c, text]) => `rule\t${c === '-' ? '-\t-' : c}\t${text}`),
        'keep\t1',
        'keep\t2',
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
      await native.legacyCommit('ipv4', ns.path, [commit]);
      restore(oracle, 'ipv4', RULES4);
      const input = spellings.map(([c, text]) => `[${c === '-' ? '0:0' : c.replace('\t', ':')}] -I INPUT 2 ${text}`).reverse();
      // -I INPUT 2, last first: the new rules land between rule 0 and rule 1.
      oracle.ok('iptables-legacy-restore', ['-n', '-c'], `*filter\n${input.join('\n')}\nCOMMIT\n`);
      // iptables-legacy-restore -n zeroes the built-in chains' counters (libiptc does); the
      // addon keeps them: compare those apart.
      const policyless = (lines: string[]) => lines.map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1'));
      const now = save(ns, 'ipv4', 'filter');
      expect(policyless(now)).toEqual(policyless(save(oracle, 'ipv4', 'filter')));
      expect(now.filter((l) => l.startsWith(':'))).toEqual(heads);
      expect(checkEachRule(ns, 'ipv4', 'filter')).toBe(8 + spellings.length);
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
        'rule\t5\t50\t-s 2001:db8::/32 ! -d fd00::1/128 -p ipv6-icmp -j ACCEPT',
        'chain\tFORWARD\tpolicy=ACCEPT\tpkts=0\tbytes=0',
        'chain\tOUTPUT',
        'rule\t-\t-\t-o eth+ -p tcp -j USER6',
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

  // Every rule re-created from its text (a read turned into a commit of new rules with their
  // counters, built-in chains with policy and counters) must give back the same table, byte
  // for byte: this runs every extension's printer and parser, and the opaque markers of the
  // ones without a module, through the kernel. Each read is also what iptables-legacy-save
  // prints, rule for rule, where a module prints the rule.
  const MANGLE_OPAQUE = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
[3:4] -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j DSCP --set-dscp 0x0a
[0:0] -A FORWARD -m length --length 10:20 -j TTL --ttl-set 5
[0:0] -A FORWARD -m ttl --ttl-eq 64 -j ACCEPT
COMMIT
`;
  for (const [label, family, table, text] of [
    ['docker host', 'ipv4', 'nat', readFileSync(join(root, 'fixtures', 'seed-docker-host.rules'), 'utf8')],
    ['extensions', 'ipv4', 'filter', EXT4_FILTER],
    ['extensions', 'ipv4', 'mangle', EXT4_MANGLE],
    ['extensions', 'ipv4', 'raw', EXT4_RAW],
    ['extensions', 'ipv6', 'filter', EXT6_FILTER],
    ['ip fields', 'ipv4', 'filter', RULES4],
    ['ip fields', 'ipv6', 'filter', RULES6],
    ['opaque matches and targets', 'ipv4', 'mangle', MANGLE_OPAQUE],
  ] as const) {
    it(`${family} ${table} (${label}): a read committed as all-new rules gives back the same table`, async () => {
      await withNetns(async (ns) => {
        restore(ns, family, text);
        const before = save(ns, family, table);
        const read = await native.legacyRead(family, ns.path, table);
        // Read == save, for every rule a module prints.
        const opaque = new Set(asSave(table, read).flatMap((l, i) => (l.includes('--iptkit-opaque') ? [i] : [])));
        expect(opaque.size).toBe(label.startsWith('opaque') ? 3 : label === 'ip fields' ? 1 : 0);
        expect(asSave(table, read).filter((_, i) => !opaque.has(i))).toEqual(before.filter((_, i) => !opaque.has(i)));
        // Rules leave the handle and come back from their text: nothing is kept.
        const flushFirst = [
          `table\t${table}\tfamily=${family}`,
          ...chains(read).filter((c) => c.policy).map((c) => `chain\t${c.name}`),
          '',
        ].join('\n');
        await native.legacyCommit(family, ns.path, [flushFirst]);
        expect(save(ns, family, table)).not.toEqual(before);
        await native.legacyCommit(family, ns.path, [allNew(read)]);
        expect(save(ns, family, table)).toEqual(before);
        expect(checkEachRule(ns, family, table)).toBe(before.filter((l) => l.includes(' -A ')).length);
        const again = await native.legacyRead(family, ns.path, table);
        expect(again.wire).toBe(read.wire);
        expect(again.counters).toEqual(read.counters);
      }, PREFIX);
    });
  }

  it('an extension without a module survives a read-modify-commit byte for byte', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      const before = await native.legacyRead('ipv4', ns.path, 'filter');
      // Move the length rule to the front: it is re-created from its opaque text, not kept.
      const input = chains(before)[0]!;
      const wire = [
        'table\tfilter\tfamily=ipv4',
        'chain\tINPUT',
        ruleRecord(input.rules[3]!, input.counters[3]),
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
      const after = chains(await native.legacyRead('ipv4', ns.path, 'filter'))[0]!;
      expect(after.rules).toEqual([input.rules[3], ...input.rules.slice(0, 3)]);
      expect(after.counters).toEqual([input.counters[3], ...input.counters.slice(0, 3)]);
      expect(save(ns, 'ipv4', 'filter')).toContain('[7:700] -A INPUT -m length --length 100:200 -j RETURN');
      expect(has(ns, 'ipv4', 'filter', 'INPUT', ['-m', 'length', '--length', '100:200', '-j', 'RETURN'])).toBe(true);
      // iptables-legacy-restore refuses the marker: it never passes for a rule it could restore.
      const r = ns.run('iptables-legacy-restore', ['-n'], `*filter\n-A INPUT ${input.rules[3]}\nCOMMIT\n`);
      expect(r.status).not.toBe(0);
    }, PREFIX);
  });

  it('rejects with ESTALE when a chain has another rule count than was= says, and changes nothing', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      const before = save(ns, 'ipv4', 'filter');
      const wire = keepAll(await native.legacyRead('ipv4', ns.path, 'filter'))
        .replace('chain\tINPUT\twas=4', 'chain\tINPUT\twas=5')
        .replace('chain\tOUTPUT\twas=0', 'chain\tOUTPUT\twas=0\nrule\t-\t-\t-j ACCEPT');
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
          'rule\t-\t-\t-j DROP',
          'chain\tFORWARD',
          'chain\tOUTPUT',
          '',
        ].join('\n');
        // nat: a loop of jumps reachable from PREROUTING; the kernel says ELOOP.
        const nat = [
          `table\tnat\tfamily=${family}`,
          'chain\tPREROUTING',
          'rule\t-\t-\t-j A',
          'chain\tINPUT',
          'chain\tOUTPUT',
          'chain\tPOSTROUTING',
          'chain\tA',
          'rule\t-\t-\t-j B',
          'chain\tB',
          'rule\t-\t-\t-j A',
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
        [base + 'bogus\tx\n', /line 5.*unknown record kind 'bogus'/],
        [base + 'rule\t-\t-\n', /line 5 \(chain OUTPUT\): rule record: needs packets, bytes and the rule's text/],
        [base + 'rule\t1\t-\t-j ACCEPT\n', /line 5.*rule record: packets and bytes are both counters or both '-'/],
        [base + 'rule\tx\t1\t-j ACCEPT\n', /line 5.*rule record: packets x and bytes 1 are not decimal/],
        [base + 'rule\t-\t-\t-s 10.0.0.300/8\n', /line 5 \(chain OUTPUT\): rule record: `-s 10\.0\.0\.300\/8': .*10\.0\.0\.300/],
        [base + 'rule\t-\t-\t-j NOSUCH\n', /line 5.*NOSUCH is neither a chain of the table nor a target/],
        [base + 'rule\t-\t-\t-j INPUT\n', /line 5.*built-in chain INPUT/],
        [base + 'rule\t-\t-\t-g ACCEPT\n', /line 5.*ACCEPT is neither a chain/],
        [base + 'rule\t-\t-\t-m nosuchmatch --port 1\n', /line 5.*nosuchmatch/],
        [base + 'rule\t-\t-\t-m length --iptkit-opaque 0:zz\n', /line 5.*opaque/],
        [base + 'rule\t-\t-\t-p tcp --dport 1 -j ACCEPT extra\n', /line 5.*extra/],
        [base + 'rule\t-\t-\t-m comment --comment "a\rb"\n', /line 5.*line break/],
        [base + 'keep\t1\nkeep\t0\n', /\(chain OUTPUT\): keep 0 after keep 1: kept positions must be strictly increasing/],
        [base + 'keep\tx\n', /line 5.*keep record/],
        [base + 'chain\tX\tcolour=red\n', /line 5.*chain record: unknown key 'colour'/],
        [base + 'chain\tINPUT\n', /line 5.*chain INPUT is listed twice/],
        [base + 'chain\tX\tpkts=1\tbytes=2\n', /line 5.*need policy=/],
        ['table\tfilter\tfamily=ipv6\n', /line 1.*family=ipv6/],
        ['chain\tINPUT\n', /line 1.*first record must be `table <name>`, got 'chain'/],
      ];
      for (const [wire, msg] of cases) {
        const e = await rejection(native.legacyCommit('ipv4', ns.path, [wire]));
        expect(e.code, wire).toBe('EINVAL');
        expect(e.message, wire).toMatch(msg);
      }
      expect(save(ns, 'ipv4', 'filter')).toEqual(before);
    }, PREFIX);
  });

  it('a rule that does not parse is EINVAL naming table, chain and line, before any table is committed', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', RULES4);
      restore(ns, 'ipv4', '*nat\n:PREROUTING ACCEPT [3:33]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n');
      const before = { filter: save(ns, 'ipv4', 'filter'), nat: save(ns, 'ipv4', 'nat') };
      const filter = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\tpolicy=ACCEPT\nrule\t-\t-\t-j DROP\nchain\tFORWARD\nchain\tOUTPUT\n';
      const nat =
        'table\tnat\tfamily=ipv4\nchain\tPREROUTING\nrule\t-\t-\t-p tcp -j ACCEPT\nrule\t-\t-\t-p tcp -m tcp --dport banana -j ACCEPT\n' +
        'chain\tINPUT\nchain\tOUTPUT\nchain\tPOSTROUTING\n';
      const e = await rejection(native.legacyCommit('ipv4', ns.path, [filter, nat]));
      expect(e.code).toBe('EINVAL');
      expect(e.table).toBe('nat');
      expect(e.chain).toBe('PREROUTING');
      expect(e.message).toMatch(/table nat wire line 4 \(chain PREROUTING\): rule record: `-p tcp -m tcp --dport banana -j ACCEPT': .*banana/);
      expect(save(ns, 'ipv4', 'filter')).toEqual(before.filter);
      expect(save(ns, 'ipv4', 'nat')).toEqual(before.nat);
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

  /** An append=1 wire of the rules `after` has beyond `before`. */
  function appendWire(before: NativeTableRead, after: NativeTableRead): string {
    const { table, family } = tableOf(after);
    const lines = [`table\t${table}\tfamily=${family}\tappend=1`];
    const had = new Map(chains(before).map((c) => [c.name, c.rules.length]));
    for (const c of chains(after)) {
      const from = had.get(c.name) ?? 0;
      if (c.rules.length === from) continue;
      lines.push(`chain\t${c.name}`);
      for (let i = from; i < c.rules.length; i++) lines.push(ruleRecord(c.rules[i]!, c.counters[i]));
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
      const read: Record<string, NativeTableRead> = {};
      for (const table of ['filter', 'nat']) read[table] = await native.legacyRead('ipv4', ns.path, table);
      oracle.ok('iptables-legacy-restore', ['-n', '-c'], APPEND_LINES);
      for (const table of ['filter', 'nat']) {
        wires.push(appendWire(read[table]!, await native.legacyRead('ipv4', oracle.path, table)));
      }
      expect(wires[0]).toMatch(
        /^table\tfilter\tfamily=ipv4\tappend=1\nchain\tFORWARD\nrule\t5\t50\t-o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n/,
      );
      expect(wires[0]).toMatch(/\nrule\t-\t-\t-j DOCKER-ISOLATION\n/);
      expect(wires[0]).not.toMatch(/chain\t(INPUT|OUTPUT|DOCKER-ISOLATION)\b/);
      expect(wires[1]).not.toMatch(/chain\tPREROUTING/);
      await native.legacyCommit('ipv4', ns.path, wires);
      for (const table of ['filter', 'nat']) {
        const now = save(ns, 'ipv4', table);
        // iptables-legacy-restore -n zeroes the built-in chains' counters (libiptc does); the
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
      const filter = 'table\tfilter\tfamily=ipv4\tappend=1\nchain\tDOCKER-USER\nrule\t-\t-\t-j DROP\n';
      const nat = 'table\tnat\tfamily=ipv4\tappend=1\nchain\tDOCKER\nrule\t-\t-\t-j RETURN\nchain\tNOPE\nrule\t-\t-\t-j ACCEPT\n';
      const e = await rejection(native.legacyCommit('ipv4', ns.path, [filter, nat]));
      expect(e.code).toBe('ENOENT');
      expect(e.table).toBe('nat');
      expect(e.chain).toBe('NOPE');
      expect(e.message).toMatch(/nat.*NOPE.*No chain\/target\/match by that name/);
      // A jump to a chain the kernel does not have: ENOENT as well.
      const jump = 'table\tfilter\tfamily=ipv4\tappend=1\nchain\tFORWARD\nrule\t-\t-\t-j NOSUCH\n';
      const j = await rejection(native.legacyCommit('ipv4', ns.path, [jump]));
      expect(j.code).toBe('ENOENT');
      expect(j.message).toMatch(/NOSUCH/);
      // The kernel refuses nat (DOCKER jumps to itself): filter, committed first, is put back.
      const loop = 'table\tnat\tfamily=ipv4\tappend=1\nchain\tDOCKER\nrule\t-\t-\t-j DOCKER\n';
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
        [head + 'chain\tFORWARD\nrule\t-\t-\t-j ACCEPT\nkeep\t0\n', /line 4.*keep record/],
        [head + 'chain\tFORWARD\tpolicy=ACCEPT\n', /line 2.*chain record: policy=/],
        [head + 'chain\tDOCKER-USER\nchain\tFORWARD\tpolicy=DROP\tpkts=1\tbytes=2\n', /line 3.*chain record/],
        [head + 'chain\tFORWARD\twas=1\nrule\t-\t-\t-j ACCEPT\n', /line 2.*chain record: was=/],
      ];
      for (const [wire, msg] of cases) {
        const e = await rejection(native.legacyCommit('ipv4', ns.path, [wire]));
        expect(e.code, wire).toBe('EINVAL');
        expect(e.message, wire).toMatch(msg);
      }
      expect(save(ns, 'ipv4', 'filter')).toEqual(before);
    }, PREFIX);
  });

  it('ipv4: -i + prints nothing (as iptables-legacy-save); ! -o + keeps its `!`, which that tool drops; read→commit keeps them', async () => {
    const ns = new Netns(PREFIX);
    try {
      restore(
        ns,
        'ipv4',
        '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n' +
          '[1:10] -A INPUT -i + -j ACCEPT\n[2:20] -A OUTPUT ! -o + -j DROP\n[0:0] -A FORWARD ! -i + -o + -j ACCEPT\n' +
          '[3:30] -A FORWARD\nCOMMIT\n',
      );
      const before = save(ns, 'ipv4', 'filter');
      const read = await native.legacyRead('ipv4', ns.path, 'filter');
      // The kernel holds `-i +` and `! -i +` as an all-zero mask (with the `!` in invflags).
      // iptables-legacy-save prints neither, nor the `!` — so its `! -o + -j DROP` (no packet)
      // reads as `-j DROP` (every packet). iptkit's text keeps the `!`, as iptables-nft-save
      // prints it: a rule's text is its identity.
      expect(before).toContain('[2:20] -A OUTPUT -j DROP');
      expect(chains(read).map((c) => c.rules)).toEqual([['-j ACCEPT'], ['! -i + -j ACCEPT', ''], ['! -o + -j DROP']]);
      // Kept rules keep their bytes.
      await native.legacyCommit('ipv4', ns.path, [keepAll(read)]);
      expect(has(ns, 'ipv4', 'filter', 'OUTPUT', ['!', '-o', '+', '-j', 'DROP'])).toBe(true);
      expect(has(ns, 'ipv4', 'filter', 'FORWARD', ['!', '-i', '+', '-o', '+', '-j', 'ACCEPT'])).toBe(true);
      // Re-created from their text they are the same rules, the `!` included.
      await native.legacyCommit('ipv4', ns.path, [allNew(read)]);
      expect(save(ns, 'ipv4', 'filter')).toEqual(before);
      expect(has(ns, 'ipv4', 'filter', 'OUTPUT', ['!', '-o', '+', '-j', 'DROP'])).toBe(true);
      const again = await native.legacyRead('ipv4', ns.path, 'filter');
      expect(again.wire).toBe(read.wire);
      expect(again.counters).toEqual(read.counters);
    } finally {
      ns.delete();
    }
  });

  it('comments: UTF-8 comes back as written; a line break in a rule reads as a space and the rule is kept', async () => {
    await withNetns(async (ns) => {
      restore(ns, 'ipv4', '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
      // Only the command line can write a line break into a comment (restore input cannot).
      const crlf = ['-m', 'comment', '--comment', 'two\nlines\rhere', '-j', 'ACCEPT'];
      const utf8 = ['-m', 'comment', '--comment', 'café ✓', '-j', 'DROP'];
      ns.ok('iptables-legacy', ['-A', 'INPUT', ...crlf]);
      ns.ok('iptables-legacy', ['-A', 'INPUT', ...utf8]);
      const read = await native.legacyRead('ipv4', ns.path, 'filter');
      expect(chains(read)[0]!.rules).toEqual(['-m comment --comment "two lines here" -j ACCEPT', '-m comment --comment "café ✓" -j DROP']);
      // Kept by position, the comment keeps its bytes; the UTF-8 one is re-created from its text.
      const commit = ['table\tfilter\tfamily=ipv4', 'chain\tINPUT\twas=2', 'keep\t0', ruleRecord(chains(read)[0]!.rules[1]!), 'chain\tFORWARD', 'chain\tOUTPUT', ''];
      await native.legacyCommit('ipv4', ns.path, [commit.join('\n')]);
      expect(has(ns, 'ipv4', 'filter', 'INPUT', crlf)).toBe(true);
      expect(has(ns, 'ipv4', 'filter', 'INPUT', utf8)).toBe(true);
      expect((await native.legacyRead('ipv4', ns.path, 'filter')).wire).toBe(read.wire);
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
      const readA = await native.legacyRead('ipv4', a.path, 'filter');
      const readB = await native.legacyRead('ipv4', b.path, 'filter');
      const saveB = save(b, 'ipv4', 'filter');
      const same = (r: NativeTableRead, want: NativeTableRead) => {
        expect(r.wire).toBe(want.wire);
        expect(r.counters).toEqual(want.counters);
      };
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 16; i++) {
        calls.push(native.legacyRead('ipv4', a.path, 'filter').then((r) => same(r, readA)));
        // Every rule re-created from its text with its counters: a real replace each time.
        calls.push(native.legacyCommit('ipv4', b.path, [allNew(readB)]));
        calls.push(native.legacyRead('ipv4', b.path, 'filter').then((r) => same(r, readB)));
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
      // The first read, and the best of three: the machine is shared, and the first reads
      // pay for fresh memory (the kernel's copy, V8's string).
      let read: NativeTableRead | undefined;
      const readMs: number[] = [];
      for (let k = 0; k < 3; k++) {
        const t = performance.now();
        read = await native.legacyRead('ipv4', ns.path, 'filter');
        readMs.push(performance.now() - t);
      }
      expect(chains(read!).find((c) => c.name === 'BIG')!.rules).toHaveLength(n);

      const keep = keepAll(read!).replace('chain\tBIG\twas=30000\n', 'chain\tBIG\twas=30000\nrule\t-\t-\t-p udp -j DROP\n');
      let t = performance.now();
      await native.legacyCommit('ipv4', ns.path, [keep]);
      const keepMs = performance.now() - t;

      // Every rule new: the whole chain re-created from its text.
      const fresh = allNew(read!);
      t = performance.now();
      await native.legacyCommit('ipv4', ns.path, [fresh]);
      const freshMs = performance.now() - t;
      expect(save(ns, 'ipv4', 'filter').filter((l) => l.includes('-A BIG'))).toHaveLength(n);
      console.log(
        `30,000 rules: read ${readMs[0]!.toFixed(1)} ms, best of 3 ${Math.min(...readMs).toFixed(1)} ms ` +
          `(${(read!.wire.length / 1e6).toFixed(1)} MB wire); ` +
          `commit keep-all + 1 ${keepMs.toFixed(1)} ms; commit all new ${freshMs.toFixed(1)} ms`,
      );
    }, PREFIX);
  });
});
