// The nf_tables back end's native side against the real tools, in throwaway namespaces:
// nftRead prints what iptables-nft-restore wrote as the same canonical rule texts (and
// counters) the legacy reader gives for the same rules, and as iptables-nft-save prints them;
// nftCommit writes what iptables-nft would (iptables-nft-save, -C and -D agree, and the
// netlink expressions are identical); rules written by nft directly and counters survive; a
// stale generation is refused; 30,000 rules go through in one batch.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { native, type NativeTableRead } from '../../src/binding.js';
import { isRoot, Netns, saveLines, withNetns } from '../helpers/netns.js';

type Fam = 'ipv4' | 'ipv6';

const tools = {
  ipv4: { restore: 'iptables-nft-restore', save: 'iptables-nft-save', cmd: 'iptables-nft', legacyRestore: 'iptables-legacy-restore' },
  ipv6: { restore: 'ip6tables-nft-restore', save: 'ip6tables-nft-save', cmd: 'ip6tables-nft', legacyRestore: 'ip6tables-legacy-restore' },
};

const IPV4_RULES = `*filter
:INPUT DROP [7:420]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
[3:180] -A INPUT -s 10.0.0.0/8 -d 1.2.3.4/32 -i eth+ -p tcp -m tcp --dport 22 -m comment --comment "hello world" -j ACCEPT
[0:0] -A INPUT -p tcp -m tcp --sport 5 --dport 5 --tcp-flags SYN,ACK SYN -m mark --mark 0x1/0xff -m limit --limit 3/min -g DOCKER
[0:0] -A INPUT -p tcp -m tcp ! --dport 1:100 -j DROP
[0:0] -A INPUT -p udp -m udp --sport 1000:2000 ! --dport 53 -j RETURN
[0:0] -A INPUT -p tcp -m tcp --tcp-option 5 -j DROP
[0:0] -A INPUT -p tcp -m tcp -j DROP
[0:0] -A INPUT -m mark ! --mark 0x5 -j ACCEPT
[0:0] -A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 10/sec --limit-burst 20 -j ACCEPT
[0:0] -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
[0:0] -A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT
[0:0] -A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 -j LOG --log-prefix "iprange: "
[0:0] -A INPUT -p tcp -j REJECT --reject-with tcp-reset
[0:0] -A FORWARD ! -s 10.0.0.0/255.0.255.0 ! -o eth0 ! -p udp -f -j DOCKER
[0:0] -A FORWARD ! -f -j DOCKER-USER
[0:0] -A DOCKER -p udp -m udp --dport 10:20 -m conntrack --ctstate NEW -j MARK --set-xmark 0x3/0xffffffff
[0:0] -A DOCKER
[0:0] -A DOCKER-USER -j RETURN
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
[0:0] -A POSTROUTING -o eth0 -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill
COMMIT
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
[0:0] -A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
[0:0] -A OUTPUT -p udp -m udp --dport 53 -j CT --notrack
COMMIT
`;

// ip6tables-nft-restore 1.8.9 drops rule counters given with -c (policy counters stay), so
// the IPv6 rules carry [0:0]: the legacy side would otherwise keep what nft never received.
const IPV6_RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [11:880]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
[0:0] -A INPUT -s fd00::/64 -d 2001:db8::1/128 -i eth0 -p tcp -m tcp --dport 443 -j ACCEPT
[0:0] -A INPUT ! -s fd00:1::/60 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
[0:0] -A INPUT -p udp -m udp --sport 53 -m comment --comment dns -j ACCEPT
[0:0] -A INPUT -p tcp -j REJECT --reject-with tcp-reset
[0:0] -A FORWARD -j DOCKER-USER
[0:0] -A DOCKER-USER -o br+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
[0:0] -A DOCKER-USER -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
[0:0] -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
[0:0] -A POSTROUTING -s fd00:dead::/64 ! -o docker0 -j MASQUERADE
[0:0] -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:dead::2]:80
COMMIT
`;

// Extensions iptkit has no module for (length, NFQUEUE, NFLOG): read as opaque markers,
// committed back byte for byte; NFLOG in the native log expression iptables-nft writes for it.
const OPAQUE_RULES = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
[5:500] -A INPUT -p udp -m length --length 100:200 -j NFQUEUE --queue-num 1
[0:0] -A INPUT -m length ! --length 1000 -m comment --comment "after an opaque match" -j ACCEPT
[7:700] -A INPUT -p tcp -j NFLOG --nflog-group 3
[0:0] -A INPUT -j NFLOG --nflog-prefix "hello x" --nflog-group 4 --nflog-size 100 --nflog-threshold 5
[0:0] -A INPUT -j NFLOG
COMMIT
`;

const SEED_NAT = readFileSync(new URL('../../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');

const BUILTIN: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

interface ReadRule {
  text: string;
  packets: bigint;
  bytes: bigint;
  handle: number;
}
interface ReadChain {
  name: string;
  /** null for a user-defined chain. */
  policy: string | null;
  packets: bigint;
  bytes: bigint;
  references: number;
  rules: ReadRule[];
}
interface ReadTable {
  name: string;
  family: Fam;
  chains: ReadChain[];
}

/** A table as nftRead gives it (docs/wire.md "Read"), checked for shape as it is taken apart. */
function parseRead(t: NativeTableRead): ReadTable {
  const lines = t.wire.split('\n');
  expect(lines.pop(), 'the wire ends with a newline').toBe('');
  const head = lines[0]!.split('\t');
  expect(head).toHaveLength(3);
  expect(head[0]).toBe('table');
  expect(['ipv4', 'ipv6']).toContain(head[2]);
  const out: ReadTable = { name: head[1]!, family: head[2] as Fam, chains: [] };
  let rule = 0;
  for (let i = 1; i < lines.length; ) {
    const f = lines[i++]!.split('\t');
    expect(f[0], `chain record, line ${i}`).toBe('chain');
    const n = Number(f[f.length - 1]);
    const chain: ReadChain =
      f[2] === '-'
        ? { name: f[1]!, policy: null, packets: 0n, bytes: 0n, references: Number(f[3]), rules: [] }
        : { name: f[1]!, policy: f[2]!, packets: BigInt(f[3]!), bytes: BigInt(f[4]!), references: 0, rules: [] };
    expect(f).toHaveLength(chain.policy === null ? 5 : 6);
    for (let k = 0; k < n; k++, rule++) {
      chain.rules.push({ text: lines[i++]!, packets: t.counters[2 * rule]!, bytes: t.counters[2 * rule + 1]!, handle: t.handles![rule]! });
    }
    out.chains.push(chain);
  }
  expect(t.counters).toHaveLength(2 * rule);
  expect(t.handles).toHaveLength(rule);
  return out;
}

const isForeign = (r: ReadRule) => r.text.startsWith('#\t');

/** The iptables-save -c text of a read (built-in chains it does not have shown as iptables-nft-save shows them). */
function saveOf(t: ReadTable): string[] {
  const out = [`*${t.name}`];
  const chains = [...t.chains];
  for (const [i, name] of (BUILTIN[t.name] ?? []).entries()) {
    if (!chains.some((c) => c.name === name)) chains.splice(i, 0, { name, policy: 'ACCEPT', packets: 0n, bytes: 0n, references: 0, rules: [] });
  }
  for (const c of chains) out.push(`:${c.name} ${c.policy ?? '-'} [${c.packets}:${c.bytes}]`);
  for (const c of chains) {
    for (const r of c.rules) out.push(`[${r.packets}:${r.bytes}] -A ${c.name}${r.text ? ` ${r.text}` : ''}`);
  }
  out.push('COMMIT');
  return out;
}

/** The commit wire that recreates a read table: every rule new, with its counters; policies with theirs. */
function commitOf(t: ReadTable, fam: Fam): string {
  let w = `table\t${t.name}\tfamily=${fam}\n`;
  for (const c of t.chains) {
    w += c.policy === null ? `chain\t${c.name}\n` : `chain\t${c.name}\tpolicy=${c.policy}\tpkts=${c.packets}\tbytes=${c.bytes}\n`;
    for (const r of c.rules) w += `rule\t${r.packets}\t${r.bytes}\t${r.text}\n`;
  }
  return w;
}

/** The commit wire that keeps every rule of a read table by its handle (`extra` adds records at a chain's head). */
function keepAll(t: ReadTable, fam: Fam = t.family, extra: Record<string, string> = {}): string {
  let w = `table\t${t.name}\tfamily=${fam}\n`;
  for (const c of t.chains) {
    w += `chain\t${c.name}\n${extra[c.name] ?? ''}`;
    for (const r of c.rules) w += `keep\t${r.handle}\n`;
  }
  return w;
}

async function readTables(fam: Fam, ns: Netns, tables: string[] | null = null): Promise<{ generation: number; raw: NativeTableRead[]; tables: ReadTable[] }> {
  const r = await native.nftRead(fam, ns.path, tables);
  return { generation: r.generation, raw: r.tables, tables: r.tables.map(parseRead) };
}

const tableOf = (r: { tables: ReadTable[] }, name: string): ReadTable => r.tables.find((t) => t.name === name)!;

/** `-A CHAIN args…` lines of an iptables-save text, per table, split as a shell would. */
function ruleArgs(text: string): { table: string; args: string[] }[] {
  const out: { table: string; args: string[] }[] = [];
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\[\d+:\d+\] /, '');
    if (line.startsWith('*')) table = line.slice(1);
    if (!line.startsWith('-A ')) continue;
    const args: string[] = [];
    const re = /"([^"]*)"|(\S+)/g;
    for (let m = re.exec(line.slice(3)); m; m = re.exec(line.slice(3))) args.push(m[1] ?? m[2]!);
    out.push({ table, args });
  }
  return out;
}

/** The rule expressions as `nft --debug=netlink` prints them, without handles. */
function netlinkDump(ns: Netns): string {
  return ns
    .ok('nft', ['--debug=netlink', 'list', 'ruleset'])
    .split('\n\n')
    .filter((block) => /^ip6? /.test(block))
    .map((block) => block.replace(/^(ip6? \S+ \S+) \d+( \d+)?/, '$1'))
    .join('\n\n');
}

/** An append=1 wire for `table`: the last rules of each chain of a read, as many as `counts` says. */
function appendWire(t: ReadTable, counts: Record<string, number>): string {
  let wire = `table\t${t.name}\tfamily=ipv4\tappend=1\n`;
  for (const [chain, n] of Object.entries(counts)) {
    const rules = t.chains.find((c) => c.name === chain)!.rules;
    wire += `chain\t${chain}\n${rules
      .slice(rules.length - n)
      .map((r) => `rule\t-\t-\t${r.text}\n`)
      .join('')}`;
  }
  return wire;
}

/** `-A` lines appended with iptables-nft-restore -n on top of SEED_NAT and the IPv4 filter table. */
const APPENDS = `*nat
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 172.17.0.9:80
-A POSTROUTING -s 172.18.0.0/16 ! -o br-x -j MASQUERADE
-A POSTROUTING -o eth1 -m comment --comment "appended rule" -j RETURN
COMMIT
*filter
-A INPUT -s 192.0.2.0/24 -p udp -m udp --dport 53 -j ACCEPT
-A DOCKER-USER -i eth3 -m conntrack --ctstate NEW -j DROP
-A FORWARD -j DOCKER
COMMIT
`;
const APPEND_COUNTS = { nat: { DOCKER: 1, POSTROUTING: 2 }, filter: { INPUT: 1, 'DOCKER-USER': 1, FORWARD: 1 } };

function seedAppendBase(ns: Netns): void {
  ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
  ns.ok('iptables-nft-restore', ['-c'], IPV4_RULES.slice(0, IPV4_RULES.indexOf('*mangle')));
}

/** The append=1 wires of APPENDS, taken from a namespace where iptables-nft-restore -n wrote them. */
async function appendWires(ref: Netns): Promise<string[]> {
  const read = await readTables('ipv4', ref, ['nat', 'filter']);
  return [appendWire(tableOf(read, 'nat'), APPEND_COUNTS.nat), appendWire(tableOf(read, 'filter'), APPEND_COUNTS.filter)];
}

/** handle:packets:bytes of every rule of the tables. */
const handlesOf = (tables: ReadTable[]) => tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => `${r.handle}:${r.packets}:${r.bytes}`)));

/** What a commit rejected with (or undefined when it went through). */
async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; table?: string; chain?: string } | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string; table?: string; chain?: string },
  );
}

describe.skipIf(!isRoot)('native nf_tables back end', () => {
  it('an inverted port range from 0 reads back as iptables-nft-save prints it (HI+1:65535)', () =>
    withNetns(async (ns) => {
      // iptables-nft writes `! --dport 0:N` as `th dport > N` and reads it back as N+1:65535.
      const rules = `*filter\n-A INPUT -p tcp -m tcp ! --dport 0:262 -j DROP\n-A INPUT -p udp -m udp ! --sport :100 -j DROP\n-A INPUT -p tcp -m tcp --dport :100 -j DROP\nCOMMIT\n`;
      ns.ok(tools.ipv4.restore, [], rules);
      const read = await readTables('ipv4', ns);
      const saved = saveLines(ns.ok('iptables-nft-save')).filter((l) => l.startsWith('-A'));
      expect(saved).toEqual([
        '-A INPUT -p tcp -m tcp --dport 263:65535 -j DROP',
        '-A INPUT -p udp -m udp --sport 101:65535 -j DROP',
        '-A INPUT -p tcp -m tcp --dport 0:100 -j DROP',
      ]);
      expect(tableOf(read, 'filter').chains[0]!.rules.map((r) => `-A INPUT ${r.text}`)).toEqual(saved);
    }, 'iptkit-nft'));

  for (const [fam, rules] of [
    ['ipv4', IPV4_RULES],
    ['ipv4', SEED_NAT],
    ['ipv6', IPV6_RULES],
    ['ipv4', OPAQUE_RULES],
  ] as [Fam, string][]) {
    const what = rules === SEED_NAT ? 'the seed nat table' : rules === OPAQUE_RULES ? 'rules with opaque extensions' : `the ${fam} rule set`;

    it(`${fam}: nftRead of ${what} equals legacyRead of the same rules, and iptables-nft-save`, async () => {
      await withNetns(async (nftNs) => {
        await withNetns(async (legacyNs) => {
          nftNs.ok(tools[fam].restore, ['-c'], rules);
          legacyNs.ok(tools[fam].legacyRestore, ['-c'], rules);
          const read = await readTables(fam, nftNs);
          expect(read.tables.length).toBeGreaterThan(0);
          for (const [i, t] of read.tables.entries()) {
            expect(t.family).toBe(fam);
            expect(t.chains.flatMap((c) => c.rules).filter(isForeign)).toEqual([]);
            // iptables-nft-save prints what iptkit can only carry opaque: there, rule counts and counters.
            const nftSave = saveLines(nftNs.ok(tools[fam].save, ['-c', '-t', t.name]));
            if (rules === OPAQUE_RULES) expect(saveOf(t).map((l) => l.replace(/ -A .*/, ''))).toEqual(nftSave.map((l) => l.replace(/ -A .*/, '')));
            else expect(saveOf(t), `iptables-nft-save -t ${t.name}`).toEqual(nftSave);
            const legacy = await native.legacyRead(fam, legacyNs.path, t.name);
            expect(read.raw[i]!.wire, `legacyRead ${t.name}`).toBe(legacy.wire);
            expect([...read.raw[i]!.counters]).toEqual([...legacy.counters]);
          }
          if (rules === OPAQUE_RULES) {
            expect(read.raw[0]!.wire).toMatch(/^-p udp -m length --iptkit-opaque 0:[0-9a-f]+ -j NFQUEUE --iptkit-opaque \d:[0-9a-f]+$/m);
            expect(read.raw[0]!.wire).toMatch(/^-p tcp -j NFLOG --iptkit-opaque 0:[0-9a-f]+$/m);
          }
        }, 'iptkit-nft-legacy');
      }, 'iptkit-nft');
    });

    it(`${fam}: nftCommit of ${what} into an empty namespace writes what iptables-nft writes`, async () => {
      await withNetns(async (src) => {
        await withNetns(async (dst) => {
          src.ok(tools[fam].restore, ['-c'], rules);
          const read = await readTables(fam, src);
          const empty = await readTables(fam, dst);
          expect(empty.tables).toEqual([]);
          await native.nftCommit(fam, dst.path, empty.generation, read.tables.map((t) => commitOf(t, fam)));

          expect(saveLines(dst.ok(tools[fam].save, ['-c']))).toEqual(saveLines(src.ok(tools[fam].save, ['-c'])));
          expect(netlinkDump(dst)).toBe(netlinkDump(src));
          const again = await readTables(fam, dst);
          expect(again.raw.map((t) => t.wire)).toEqual(read.raw.map((t) => t.wire));
          expect(again.raw.map((t) => [...t.counters])).toEqual(read.raw.map((t) => [...t.counters]));

          // iptables-nft finds every rule it would have written, and deletes it.
          const rulesOf = ruleArgs(rules);
          for (const { table, args } of rulesOf) {
            expect(dst.run(tools[fam].cmd, ['-t', table, '-C', ...args]).status, `-C ${args.join(' ')}`).toBe(0);
          }
          for (const { table, args } of rulesOf) {
            expect(dst.run(tools[fam].cmd, ['-t', table, '-D', ...args]).status, `-D ${args.join(' ')}`).toBe(0);
          }
          expect(dst.ok(tools[fam].save, []).split('\n').filter((l) => l.startsWith('-A '))).toEqual([]);
        }, 'iptkit-nft-dst');
      }, 'iptkit-nft-src');
    });
  }

  it('a rule written by nft is a `#` line of its chain, with counters and handle, and survives a commit', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      // After the second rule of INPUT: it reads at its place, not at the end.
      const second = (await readTables('ipv4', ns, ['filter'])).tables[0]!.chains[0]!.rules[1]!.handle;
      ns.ok('nft', ['add', 'rule', 'ip', 'filter', 'INPUT', 'position', String(second), 'ct', 'state', 'established', 'counter', 'packets', '4', 'bytes', '40', 'accept', 'comment', '"from nft"']);
      const read = await readTables('ipv4', ns);
      const input = tableOf(read, 'filter').chains.find((c) => c.name === 'INPUT')!;
      const foreign = input.rules.filter(isForeign);
      expect(foreign).toHaveLength(1);
      expect(foreign[0]!.text).toMatch(/^#\t\[ ct load state => reg 1 \] .*\[ counter \] \[ immediate reg 0 accept \] comment "from nft"$/);
      expect([foreign[0]!.packets, foreign[0]!.bytes]).toEqual([4n, 40n]);
      const at = input.rules.indexOf(foreign[0]!);
      expect(at).toBe(2);

      const wire = keepAll(tableOf(read, 'filter'), 'ipv4', { INPUT: 'rule\t-\t-\t-s 192.0.2.1/32 -j DROP\n' });
      await native.nftCommit('ipv4', ns.path, read.generation, [wire]);

      expect(ns.ok('nft', ['list', 'chain', 'ip', 'filter', 'INPUT'])).toContain('ct state established counter packets 4 bytes 40 accept comment "from nft"');
      expect(ns.run('iptables-nft', ['-C', 'INPUT', '-s', '192.0.2.1/32', '-j', 'DROP']).status).toBe(0);
      const after = (await readTables('ipv4', ns, ['filter'])).tables[0]!.chains.find((c) => c.name === 'INPUT')!;
      expect(after.rules[0]!.text).toBe('-s 192.0.2.1/32 -j DROP');
      expect(after.rules[at + 1]).toEqual(foreign[0]);
      expect(after.rules.slice(1)).toEqual(input.rules);
    }, 'iptkit-nft-foreign');
  });

  it('a `#` line or a rule that does not parse fails the commit with EINVAL naming chain and line, before anything is sent', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
      const read = await readTables('ipv4', ns, ['nat']);
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      const nat = tableOf(read, 'nat');
      for (const [extra, what] of [
        ['rule\t-\t-\t-p tcp -m tcp --dport 70000 -j ACCEPT\n', "rule record: `-p tcp -m tcp --dport 70000 -j ACCEPT': "],
        ['rule\t-\t-\t-m length --iptkit-opaque 0:zz -j ACCEPT\n', "rule record: `-m length --iptkit-opaque 0:zz -j ACCEPT': bad opaque"],
        ['rule\t-\t-\t-m nosuchmatch -j ACCEPT\n', "rule record: `-m nosuchmatch -j ACCEPT': Couldn't load match `nosuchmatch'"],
        ['rule\t-\t-\t-j DROP\r\n', 'a line break cannot be part of a rule'],
        ['rule\t1\t-\t-j DROP\n', "rule record: packets and bytes are both counters or both '-'"],
        ['#\t[ ct load state => reg 1 ]\n', 'a rule written by nft cannot be written back'],
      ] as [string, string][]) {
        // A good rule of another chain goes first: nothing at all may reach the kernel.
        const wire = keepAll(nat, 'ipv4', { PREROUTING: 'rule\t-\t-\t-j ACCEPT\n', DOCKER: extra });
        const line = wire.split('\n').indexOf(extra.replace(/\n$/, '')) + 1;
        expect(line).toBeGreaterThan(3);
        const err = await rejection(native.nftCommit('ipv4', ns.path, read.generation, [wire]));
        expect(err?.code, extra).toBe('EINVAL');
        expect(err?.message.startsWith(`table nat wire line ${line} (chain DOCKER): `), `${err?.message} names line ${line}`).toBe(true);
        expect(err?.message).toContain(what);
        expect(err).toMatchObject({ table: 'nat', chain: 'DOCKER' });
      }
      expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saved);
      // Nothing was sent: the generation did not move, and a commit at it still goes through.
      await native.nftCommit('ipv4', ns.path, read.generation, [keepAll(nat)]);
    }, 'iptkit-nft-einval');
  });

  it('a comment with a line break reads as one line, and is kept by handle', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft', ['-A', 'INPUT', '-m', 'comment', '--comment', 'two\nlines', '-j', 'ACCEPT']);
      ns.ok('iptables-nft', ['-A', 'INPUT', '-j', 'DROP']);
      const read = await readTables('ipv4', ns);
      const filter = tableOf(read, 'filter');
      expect(filter.chains[0]!.rules.map((r) => r.text)).toEqual(['-m comment --comment "two lines" -j ACCEPT', '-j DROP']);
      await native.nftCommit('ipv4', ns.path, read.generation, [keepAll(filter, 'ipv4', { INPUT: 'rule\t-\t-\t-j RETURN\n' })]);
      expect(ns.ok('iptables-nft-save', [])).toContain('-A INPUT -m comment --comment "two\nlines" -j ACCEPT');
    }, 'iptkit-nft-newline');
  });

  it("tables that are not iptables-nft's are never read or listed, and a commit leaves them alone", async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      ns.ok('nft', ['-f', '-'], 'table inet firewalld {\n chain filter_INPUT { type filter hook input priority 10; }\n}\ntable ip other {\n chain c { }\n}\n');
      const read = await readTables('ipv4', ns);
      expect(read.tables.map((t) => t.name)).toEqual(['filter', 'mangle', 'raw']);
      // The table list alone (no rule dump) names the same tables, in the read's order.
      expect(await native.nftTableNames('ipv4', ns.path)).toEqual(['filter', 'mangle', 'raw']);
      expect(await native.nftTableNames('ipv6', ns.path)).toEqual([]);
      await native.nftCommit('ipv4', ns.path, read.generation, [keepAll(tableOf(read, 'filter'))]);
      const ruleset = ns.ok('nft', ['list', 'tables']);
      expect(ruleset).toContain('table inet firewalld');
      expect(ruleset).toContain('table ip other');
    }, 'iptkit-nft-others');
  });

  it('kept rules keep their handles and counters; new rules land where the wire puts them', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
      const before = await readTables('ipv4', ns);
      const nat = tableOf(before, 'nat');
      const beforeSave = saveLines(ns.ok('iptables-nft-save', ['-c']));
      // New rules at the head of DOCKER and between the first two kept rules of POSTROUTING.
      const lines = keepAll(nat, 'ipv4', { DOCKER: 'rule\t9\t99\t-i eth9 -j RETURN\n' }).split('\n');
      const post = lines.findIndex((l) => l.startsWith('chain\tPOSTROUTING'));
      lines.splice(post + 2, 0, 'rule\t-\t-\t-s 10.9.0.0/16 -o eth9 -j MASQUERADE');
      await native.nftCommit('ipv4', ns.path, before.generation, [lines.join('\n')]);

      const expected = [...beforeSave];
      const firstDocker = expected.findIndex((l) => l.includes('-A DOCKER '));
      expected.splice(firstDocker, 0, '[9:99] -A DOCKER -i eth9 -j RETURN');
      const firstPost = expected.findIndex((l) => l.includes('-A POSTROUTING '));
      expected.splice(firstPost + 1, 0, '[0:0] -A POSTROUTING -s 10.9.0.0/16 -o eth9 -j MASQUERADE');
      expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(expected);

      const after = await readTables('ipv4', ns);
      expect(saveOf(tableOf(after, 'nat'))).toEqual(expected.filter((l) => !l.startsWith('#')));
      const kept = handlesOf(before.tables);
      const now = handlesOf(after.tables);
      for (const h of kept) expect(now).toContain(h);
      expect(now).toHaveLength(kept.length + 2);
    }, 'iptkit-nft-keep');
  });

  it('rules and chains absent from the wire are deleted', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      const read = await readTables('ipv4', ns);
      const wire = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\tpolicy=ACCEPT\nrule\t-\t-\t-i lo -j NEW\nchain\tFORWARD\nchain\tOUTPUT\nchain\tNEW\n';
      await native.nftCommit('ipv4', ns.path, read.generation, [wire]);
      const save = ns.ok('iptables-nft-save', ['-t', 'filter']);
      expect(saveLines(save)).toEqual([
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':NEW - [0:0]',
        '-A INPUT -i lo -j NEW',
        'COMMIT',
      ]);
    }, 'iptkit-nft-delete');
  });

  it('a stale generation is refused with ERESTART and changes nothing', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      const read = await readTables('ipv4', ns);
      ns.ok('iptables-nft', ['-A', 'OUTPUT', '-j', 'ACCEPT']);
      const saved = saveLines(ns.ok('iptables-nft-save', []));
      const wire = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\tpolicy=ACCEPT\nchain\tFORWARD\nchain\tOUTPUT\n';
      await expect(native.nftCommit('ipv4', ns.path, read.generation, [wire])).rejects.toMatchObject({ code: 'ERESTART' });
      expect(saveLines(ns.ok('iptables-nft-save', []))).toEqual(saved);
    }, 'iptkit-nft-stale');
  });

  it('a kernel error names its table and chain and leaves the ruleset as it was', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      const read = await readTables('ipv4', ns);
      const saved = saveLines(ns.ok('iptables-nft-save', []));
      const wire =
        'table\tfilter\tfamily=ipv4\nchain\tINPUT\nrule\t-\t-\t-j ACCEPT\nchain\tFORWARD\nchain\tOUTPUT\nrule\t-\t-\t-j ACCEPT\nrule\t-\t-\t-j NOSUCHCHAIN\n';
      // Sent as the rule sink's own messages (new rules, each at the end of its chain), which
      // the batch numbers a chain's run at a time: the error still finds its rule, the second
      // of the second run, by sequence number.
      await expect(native.nftCommit('ipv4', ns.path, read.generation, [wire])).rejects.toMatchObject({
        code: 'ENOENT',
        table: 'filter',
        chain: 'OUTPUT',
        message: expect.stringContaining('chain OUTPUT: rule 2 (wire line 7)'),
      });
      expect(saveLines(ns.ok('iptables-nft-save', []))).toEqual(saved);
      // The socket that carried the refused batch goes back to the idle pool: the next commit
      // on it must read only its own answers.
      const again = await readTables('ipv4', ns);
      const filter = tableOf(again, 'filter');
      await native.nftCommit('ipv4', ns.path, again.generation, [keepAll(filter, 'ipv4', { OUTPUT: 'rule\t-\t-\t-o lo -j ACCEPT\n' })]);
      expect(saveLines(ns.ok('iptables-nft-save', []))).toContain('-A OUTPUT -o lo -j ACCEPT');
    }, 'iptkit-nft-error');
  });

  it('an error on the first message of the batch is reported, not taken for success', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      const read = await readTables('ipv4', ns);
      const saved = saveLines(ns.ok('iptables-nft-save', []));
      const long = 'X'.repeat(300); // longer than NFT_CHAIN_MAXNAMELEN: the kernel refuses the new chain
      const wire = `table\tfilter\tfamily=ipv4\nchain\tINPUT\nchain\tFORWARD\nchain\tOUTPUT\nchain\t${long}\n`;
      await expect(native.nftCommit('ipv4', ns.path, read.generation, [wire])).rejects.toMatchObject({ table: 'filter', chain: long });
      expect(saveLines(ns.ok('iptables-nft-save', []))).toEqual(saved);
    }, 'iptkit-nft-first');
  });

  // nftCommit takes the chains and rule handles from the nftRead that gave its generation in the
  // same namespace (the batch's generation guard makes them current), and dumps only otherwise.
  it('a commit whose generation no read of this namespace and table gave dumps, and behaves the same', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
      ns.ok('iptables-nft-restore', ['--noflush'], '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n');
      const nat = (await readTables('ipv4', ns, ['nat'])).tables[0]!;
      // A later read of only filter at the same generation: nat is not in what it recorded.
      const filterOnly = await readTables('ipv4', ns, ['filter']);
      const before = saveLines(ns.ok('iptables-nft-save', ['-c', '-t', 'nat']));
      const wire = keepAll(nat, 'ipv4', { DOCKER: 'rule\t-\t-\t-i eth9 -j RETURN\n' });
      await native.nftCommit('ipv4', ns.path, filterOnly.generation, [wire]);
      const expected = [...before];
      expected.splice(expected.findIndex((l) => l.includes('-A DOCKER ')), 0, '[0:0] -A DOCKER -i eth9 -j RETURN');
      expect(saveLines(ns.ok('iptables-nft-save', ['-c', '-t', 'nat']))).toEqual(expected);
    }, 'iptkit-nft-nocache');
  });

  it('keeps that name a missing rule or come out of order are refused, from a fresh read too', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      for (let round = 0; round < 2; round++) {
        // Round 0 right after a read of nat; round 1 after a read of only filter (no record of nat).
        const read = await readTables('ipv4', ns, ['nat']);
        const generation = round === 0 ? read.generation : (await readTables('ipv4', ns, ['filter'])).generation;
        const wire = keepAll(read.tables[0]!);
        const keeps = [...wire.matchAll(/^keep\t(\d+)$/gm)].map((m) => m[1]!);
        expect(keeps.length).toBeGreaterThan(2);
        const missing = wire.replace(`keep\t${keeps[0]}\n`, `keep\t${keeps[0]}\nkeep\t999999\n`);
        await expect(native.nftCommit('ipv4', ns.path, generation, [missing])).rejects.toMatchObject({ code: 'ENOENT', table: 'nat' });
        const lines = wire.split('\n');
        const i = lines.indexOf(`keep\t${keeps[1]}`);
        const j = lines.indexOf(`keep\t${keeps[2]}`);
        // Swapped within a chain: out of order (EINVAL); across chains: missing there (ENOENT).
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        const swapped = lines.join('\n');
        await expect(native.nftCommit('ipv4', ns.path, generation, [swapped])).rejects.toMatchObject({ table: 'nat' });
        expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saved);
      }
    }, 'iptkit-nft-badkeep');
  });

  it('keeprun keeps rules by their position as read (the read\'s handles), with the counters; out of range is refused', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], '*filter\n:INPUT ACCEPT [0:0]\n[1:10] -A INPUT -i a1 -j ACCEPT\n[2:20] -A INPUT -i a2 -j ACCEPT\n[3:30] -A INPUT -i a3 -j ACCEPT\n[4:40] -A INPUT -i a4 -j ACCEPT\nCOMMIT\n');
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      const read = await readTables('ipv4', ns, ['filter']);
      const head = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\n';
      // Rules 4 and 5 past the end: ENOENT naming the chain, nothing committed.
      await expect(native.nftCommit('ipv4', ns.path, read.generation, [`${head}keeprun\t3\t2\n`])).rejects.toMatchObject({ code: 'ENOENT', table: 'filter', chain: 'INPUT' });
      await expect(native.nftCommit('ipv4', ns.path, read.generation, [`${head}keeprun\t0\t0\n`])).rejects.toMatchObject({ code: 'EINVAL' });
      expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saved);
      // Keep a1-a2 as a run, drop a3, keep a4 by its handle, a new rule between.
      const a4 = read.tables[0]!.chains.find((c) => c.name === 'INPUT')!.rules[3]!.handle;
      await native.nftCommit('ipv4', ns.path, read.generation, [`${head}keeprun\t0\t2\nrule\t-\t-\t-i b1 -j DROP\nkeep\t${a4}\n`]);
      expect(saveLines(ns.ok('iptables-nft-save', ['-c'])).filter((l) => l.includes('-A INPUT'))).toEqual([
        '[1:10] -A INPUT -i a1 -j ACCEPT',
        '[2:20] -A INPUT -i a2 -j ACCEPT',
        '[0:0] -A INPUT -i b1 -j DROP',
        '[4:40] -A INPUT -i a4 -j ACCEPT',
      ]);
    }, 'iptkit-nft-keeprun');
  });

  it('what a read recorded in one namespace is never used for another at the same generation', async () => {
    await withNetns(async (a) => {
      await withNetns(async (b) => {
        a.ok('iptables-nft-restore', [], '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i a1 -j ACCEPT\n-A INPUT -i a2 -j ACCEPT\n-A INPUT -i a3 -j ACCEPT\nCOMMIT\n');
        b.ok('iptables-nft-restore', [], '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i b1 -j ACCEPT\nCOMMIT\n');
        const ra = await readTables('ipv4', a, ['filter']);
        const gb = (await readTables('ipv4', b, ['nat'])).generation;
        // Namespaces with the same history are at the same generation: only the namespace tells
        // A's record from B's. A's keeps name rules B does not have.
        expect(gb).toBe(ra.generation);
        const saved = saveLines(b.ok('iptables-nft-save', []));
        await expect(native.nftCommit('ipv4', b.path, gb, [keepAll(ra.tables[0]!)])).rejects.toMatchObject({ code: 'ENOENT' });
        expect(saveLines(b.ok('iptables-nft-save', []))).toEqual(saved);
      }, 'iptkit-nft-cookie-b');
    }, 'iptkit-nft-cookie-a');
  });

  it('sockets kept open between operations stay in their own namespace', async () => {
    await withNetns(async (a) => {
      await withNetns(async (b) => {
        // Interleaved reads and commits in two namespaces: each socket taken from the idle pool
        // must be one made in the namespace of the thread that takes it.
        for (const ns of [a, b]) ns.ok('iptables-nft-restore', [], '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
        for (let i = 0; i < 4; i++) {
          for (const [ns, tag] of [[a, 'a'], [b, 'b']] as const) {
            const r = await readTables('ipv4', ns, ['filter']);
            const wire = keepAll(tableOf(r, 'filter'), 'ipv4', { INPUT: `rule\t-\t-\t-i ${tag}${i} -j ACCEPT\n` });
            await native.nftCommit('ipv4', ns.path, r.generation, [wire]);
          }
        }
        for (const [ns, tag] of [[a, 'a'], [b, 'b']] as const) {
          const rules = saveLines(ns.ok('iptables-nft-save', [])).filter((l) => l.startsWith('-A'));
          expect(rules).toEqual([3, 2, 1, 0].map((i) => `-A INPUT -i ${tag}${i} -j ACCEPT`));
        }
      }, 'iptkit-nft-pool-b');
    }, 'iptkit-nft-pool-a');
  });

  it('the generation is asked on an idle socket of its own namespace at once, and is the kernel\'s now', async () => {
    await withNetns(async (a) => {
      await withNetns(async (b) => {
        for (const ns of [a, b]) ns.ok('iptables-nft-restore', [], '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
        // A read leaves a socket idle in A only.
        await readTables('ipv4', a, ['filter']);
        /** The generation, and whether it came before a setImmediate queued ahead of the call ran. */
        const asked = async (ns: Netns): Promise<{ generation: number; netns: string; atOnce: boolean }> => {
          let later = false;
          setImmediate(() => (later = true));
          const g = await native.nftGeneration(ns.path);
          return { ...g, atOnce: !later };
        };
        const first = await asked(a);
        expect(first.atOnce).toBe(true);
        // Another process's commit moves it, and the idle socket's answer moves with it.
        a.ok('iptables-nft', ['-A', 'INPUT', '-j', 'ACCEPT']);
        const after = await asked(a);
        expect(after.atOnce).toBe(true);
        expect(after.generation).toBe(first.generation + 1);
        // B has no idle socket: a worker asks there, and A's socket never answers for B.
        const other = await asked(b);
        expect(other.netns).not.toBe(after.netns);
        b.ok('iptables-nft', ['-A', 'INPUT', '-j', 'DROP']);
        b.ok('iptables-nft', ['-A', 'INPUT', '-j', 'DROP']);
        expect((await asked(b)).generation).toBe(other.generation + 2);
        expect((await asked(a)).generation).toBe(after.generation);
      }, 'iptkit-nft-gen-b');
    }, 'iptkit-nft-gen-a');
  });

  it('a deleted namespace is not held alive by a kept socket for more than a moment', async () => {
    // A veth pair between an outer namespace and the inner one iptkit works in: the outer end
    // goes away only when the inner namespace is destroyed, i.e. when nothing holds it any more.
    await withNetns(async (outer) => {
      const inner = new Netns('iptkit-nft-pool-inner');
      try {
        outer.ok('ip', ['link', 'add', 'pool0', 'type', 'veth', 'peer', 'name', 'pool1', 'netns', inner.name]);
        inner.ok('iptables-nft-restore', [], '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
        const r = await readTables('ipv4', inner, ['filter']);
        await native.nftCommit('ipv4', inner.path, r.generation, [keepAll(tableOf(r, 'filter'), 'ipv4', { INPUT: 'rule\t-\t-\t-j ACCEPT\n' })]);
        expect(saveLines(inner.ok('iptables-nft-save', []))).toContain('-A INPUT -j ACCEPT');
      } finally {
        inner.delete();
      }
      const deadline = Date.now() + 10_000;
      while (outer.run('ip', ['link', 'show', 'pool0']).status === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(outer.run('ip', ['link', 'show', 'pool0']).status).not.toBe(0);
    }, 'iptkit-nft-pool-outer');
  });

  it('append=1 appends as iptables-nft-restore -n does: same save, same expressions, kept handles and counters', async () => {
    await withNetns(async (ns) => {
      await withNetns(async (ref) => {
        seedAppendBase(ns);
        seedAppendBase(ref);
        ref.ok('iptables-nft-restore', ['-n'], APPENDS);
        const wires = await appendWires(ref);
        expect(wires[0]).toContain('append=1');
        const before = await readTables('ipv4', ns, ['nat', 'filter']);
        // Generation 0: an all-append call needs none.
        await native.nftCommit('ipv4', ns.path, 0, wires);

        expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saveLines(ref.ok('iptables-nft-save', ['-c'])));
        expect(netlinkDump(ns)).toBe(netlinkDump(ref));
        const after = await readTables('ipv4', ns, ['nat', 'filter']);
        const kept = handlesOf(before.tables);
        const now = handlesOf(after.tables);
        expect(kept.length).toBeGreaterThan(20);
        for (const h of kept) expect(now).toContain(h);
        expect(now).toHaveLength(kept.length + 6);
        for (const { table, args } of ruleArgs(APPENDS)) {
          expect(ns.run('iptables-nft', ['-t', table, '-C', ...args]).status, `-C ${args.join(' ')}`).toBe(0);
        }
      }, 'iptkit-nft-append-ref');
    }, 'iptkit-nft-append');
  });

  it('append=1 ignores a stale generation; a call that mixes in a normal table keeps the guard', async () => {
    await withNetns(async (ns) => {
      seedAppendBase(ns);
      const read = await readTables('ipv4', ns, ['nat', 'filter']);
      ns.ok('iptables-nft', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth7', '-j', 'RETURN']);
      const wire = 'table\tnat\tfamily=ipv4\tappend=1\nchain\tPOSTROUTING\nrule\t-\t-\t-o eth8 -j RETURN\n';
      const filter = tableOf(read, 'filter');
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      await expect(native.nftCommit('ipv4', ns.path, read.generation, [wire, keepAll(filter)])).rejects.toMatchObject({ code: 'ERESTART' });
      expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saved);

      await native.nftCommit('ipv4', ns.path, read.generation, [wire]);
      const post = saveLines(ns.ok('iptables-nft-save', ['-t', 'nat'])).filter((l) => l.startsWith('-A POSTROUTING'));
      expect(post.slice(-2)).toEqual(['-A POSTROUTING -o eth7 -j RETURN', '-A POSTROUTING -o eth8 -j RETURN']);
      // Mixed, at the current generation: both go in.
      const cur = await readTables('ipv4', ns, ['filter']);
      await native.nftCommit('ipv4', ns.path, cur.generation, [wire, keepAll(cur.tables[0]!)]);
      expect(saveLines(ns.ok('iptables-nft-save', ['-t', 'nat'])).filter((l) => l === '-A POSTROUTING -o eth8 -j RETURN')).toHaveLength(2);
    }, 'iptkit-nft-append-gen');
  });

  it('append=1 to a missing chain or table is ENOENT naming it, and nothing changes', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      const ok = 'chain\tPOSTROUTING\nrule\t-\t-\t-o eth8 -j RETURN\n';
      const missingChain = `table\tnat\tfamily=ipv4\tappend=1\n${ok}chain\tNOPE\nrule\t-\t-\t-j ACCEPT\n`;
      await expect(native.nftCommit('ipv4', ns.path, 0, [missingChain])).rejects.toMatchObject({ code: 'ENOENT', table: 'nat', chain: 'NOPE' });
      const missingTable = 'table\tfilter\tfamily=ipv4\tappend=1\nchain\tINPUT\nrule\t-\t-\t-j ACCEPT\n';
      await expect(native.nftCommit('ipv4', ns.path, 0, [`table\tnat\tfamily=ipv4\tappend=1\n${ok}`, missingTable])).rejects.toMatchObject({
        code: 'ENOENT',
        table: 'filter',
        chain: 'INPUT',
      });
      expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saved);
      expect(ns.ok('nft', ['list', 'tables'])).not.toContain('filter');
    }, 'iptkit-nft-append-enoent');
  });

  it('keep, policy=, chain counters and was= in an append=1 table are EINVAL naming the record and line', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
      const read = await readTables('ipv4', ns, ['nat']);
      const handle = read.tables[0]!.chains[0]!.rules[0]!.handle;
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      const head = 'table\tnat\tfamily=ipv4\tappend=1\n';
      for (const [body, what] of [
        [`chain\tPOSTROUTING\nkeep\t${handle}\n`, /line 3 \(chain POSTROUTING\): keep record in an append=1 table/],
        ['chain\tDOCKER\nrule\t-\t-\t-j RETURN\nchain\tPOSTROUTING\tpolicy=ACCEPT\n', /line 4 \(chain POSTROUTING\): chain record: policy= in an append=1 table/],
        ['chain\tPOSTROUTING\tpkts=1\tbytes=2\n', /line 2 \(chain POSTROUTING\): chain record: pkts= in an append=1 table/],
        ['chain\tDOCKER\twas=3\nrule\t-\t-\t-j RETURN\n', /line 2 \(chain DOCKER\): chain record: was= in an append=1 table/],
      ] as [string, RegExp][]) {
        const err = await rejection(native.nftCommit('ipv4', ns.path, 0, [head + body]));
        expect(err?.code, body).toBe('EINVAL');
        expect(err?.message).toMatch(what);
      }
      expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saved);
    }, 'iptkit-nft-append-einval');
  });

  it('30,000 rules commit in one batch and read back (timings printed)', async () => {
    const N = 30_000;
    await withNetns(async (ns) => {
      await withNetns(async (ref) => {
        const text: string[] = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':BULK - [0:0]'];
        const rules: string[] = [];
        for (let i = 0; i < N; i++) {
          const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
          const port = 1024 + (i % 60000);
          rules.push(`-s ${ip}/32 -p tcp -m tcp --dport ${port} -j ACCEPT`);
          text.push(`-A BULK ${rules[i]}`);
        }
        text.push('-A FORWARD -j BULK', 'COMMIT', '');
        const wire =
          'table\tfilter\tfamily=ipv4\nchain\tINPUT\tpolicy=ACCEPT\nchain\tFORWARD\tpolicy=ACCEPT\nrule\t-\t-\t-j BULK\nchain\tOUTPUT\tpolicy=ACCEPT\nchain\tBULK\n' +
          rules.map((r) => `rule\t-\t-\t${r}\n`).join('');

        const empty = await readTables('ipv4', ns);
        let t0 = performance.now();
        await native.nftCommit('ipv4', ns.path, empty.generation, [wire]);
        const commitMs = performance.now() - t0;

        t0 = performance.now();
        const read = await native.nftRead('ipv4', ns.path, null);
        const readMs = performance.now() - t0;

        // Keep all 30,000 and add one: the commit that keeps counters.
        const filter = parseRead(read.tables[0]!);
        const keepWire = keepAll(filter, 'ipv4', { BULK: 'rule\t-\t-\t-j RETURN\n' });
        t0 = performance.now();
        await native.nftCommit('ipv4', ns.path, read.generation, [keepWire]);
        const keepMs = performance.now() - t0;

        t0 = performance.now();
        ref.ok('iptables-nft-restore', [], text.join('\n'));
        const toolMs = performance.now() - t0;
        console.log(
          `30,000 rules: nftCommit ${commitMs.toFixed(0)} ms, nftRead ${readMs.toFixed(0)} ms, ` +
            `keep-all+1 commit ${keepMs.toFixed(0)} ms (iptables-nft-restore: ${toolMs.toFixed(0)} ms)`,
        );

        expect(read.tables[0]!.wire).toBe(
          'table\tfilter\tipv4\nchain\tINPUT\tACCEPT\t0\t0\t0\nchain\tFORWARD\tACCEPT\t0\t0\t1\n-j BULK\nchain\tOUTPUT\tACCEPT\t0\t0\t0\n' +
            `chain\tBULK\t-\t1\t${N}\n${rules.join('\n')}\n`,
        );
        expect(read.tables[0]!.counters.every((c) => c === 0n)).toBe(true);
        expect(new Set(read.tables[0]!.handles).size).toBe(N + 1);
        const mine = saveLines(ns.ok('iptables-nft-save', []));
        expect(mine.slice(0, 3)).toEqual(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]']);
        const refSave = saveLines(ref.ok('iptables-nft-save', []));
        refSave.splice(refSave.findIndex((l) => l.startsWith('-A BULK')), 0, '-A BULK -j RETURN');
        expect(mine).toEqual(refSave);
      }, 'iptkit-nft-ref');
    }, 'iptkit-nft-bulk');
  }, 300_000);
});
