// The nf_tables back end's native side against the real tools, in throwaway namespaces:
// nftRead decodes what iptables-nft-restore wrote into the same wire the legacy reader gives
// for the same rules; nftCommit writes what iptables-nft would (iptables-nft-save, -C and -D
// agree, and the netlink expressions are identical); foreign rules and counters survive;
// a stale generation is refused; 30,000 rules go through in one batch.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/binding.js';
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

const SEED_NAT = readFileSync(new URL('../../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');

function stripHandles(wire: string): string {
  return wire.replace(/\thandle=\d+/g, '');
}

/** Every `rule handle=N …` block and `foreign handle=N …` record becomes `keep N`. */
function keepAll(wire: string): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of wire.split('\n')) {
    const m = /^(rule|foreign)\thandle=(\d+)/.exec(line);
    if (m) {
      out.push(`keep\t${m[2]}`);
      skipping = true;
      continue;
    }
    if (skipping && /^(match|target|verdict|jump)\t/.test(line)) continue;
    skipping = false;
    out.push(line);
  }
  return out.join('\n');
}

/** Inserts `records` after the chain line of `chain` (at the head of its rules). */
function atHead(wire: string, chain: string, records: string): string {
  return wire.replace(new RegExp(`^(chain\\t${chain}(\\t[^\\n]*)?\\n)`, 'm'), `$1${records}`);
}

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

/** The rule blocks (`rule` line and its match/target/verdict/jump lines, handles stripped) of each chain of a read wire. */
function ruleBlocks(wire: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let chain: string[] | undefined;
  for (const line of stripHandles(wire).split('\n')) {
    const c = /^chain\t([^\t]+)/.exec(line);
    if (c) {
      chain = [];
      out.set(c[1]!, chain);
    } else if (line.startsWith('rule\t') || line === 'rule') {
      chain!.push(`${line}\n`);
    } else if (/^(match|target|verdict|jump)\t/.test(line)) {
      chain![chain!.length - 1] += `${line}\n`;
    }
  }
  return out;
}

/** An append=1 wire for `table`: the last rules of each chain of `read` (a read wire), as many as `counts` says. */
function appendWire(read: string, table: string, counts: Record<string, number>): string {
  const blocks = ruleBlocks(read);
  let wire = `table\t${table}\tfamily=ipv4\tappend=1\n`;
  for (const [chain, n] of Object.entries(counts)) {
    const b = blocks.get(chain)!;
    wire += `chain\t${chain}\n${b.slice(b.length - n).join('')}`;
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
  const read = await native.nftRead('ipv4', ref.path, ['nat', 'filter']);
  const nat = read.tables.find((t) => t.startsWith('table\tnat'))!;
  const filter = read.tables.find((t) => t.startsWith('table\tfilter'))!;
  return [appendWire(nat, 'nat', APPEND_COUNTS.nat), appendWire(filter, 'filter', APPEND_COUNTS.filter)];
}

const handlesOf = (w: string) => [...w.matchAll(/^rule\thandle=(\d+)\tpkts=(\d+)\tbytes=(\d+)/gm)].map((m) => m.slice(1).join(':'));

async function readWire(fam: Fam, ns: Netns): Promise<{ generation: number; tables: string[] }> {
  return native.nftRead(fam, ns.path, null);
}

describe.skipIf(!isRoot)('native nf_tables back end', () => {
  it('an inverted port range from 0 reads back as iptables-nft-save prints it (HI+1:65535)', () =>
    withNetns(async (ns) => {
      // iptables-nft writes `! --dport 0:N` as `th dport > N` and reads it back as N+1:65535.
      const rules = `*filter\n-A INPUT -p tcp -m tcp ! --dport 0:262 -j DROP\n-A INPUT -p udp -m udp ! --sport :100 -j DROP\n-A INPUT -p tcp -m tcp --dport :100 -j DROP\nCOMMIT\n`;
      ns.ok(tools.ipv4.restore, [], rules);
      const read = await readWire('ipv4', ns);
      const saved = saveLines(ns.ok('iptables-nft-save')).filter((l) => l.startsWith('-A'));
      expect(saved).toEqual([
        '-A INPUT -p tcp -m tcp --dport 263:65535 -j DROP',
        '-A INPUT -p udp -m udp --sport 101:65535 -j DROP',
        '-A INPUT -p tcp -m tcp --dport 0:100 -j DROP',
      ]);
      const dports = [...read.tables.join('').matchAll(/dpts=(\d+:\d+)|spts=(\d+:\d+)/g)].map((m) => m[0]);
      expect(dports).toContain('dpts=263:65535');
      expect(dports).toContain('spts=101:65535');
      expect(dports).toContain('dpts=0:100');
    }, 'iptkit-nft'));

  for (const [fam, rules] of [
    ['ipv4', IPV4_RULES],
    ['ipv4', SEED_NAT],
    ['ipv6', IPV6_RULES],
  ] as [Fam, string][]) {
    const what = rules === SEED_NAT ? 'the seed nat table' : `the ${fam} rule set`;

    it(`${fam}: nftRead of ${what} equals legacyRead of the same rules`, async () => {
      await withNetns(async (nftNs) => {
        await withNetns(async (legacyNs) => {
          nftNs.ok(tools[fam].restore, ['-c'], rules);
          legacyNs.ok(tools[fam].legacyRestore, ['-c'], rules);
          const read = await readWire(fam, nftNs);
          const names = read.tables.map((t) => /^table\t(\S+)/.exec(t)![1]!);
          expect(names.length).toBeGreaterThan(0);
          for (let i = 0; i < names.length; i++) {
            const legacy = await native.legacyRead(fam, legacyNs.path, names[i]!);
            expect(stripHandles(read.tables[i]!)).toBe(legacy);
          }
          expect(read.tables.join('')).not.toContain('foreign\t');
        }, 'iptkit-nft-legacy');
      }, 'iptkit-nft');
    });

    it(`${fam}: nftCommit of ${what} into an empty namespace writes what iptables-nft writes`, async () => {
      await withNetns(async (src) => {
        await withNetns(async (dst) => {
          src.ok(tools[fam].restore, ['-c'], rules);
          const read = await readWire(fam, src);
          const empty = await readWire(fam, dst);
          expect(empty.tables).toEqual([]);
          await native.nftCommit(fam, dst.path, empty.generation, read.tables.map(stripHandles));

          expect(saveLines(dst.ok(tools[fam].save, ['-c']))).toEqual(saveLines(src.ok(tools[fam].save, ['-c'])));
          expect(netlinkDump(dst)).toBe(netlinkDump(src));
          const again = await readWire(fam, dst);
          expect(again.tables.map(stripHandles)).toEqual(read.tables.map(stripHandles));

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

  it('a rule written by nft reads as foreign and survives a commit', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      ns.ok('nft', ['add', 'rule', 'ip', 'filter', 'INPUT', 'ct', 'state', 'established', 'counter', 'accept']);
      const read = await readWire('ipv4', ns);
      const filter = read.tables.find((t) => t.startsWith('table\tfilter'))!;
      const foreign = filter.split('\n').filter((l) => l.startsWith('foreign\t'));
      expect(foreign).toHaveLength(1);
      expect(foreign[0]).toMatch(/^foreign\thandle=\d+\ttext=\S+$/);
      expect(foreign[0]).toContain('ct');

      const wire = atHead(keepAll(filter), 'INPUT', 'rule\tsrc=192.0.2.1/255.255.255.255\nverdict\tDROP\n');
      await native.nftCommit('ipv4', ns.path, read.generation, [wire]);

      expect(ns.ok('nft', ['list', 'chain', 'ip', 'filter', 'INPUT'])).toContain('ct state established counter');
      expect(ns.run('iptables-nft', ['-C', 'INPUT', '-s', '192.0.2.1/32', '-j', 'DROP']).status).toBe(0);
      const after = await readWire('ipv4', ns);
      const afterFilter = after.tables.find((t) => t.startsWith('table\tfilter'))!;
      expect(afterFilter.split('\n').filter((l) => l.startsWith('foreign\t'))).toEqual(foreign);
    }, 'iptkit-nft-foreign');
  });

  it('tables that are not iptables-nft\'s are never read, and a commit leaves them alone', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      ns.ok('nft', ['-f', '-'], 'table inet firewalld {\n chain filter_INPUT { type filter hook input priority 10; }\n}\ntable ip other {\n chain c { }\n}\n');
      const read = await readWire('ipv4', ns);
      expect(read.tables.map((t) => t.split('\t')[1])).toEqual(['filter', 'mangle', 'raw']);
      const filter = read.tables.find((t) => t.startsWith('table\tfilter'))!;
      await native.nftCommit('ipv4', ns.path, read.generation, [keepAll(filter)]);
      const ruleset = ns.ok('nft', ['list', 'tables']);
      expect(ruleset).toContain('table inet firewalld');
      expect(ruleset).toContain('table ip other');
    }, 'iptkit-nft-others');
  });

  it('kept rules keep their handles and counters; new rules land where the wire puts them', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
      const before = await readWire('ipv4', ns);
      const nat = before.tables[0]!;
      const beforeSave = saveLines(ns.ok('iptables-nft-save', ['-c']));
      // New rules at the head of DOCKER and between the first two kept rules of POSTROUTING.
      let wire = atHead(keepAll(nat), 'DOCKER', 'rule\tpkts=9\tbytes=99\tin=eth9\nverdict\tRETURN\n');
      const lines = wire.split('\n');
      const post = lines.findIndex((l) => l.startsWith('chain\tPOSTROUTING'));
      lines.splice(post + 2, 0, 'rule\tsrc=10.9.0.0/255.255.0.0\tout=eth9', 'target\tMASQUERADE\t0\tflags=0\tmin_addr=0.0.0.0\tmax_addr=0.0.0.0\tmin_proto=0\tmax_proto=0');
      wire = lines.join('\n');
      await native.nftCommit('ipv4', ns.path, before.generation, [wire]);

      const expected = [...beforeSave];
      const firstDocker = expected.findIndex((l) => l.includes('-A DOCKER '));
      expected.splice(firstDocker, 0, '[9:99] -A DOCKER -i eth9 -j RETURN');
      const firstPost = expected.findIndex((l) => l.includes('-A POSTROUTING '));
      expected.splice(firstPost + 1, 0, '[0:0] -A POSTROUTING -s 10.9.0.0/16 -o eth9 -j MASQUERADE');
      expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(expected);

      const after = await readWire('ipv4', ns);
      const handles = (w: string) => [...w.matchAll(/^rule\thandle=(\d+)\tpkts=(\d+)\tbytes=(\d+)/gm)].map((m) => m.slice(1).join(':'));
      const kept = handles(nat);
      const now = handles(after.tables[0]!);
      for (const h of kept) expect(now).toContain(h);
      expect(now).toHaveLength(kept.length + 2);
    }, 'iptkit-nft-keep');
  });

  it('rules and chains absent from the wire are deleted', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      const read = await readWire('ipv4', ns);
      const wire = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\tpolicy=ACCEPT\nrule\tin=lo\njump\tNEW\nchain\tFORWARD\nchain\tOUTPUT\nchain\tNEW\n';
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
      const read = await readWire('ipv4', ns);
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
      const read = await readWire('ipv4', ns);
      const saved = saveLines(ns.ok('iptables-nft-save', []));
      const wire = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\nrule\nverdict\tACCEPT\nchain\tFORWARD\nchain\tOUTPUT\nrule\njump\tNOSUCHCHAIN\n';
      await expect(native.nftCommit('ipv4', ns.path, read.generation, [wire])).rejects.toMatchObject({
        code: 'ENOENT',
        table: 'filter',
        chain: 'OUTPUT',
      });
      expect(saveLines(ns.ok('iptables-nft-save', []))).toEqual(saved);
    }, 'iptkit-nft-error');
  });

  it('an error on the first message of the batch is reported, not taken for success', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', [], IPV4_RULES);
      const read = await readWire('ipv4', ns);
      const saved = saveLines(ns.ok('iptables-nft-save', []));
      const long = 'X'.repeat(300);  // longer than NFT_CHAIN_MAXNAMELEN: the kernel refuses the new chain
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
      const nat = (await native.nftRead('ipv4', ns.path, ['nat'])).tables[0]!;
      // A later read of only filter at the same generation: nat is not in what it recorded.
      const filterOnly = await native.nftRead('ipv4', ns.path, ['filter']);
      const before = saveLines(ns.ok('iptables-nft-save', ['-c', '-t', 'nat']));
      const wire = atHead(keepAll(nat), 'DOCKER', 'rule\tin=eth9\nverdict\tRETURN\n');
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
        const read = await native.nftRead('ipv4', ns.path, ['nat']);
        const generation = round === 0 ? read.generation : (await native.nftRead('ipv4', ns.path, ['filter'])).generation;
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

  it('what a read recorded in one namespace is never used for another at the same generation', async () => {
    await withNetns(async (a) => {
      await withNetns(async (b) => {
        a.ok('iptables-nft-restore', [], '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i a1 -j ACCEPT\n-A INPUT -i a2 -j ACCEPT\n-A INPUT -i a3 -j ACCEPT\nCOMMIT\n');
        b.ok('iptables-nft-restore', [], '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i b1 -j ACCEPT\nCOMMIT\n');
        const ra = await native.nftRead('ipv4', a.path, ['filter']);
        const gb = (await native.nftRead('ipv4', b.path, ['nat'])).generation;
        // Namespaces with the same history are at the same generation: only the namespace tells
        // A's record from B's. A's keeps name rules B does not have.
        expect(gb).toBe(ra.generation);
        const saved = saveLines(b.ok('iptables-nft-save', []));
        await expect(native.nftCommit('ipv4', b.path, gb, [keepAll(ra.tables[0]!)])).rejects.toMatchObject({ code: 'ENOENT' });
        expect(saveLines(b.ok('iptables-nft-save', []))).toEqual(saved);
      }, 'iptkit-nft-cookie-b');
    }, 'iptkit-nft-cookie-a');
  });

  it('append=1 appends as iptables-nft-restore -n does: same save, same expressions, kept handles and counters', async () => {
    await withNetns(async (ns) => {
      await withNetns(async (ref) => {
        seedAppendBase(ns);
        seedAppendBase(ref);
        ref.ok('iptables-nft-restore', ['-n'], APPENDS);
        const wires = await appendWires(ref);
        expect(wires[0]).toContain('append=1');
        const before = await native.nftRead('ipv4', ns.path, ['nat', 'filter']);
        // Generation 0: an all-append call needs none.
        await native.nftCommit('ipv4', ns.path, 0, wires);

        expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saveLines(ref.ok('iptables-nft-save', ['-c'])));
        expect(netlinkDump(ns)).toBe(netlinkDump(ref));
        const after = await native.nftRead('ipv4', ns.path, ['nat', 'filter']);
        const kept = before.tables.flatMap(handlesOf);
        const now = after.tables.flatMap(handlesOf);
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
      const read = await native.nftRead('ipv4', ns.path, ['nat', 'filter']);
      ns.ok('iptables-nft', ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth7', '-j', 'RETURN']);
      const wire = 'table\tnat\tfamily=ipv4\tappend=1\nchain\tPOSTROUTING\nrule\tout=eth8\nverdict\tRETURN\n';
      const filter = read.tables.find((t) => t.startsWith('table\tfilter'))!;
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      await expect(native.nftCommit('ipv4', ns.path, read.generation, [wire, keepAll(filter)])).rejects.toMatchObject({ code: 'ERESTART' });
      expect(saveLines(ns.ok('iptables-nft-save', ['-c']))).toEqual(saved);

      await native.nftCommit('ipv4', ns.path, read.generation, [wire]);
      const post = saveLines(ns.ok('iptables-nft-save', ['-t', 'nat'])).filter((l) => l.startsWith('-A POSTROUTING'));
      expect(post.slice(-2)).toEqual(['-A POSTROUTING -o eth7 -j RETURN', '-A POSTROUTING -o eth8 -j RETURN']);
      // Mixed, at the current generation: both go in.
      const cur = await native.nftRead('ipv4', ns.path, ['filter']);
      await native.nftCommit('ipv4', ns.path, cur.generation, [wire, keepAll(cur.tables[0]!)]);
      expect(saveLines(ns.ok('iptables-nft-save', ['-t', 'nat'])).filter((l) => l === '-A POSTROUTING -o eth8 -j RETURN')).toHaveLength(2);
    }, 'iptkit-nft-append-gen');
  });

  it('append=1 to a missing chain or table is ENOENT naming it, and nothing changes', async () => {
    await withNetns(async (ns) => {
      ns.ok('iptables-nft-restore', ['-c'], SEED_NAT);
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      const ok = 'chain\tPOSTROUTING\nrule\tout=eth8\nverdict\tRETURN\n';
      const missingChain = `table\tnat\tfamily=ipv4\tappend=1\n${ok}chain\tNOPE\nrule\nverdict\tACCEPT\n`;
      await expect(native.nftCommit('ipv4', ns.path, 0, [missingChain])).rejects.toMatchObject({ code: 'ENOENT', table: 'nat', chain: 'NOPE' });
      const missingTable = 'table\tfilter\tfamily=ipv4\tappend=1\nchain\tINPUT\nrule\nverdict\tACCEPT\n';
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
      const read = await native.nftRead('ipv4', ns.path, ['nat']);
      const handle = /^rule\thandle=(\d+)/m.exec(read.tables[0]!)![1]!;
      const saved = saveLines(ns.ok('iptables-nft-save', ['-c']));
      const head = 'table\tnat\tfamily=ipv4\tappend=1\n';
      for (const [body, what] of [
        [`chain\tPOSTROUTING\nkeep\t${handle}\n`, /line 3: keep/],
        ['chain\tDOCKER\nrule\nverdict\tRETURN\nchain\tPOSTROUTING\tpolicy=ACCEPT\n', /line 5: policy= on chain POSTROUTING/],
        ['chain\tPOSTROUTING\tpkts=1\tbytes=2\n', /line 2: pkts= on chain POSTROUTING/],
        ['chain\tDOCKER\twas=3\nrule\nverdict\tRETURN\n', /line 2: was= on chain DOCKER/],
      ] as [string, RegExp][]) {
        const err = await native.nftCommit('ipv4', ns.path, 0, [head + body]).then(
          () => undefined,
          (e: unknown) => e as { code: string; message: string },
        );
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
        let wire = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\tpolicy=ACCEPT\nchain\tFORWARD\tpolicy=ACCEPT\nchain\tOUTPUT\tpolicy=ACCEPT\nchain\tBULK\n';
        const parts: string[] = [];
        for (let i = 0; i < N; i++) {
          const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
          const port = 1024 + (i % 60000);
          text.push(`-A BULK -s ${ip}/32 -p tcp -m tcp --dport ${port} -j ACCEPT`);
          parts.push(
            `rule\tsrc=${ip}/255.255.255.255\tproto=6\nmatch\ttcp\t0\tspts=0:65535\tdpts=${port}:${port}\toption=0\tflg_mask=0\tflg_cmp=0\tinvflags=0\nverdict\tACCEPT\n`,
          );
        }
        wire += parts.join('');
        text.push('-A FORWARD -j BULK', 'COMMIT', '');
        wire = wire.replace('chain\tFORWARD\tpolicy=ACCEPT\n', 'chain\tFORWARD\tpolicy=ACCEPT\nrule\njump\tBULK\n');

        const empty = await readWire('ipv4', ns);
        let t0 = performance.now();
        await native.nftCommit('ipv4', ns.path, empty.generation, [wire]);
        const commitMs = performance.now() - t0;

        t0 = performance.now();
        const read = await readWire('ipv4', ns);
        const readMs = performance.now() - t0;

        // Keep all 30,000 and add one: the commit that keeps counters.
        t0 = performance.now();
        await native.nftCommit('ipv4', ns.path, read.generation, [atHead(keepAll(read.tables[0]!), 'BULK', 'rule\nverdict\tRETURN\n')]);
        const keepMs = performance.now() - t0;

        t0 = performance.now();
        ref.ok('iptables-nft-restore', [], text.join('\n'));
        const toolMs = performance.now() - t0;
        console.log(
          `30,000 rules: nftCommit ${commitMs.toFixed(0)} ms, nftRead ${readMs.toFixed(0)} ms, ` +
            `keep-all+1 commit ${keepMs.toFixed(0)} ms (iptables-nft-restore: ${toolMs.toFixed(0)} ms)`,
        );

        expect(stripHandles(read.tables[0]!)).toBe(wire.replace(/^chain\tBULK$/m, 'chain\tBULK\trefs=1').replace(/^rule/gm, 'rule\tpkts=0\tbytes=0').replace(/^(chain\t(INPUT|FORWARD|OUTPUT)\tpolicy=ACCEPT)$/gm, '$1\tpkts=0\tbytes=0'));
        const mine = saveLines(ns.ok('iptables-nft-save', []));
        expect(mine.slice(0, 3)).toEqual(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]']);
        const refSave = saveLines(ref.ok('iptables-nft-save', []));
        refSave.splice(refSave.findIndex((l) => l.startsWith('-A BULK')), 0, '-A BULK -j RETURN');
        expect(mine).toEqual(refSave);
      }, 'iptkit-nft-ref');
    }, 'iptkit-nft-bulk');
  }, 300_000);
});
