// Native nftables objects (src/nft/objects.ts) against nft itself, in throwaway namespaces: a
// table in the shape of Docker 29's `docker-bridges` committed through the addon lists
// (`nft list table`) exactly as the same table written by `nft -f` does, and reads back as the
// description; nft's own table reads as the same description; a re-commit touches nothing, a
// changed chain is rewritten alone; merge keeps what it is not given, replace does not; a bad
// description is a one-line TypeError naming its field; a commit racing another writer loses
// none of the writer's changes.
import { describe, expect, it } from 'vitest';
import { commitNftTable, commitNftTables, NftPriority, readNftTable, type NftRule, type NftTable } from '../../src/nft/objects.js';
import { readMobyGoldens } from '../helpers/moby.js';
import { isRoot, Netns, withNetns } from '../helpers/netns.js';
import { addr, counter, ctEstablished, dnat, dport, fibDaddrLocal, ifname, jump, masq, snat, verdict, vmap } from '../../src/nft/exprs.js';

const rule = (exprs: NftRule['exprs'], comment?: string): NftRule => (comment === undefined ? { exprs } : { exprs, comment });

interface Net {
  bridge: string;
  subnet: string;
  containerIp: string;
  hostPort: number;
  containerPort: number;
}

// Docker 29's table for one NAT network with one published port, icc off, masquerade on, the
// userland proxy on (hairpin false), as moby's TestNftabler golden files show it; the same
// table as nft text and as objects. nft 1.0.6 refuses `priority dstnat` on the output hook (it
// prints -100 there), so the text says -100.
function dockerTable(v6: boolean, nets: Net[]): { text: string; objects: NftTable } {
  const fam = v6 ? 'ip6' : 'ip';
  const loop = v6 ? '::1' : '127.0.0.0/8';
  const maps = ['filter-forward-in-jumps', 'filter-forward-out-jumps', 'nat-postrouting-in-jumps', 'nat-postrouting-out-jumps'];
  const perNet = (m: string, br: string): string => `${m.replace('-jumps', '')}__${br}`;
  const dnatText = (n: Net): string => (v6 ? `[${n.containerIp}]:${n.containerPort}` : `${n.containerIp}:${n.containerPort}`);
  const text = [
    `table ${fam} docker-bridges {`,
    ...maps.map((m) => `map ${m} { type ifname : verdict; ${nets.length ? `elements = { ${nets.map((n) => `"${n.bridge}" : jump ${perNet(m, n.bridge)}`).join(', ')} }` : ''} }`),
    'chain filter-FORWARD { type filter hook forward priority filter; policy accept;',
    'oifname vmap @filter-forward-in-jumps', 'iifname vmap @filter-forward-out-jumps', '}',
    'chain nat-OUTPUT { type nat hook output priority -100; policy accept;',
    `${fam} daddr != ${loop} fib daddr type local counter jump nat-prerouting-and-output`, '}',
    'chain nat-POSTROUTING { type nat hook postrouting priority srcnat; policy accept;',
    'iifname vmap @nat-postrouting-out-jumps', 'oifname vmap @nat-postrouting-in-jumps', '}',
    'chain nat-PREROUTING { type nat hook prerouting priority dstnat; policy accept;',
    'fib daddr type local counter jump nat-prerouting-and-output', '}',
    'chain nat-prerouting-and-output {',
    ...nets.map((n) => `iifname != "${n.bridge}" ${v6 ? 'ip6 saddr != fe80::/10 ' : ''}tcp dport ${n.hostPort} counter dnat to ${dnatText(n)} comment "DNAT"`), '}',
    'chain raw-PREROUTING { type filter hook prerouting priority raw; policy accept;',
    ...nets.map((n) => `${fam} daddr ${n.containerIp} iifname != "${n.bridge}" counter drop comment "DROP DIRECT ACCESS"`), '}',
    ...nets.flatMap((n) => [
      `chain filter-forward-in__${n.bridge} {`,
      'ct state established,related counter accept',
      `iifname "${n.bridge}" counter drop comment "ICC"`,
      `${fam} daddr ${n.containerIp} tcp dport ${n.containerPort} counter accept`,
      'counter drop comment "UNPUBLISHED PORT DROP"', '}',
      `chain filter-forward-out__${n.bridge} {`, 'ct state established,related counter accept', 'counter accept comment "OUTGOING"', '}',
      `chain nat-postrouting-in__${n.bridge} {`, '}',
      `chain nat-postrouting-out__${n.bridge} {`,
      `oifname != "${n.bridge}" ${fam} saddr ${n.subnet} counter masquerade comment "MASQUERADE"`, '}',
    ]),
    '}',
  ].join('\n');
  const objects: NftTable = {
    family: fam,
    name: 'docker-bridges',
    sets: maps.map((m) => ({ name: m, type: 'ifname', map: 'verdict', elements: nets.map((n) => ({ key: n.bridge, verdict: 'jump', chain: perNet(m, n.bridge) })) })),
    chains: [
      { name: 'filter-FORWARD', type: 'filter', hook: 'forward', priority: NftPriority.filter, policy: 'accept',
        rules: [rule(vmap('oifname', 'filter-forward-in-jumps')), rule(vmap('iifname', 'filter-forward-out-jumps'))] },
      { name: 'nat-OUTPUT', type: 'nat', hook: 'output', priority: NftPriority.dstnat, policy: 'accept',
        rules: [rule([...addr('daddr', loop, 'neq'), ...fibDaddrLocal, counter, jump('nat-prerouting-and-output')])] },
      { name: 'nat-POSTROUTING', type: 'nat', hook: 'postrouting', priority: NftPriority.srcnat, policy: 'accept',
        rules: [rule(vmap('iifname', 'nat-postrouting-out-jumps')), rule(vmap('oifname', 'nat-postrouting-in-jumps'))] },
      { name: 'nat-PREROUTING', type: 'nat', hook: 'prerouting', priority: NftPriority.dstnat, policy: 'accept',
        rules: [rule([...fibDaddrLocal, counter, jump('nat-prerouting-and-output')])] },
      { name: 'nat-prerouting-and-output',
        rules: nets.map((n) => rule([...ifname('iifname', n.bridge, 'neq'), ...(v6 ? addr('saddr', 'fe80::/10', 'neq') : []), ...dport('tcp', n.hostPort), counter, ...dnat(n.containerIp, n.containerPort)], 'DNAT')) },
      { name: 'raw-PREROUTING', type: 'filter', hook: 'prerouting', priority: NftPriority.raw, policy: 'accept',
        rules: nets.map((n) => rule([...addr('daddr', n.containerIp), ...ifname('iifname', n.bridge, 'neq'), counter, verdict('drop')], 'DROP DIRECT ACCESS')) },
      ...nets.flatMap((n) => [
        { name: `filter-forward-in__${n.bridge}`, rules: [
          rule([...ctEstablished, counter, verdict('accept')]),
          rule([...ifname('iifname', n.bridge), counter, verdict('drop')], 'ICC'),
          rule([...addr('daddr', n.containerIp), ...dport('tcp', n.containerPort), counter, verdict('accept')]),
          rule([counter, verdict('drop')], 'UNPUBLISHED PORT DROP'),
        ] },
        { name: `filter-forward-out__${n.bridge}`, rules: [rule([...ctEstablished, counter, verdict('accept')]), rule([counter, verdict('accept')], 'OUTGOING')] },
        { name: `nat-postrouting-in__${n.bridge}`, rules: [] },
        { name: `nat-postrouting-out__${n.bridge}`, rules: [rule([...ifname('oifname', n.bridge, 'neq'), ...addr('saddr', n.subnet), counter, masq], 'MASQUERADE')] },
      ]),
    ],
  };
  return { text, objects };
}

const NET4: Net = { bridge: 'br-dummy', subnet: '192.168.0.0/24', containerIp: '192.168.0.2', hostPort: 8080, containerPort: 80 };
const NET4B: Net = { bridge: 'br-second', subnet: '10.7.0.0/16', containerIp: '10.7.0.5', hostPort: 9090, containerPort: 90 };
const NET6: Net = { bridge: 'br-dummy', subnet: 'fd49:efd7:54aa::/64', containerIp: 'fd49:efd7:54aa::1', hostPort: 8080, containerPort: 80 };

// The description as it reads back: counters carry their values, every optional part is there.
function normalise(t: NftTable | null): unknown {
  if (!t) return t;
  return {
    family: t.family,
    name: t.name,
    sets: (t.sets ?? []).map((s) => ({ ...s, elements: [...(s.elements ?? [])].sort((x, y) => String(x.key).localeCompare(String(y.key))) })),
    chains: (t.chains ?? []).map((c) => ({
      ...c,
      rules: (c.rules ?? []).map((r) => ({ ...r, exprs: r.exprs.map((e) => (e.expr === 'counter' ? { expr: 'counter' } : e)) })),
    })),
  };
}

const list = (ns: Netns, fam: string, name = 'docker-bridges'): string => ns.ok('nft', ['list', 'table', fam, name]);
const noCounters = (s: string): string => s.replace(/counter packets \d+ bytes \d+/g, 'counter');
const handles = (ns: Netns, fam: string): string => ns.ok('nft', ['-a', 'list', 'table', fam, 'docker-bridges']);

describe.skipIf(!isRoot)('native nftables objects', () => {
  for (const [fam, nets] of [['ip', [NET4, NET4B]], ['ip6', [NET6]]] as const) {
    it(`${fam}: Docker's table lists as nft -f writes it, and reads back as described`, async () => {
      const { text, objects } = dockerTable(fam === 'ip6', [...nets]);
      await withNetns(async (ours) => {
        await withNetns(async (theirs) => {
          theirs.ok('nft', ['-f', '-'], text);
          await commitNftTable(objects, { netns: ours.name });
          expect(list(ours, fam)).toBe(list(theirs, fam));
          expect(normalise(await readNftTable(fam, 'docker-bridges', { netns: ours.name }))).toEqual(normalise(objects));
          expect(normalise(await readNftTable(fam, 'docker-bridges', { netns: theirs.name }))).toEqual(normalise(objects));
        });
      });
    });
  }

  // Docker's own output (moby docker-v29.7.2 TestNftabler, test/golden/moby/*-nftables.txt) for
  // the cases the table above is: a NAT network with one published port, icc off, masquerade,
  // userland proxy; and the skeleton left when the networks are gone. nft 1.0.6 prints the
  // output hook's dstnat priority as a number (docs/design.md).
  const goldens = readMobyGoldens('docker-v29.7.2-nftables.txt');
  const cases = [
    ['hairpin=false,internal=false,icc=false,masq=true,snat=false,gwm=nat,bindlh=false', [NET4], [NET6]],
    ['cleaned,hairpin=false', [], []],
  ] as const;
  for (const [name, v4, v6] of cases) {
    for (const fam of ['ip', 'ip6'] as const) {
      it(`equals Docker 29's golden ${name}__${fam}`, async () => {
        const golden = goldens.get(`TestNftabler/${name}__${fam}`);
        expect(golden).toBeDefined();
        await withNetns(async (ns) => {
          await commitNftTable(dockerTable(fam === 'ip6', [...(fam === 'ip' ? v4 : v6)]).objects, { netns: ns.name });
          const listed = list(ns, fam)
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => l.replace('type nat hook output priority -100;', 'type nat hook output priority dstnat;'))
            .join('\n');
          expect(listed).toBe(golden);
        });
      });
    }
  }

  it('an empty Docker skeleton (no networks) lists as nft -f writes it', async () => {
    const { text, objects } = dockerTable(true, []);
    await withNetns(async (ours) => {
      await withNetns(async (theirs) => {
        theirs.ok('nft', ['-f', '-'], text);
        await commitNftTable(objects, { netns: ours.name });
        expect(list(ours, 'ip6')).toBe(list(theirs, 'ip6'));
      });
    });
  });

  it('a re-commit touches nothing; a new network rewrites only what changes, counters of the rest survive', async () => {
    await withNetns(async (ns) => {
      const one = dockerTable(false, [NET4]).objects;
      await commitNftTable(one, { netns: ns.name });
      // A datagram to a local address counts in nat-OUTPUT's jump.
      for (const args of [['link', 'set', 'lo', 'up'], ['addr', 'add', '10.9.9.9/32', 'dev', 'lo']]) ns.ok('ip', args);
      await ns.exec(process.execPath, ['-e', "const s = require('dgram').createSocket('udp4'); s.send('x', 9, '10.9.9.9', (e) => process.exit(e ? 1 : 0))"]);
      expect(list(ns, 'ip')).toMatch(/fib daddr type local counter packets 1 bytes \d+ jump/);
      const before = handles(ns, 'ip');
      await commitNftTable(one, { netns: ns.name });
      expect(handles(ns, 'ip')).toBe(before);

      // Another network: its chains and elements are added, the DNAT and raw chains rewritten.
      const two = dockerTable(false, [NET4, NET4B]);
      await commitNftTable(two.objects, { netns: ns.name });
      const after = handles(ns, 'ip');
      const chainBlock = (s: string, name: string): string => {
        const block = s.split('\n\tchain ').find((b) => b.startsWith(`${name} `)) ?? '';
        return block.slice(0, block.indexOf('\n\t}'));
      };
      for (const kept of ['filter-FORWARD', 'nat-OUTPUT', 'filter-forward-in__br-dummy', 'nat-postrouting-out__br-dummy']) {
        expect(chainBlock(after, kept), kept).toBe(chainBlock(before, kept));
      }
      expect(chainBlock(after, 'nat-OUTPUT')).toMatch(/counter packets 1 bytes \d+ jump/);
      expect(chainBlock(after, 'nat-prerouting-and-output')).not.toBe(chainBlock(before, 'nat-prerouting-and-output'));
      await withNetns(async (theirs) => {
        theirs.ok('nft', ['-f', '-'], two.text);
        expect(noCounters(list(ns, 'ip'))).toBe(noCounters(list(theirs, 'ip')));
      });

      // And back: the second network's chains and elements go.
      await commitNftTable(one, { netns: ns.name });
      await withNetns(async (theirs) => {
        theirs.ok('nft', ['-f', '-'], dockerTable(false, [NET4]).text);
        expect(noCounters(list(ns, 'ip'))).toBe(noCounters(list(theirs, 'ip')));
      });
    });
  });

  it('merge keeps chains and sets it is not given; replace leaves only the description; other tables stay', async () => {
    await withNetns(async (ns) => {
      const { objects } = dockerTable(false, [NET4]);
      await commitNftTable(objects, { netns: ns.name });
      ns.ok('nft', ['-f', '-'], 'table ip docker-bridges {\nset theirs { type ipv4_addr; elements = { 10.1.1.1 }; }\nchain theirs { counter; }\n}\ntable ip other {\nchain c { counter accept; }\n}\n');
      const other = list(ns, 'ip', 'other');
      await commitNftTable(objects, { netns: ns.name, mode: 'merge' });
      const merged = list(ns, 'ip');
      expect(merged).toContain('chain theirs {');
      expect(merged).toContain('set theirs {');
      await commitNftTable(objects, { netns: ns.name });
      await withNetns(async (theirs) => {
        theirs.ok('nft', ['-f', '-'], dockerTable(false, [NET4]).text);
        expect(list(ns, 'ip')).toBe(list(theirs, 'ip'));
      });
      expect(list(ns, 'ip', 'other')).toBe(other);
    });
  });

  it('sets of every key type, a constant set, policies and a changed base chain', async () => {
    await withNetns(async (ours) => {
      await withNetns(async (theirs) => {
        const text = `table ip t {
  set a4 { type ipv4_addr; elements = { 10.0.0.1, 192.168.1.7 } }
  set svc { type inet_service; flags constant; elements = { 80, 443 } }
  set pr { type inet_proto; elements = { 6, 17 } }
  set mk { type mark; elements = { 1, 4096 } }
  map vm { type ifname : verdict; elements = { "eth0" : accept, "eth1" : drop, "eth2" : return, "eth3" : goto c } }
  chain b { type filter hook input priority 10; policy drop; ip daddr @a4 counter accept; }
  chain c { snat to 192.168.123.0; }
  chain p { type nat hook postrouting priority srcnat; policy accept; }
}`;
        theirs.ok('nft', ['-f', '-'], text);
        const table: NftTable = {
          family: 'ip',
          name: 't',
          sets: [
            { name: 'a4', type: 'ipv4_addr', elements: [{ key: '10.0.0.1' }, { key: '192.168.1.7' }] },
            { name: 'svc', type: 'inet_service', flags: ['constant'], elements: [{ key: 80 }, { key: 443 }] },
            { name: 'pr', type: 'inet_proto', elements: [{ key: 6 }, { key: 17 }] },
            { name: 'mk', type: 'mark', elements: [{ key: 1 }, { key: 4096 }] },
            { name: 'vm', type: 'ifname', map: 'verdict', elements: [
              { key: 'eth0', verdict: 'accept' }, { key: 'eth1', verdict: 'drop' }, { key: 'eth2', verdict: 'return' }, { key: 'eth3', verdict: 'goto', chain: 'c' }] },
          ],
          chains: [
            { name: 'b', type: 'filter', hook: 'input', priority: 10, policy: 'drop',
              rules: [rule([{ expr: 'payload', base: 'network', offset: 16, len: 4, dreg: 1 }, { expr: 'lookup', sreg: 1, set: 'a4' }, counter, verdict('accept')])] },
            { name: 'c', rules: [rule(snat('192.168.123.0'))] },
            { name: 'p', type: 'nat', hook: 'postrouting', priority: NftPriority.srcnat, policy: 'accept', rules: [] },
          ],
        };
        await commitNftTable(table, { netns: ours.name });
        expect(list(ours, 'ip', 't')).toBe(list(theirs, 'ip', 't'));
        expect(normalise(await readNftTable('ip', 't', { netns: theirs.name }))).toEqual(normalise(table));
        expect(normalise(await readNftTable('ip', 't', { netns: ours.name }))).toEqual(normalise(table));

        // A new policy, a base chain on another hook, an element less.
        const changed: NftTable = {
          ...table,
          sets: table.sets!.map((s) => (s.name === 'a4' ? { ...s, elements: [{ key: '10.0.0.1' }] } : s)),
          chains: table.chains!.map((c) => (c.name === 'b' ? { ...c, policy: 'accept' as const } : c.name === 'p' ? { ...c, hook: 'output' as const, priority: 100 } : c)),
        };
        await commitNftTable(changed, { netns: ours.name });
        theirs.ok('nft', ['-f', '-'], `delete element ip t a4 { 192.168.1.7 }\nchain ip t b { policy accept; }\ndelete chain ip t p\nadd chain ip t p { type nat hook output priority 100; policy accept; }`);
        expect(list(ours, 'ip', 't')).toBe(list(theirs, 'ip', 't'));
      });
    });
  });

  it('a rule with an expression the model lacks reads as foreign, and a commit puts the described rules back', async () => {
    await withNetns(async (ns) => {
      const { objects } = dockerTable(false, [NET4]);
      await commitNftTable(objects, { netns: ns.name });
      ns.ok('nft', ['add', 'rule', 'ip', 'docker-bridges', 'filter-forward-out__br-dummy', 'log', 'prefix', 'x', 'counter', 'accept']);
      const read = await readNftTable('ip', 'docker-bridges', { netns: ns.name });
      const chain = read?.chains?.find((c) => c.name === 'filter-forward-out__br-dummy');
      expect(chain?.rules?.at(-1)).toMatchObject({ foreign: true, exprs: [{ expr: 'log' }, { expr: 'counter' }, { expr: 'immediate', verdict: 'accept' }] });
      await commitNftTable(objects, { netns: ns.name });
      expect(normalise(await readNftTable('ip', 'docker-bridges', { netns: ns.name }))).toEqual(normalise(objects));
    });
  });

  it('an anonymous set (nft\'s `{ a, b }`) lists as nft -f writes it, reads back with its rule, and a re-commit keeps it', async () => {
    const text = 'table ip t {\nchain c {\nip daddr 192.168.0.2 iifname != { "br-dummy", "eth0" } counter drop comment "DROP DIRECT ACCESS"\n}\n}\n';
    const table: NftTable = {
      family: 'ip',
      name: 't',
      chains: [{ name: 'c', rules: [{
        exprs: [...addr('daddr', '192.168.0.2'), { expr: 'meta', key: 'iifname', dreg: 1 }, { expr: 'lookup', sreg: 1, set: '__set0', flags: 1 }, counter, verdict('drop')],
        anonymousSets: [{ type: 'ifname', elements: [{ key: 'br-dummy' }, { key: 'eth0' }] }],
        comment: 'DROP DIRECT ACCESS',
      }] }],
    };
    await withNetns(async (ours) => {
      await withNetns(async (theirs) => {
        theirs.ok('nft', ['-f', '-'], text);
        await commitNftTable(table, { netns: ours.name });
        expect(list(ours, 'ip', 't')).toBe(list(theirs, 'ip', 't'));
        const sorted = (t: NftTable | null): unknown => normalise(t && { ...t, chains: t.chains!.map((c) => ({ ...c, rules: c.rules!.map((r) => ({ ...r, anonymousSets: r.anonymousSets!.map((a) => ({ ...a, elements: [...a.elements].sort((x, y) => String(x.key).localeCompare(String(y.key))) })) })) })) });
        expect(sorted(await readNftTable('ip', 't', { netns: theirs.name }))).toEqual(sorted(table));
        const before = ours.ok('nft', ['-a', 'list', 'ruleset']);
        await commitNftTable(table, { netns: ours.name });
        expect(ours.ok('nft', ['-a', 'list', 'ruleset'])).toBe(before);
        // Another element: the rule is written again with a new set, the old one goes with it.
        const more: NftTable = { ...table, chains: [{ ...table.chains![0]!, rules: [{ ...table.chains![0]!.rules![0]!, anonymousSets: [{ type: 'ifname', elements: [{ key: 'br-dummy' }, { key: 'eth0' }, { key: 'eth1' }] }] }] }] };
        await commitNftTable(more, { netns: ours.name });
        expect(list(ours, 'ip', 't')).toContain('iifname != { ');
        expect(list(ours, 'ip', 't')).toContain('"eth1"');
        // nft's netlink debug lists every set of the table, anonymous ones too: one is left.
        expect(ours.ok('nft', ['--debug=netlink', 'list', 'table', 'ip', 't']).match(/@__set\d+/g)).toHaveLength(1);
      });
      await expect(commitNftTable({ ...table, chains: [{ name: 'c', rules: [{ exprs: [{ expr: 'meta', key: 'iifname', dreg: 1 }, { expr: 'lookup', sreg: 1, set: '__set1' }] }] }] }, { netns: ours.name })).rejects.toThrow(
        'table.chains[0].rules[0].exprs[1].set: names no anonymous set of this rule',
      );
    });
  });

  it('several tables in one batch: both made, or neither; a bad one is named by its index', async () => {
    await withNetns(async (ours) => {
      await withNetns(async (theirs) => {
        const v4 = dockerTable(false, [NET4]);
        const v6 = dockerTable(true, [NET6]);
        theirs.ok('nft', ['-f', '-'], `${v4.text}\n${v6.text}\n`);
        const r = await commitNftTables([v4.objects, v6.objects], { netns: ours.name });
        expect(r.attempts).toBe(1);
        for (const fam of ['ip', 'ip6']) expect(list(ours, fam)).toBe(list(theirs, fam));
      });
      // The second table's jump names a chain it lacks: the kernel refuses it, and the first
      // table's change does not happen either.
      const before = ours.ok('nft', ['-a', 'list', 'ruleset']);
      const broken: NftTable = { family: 'ip6', name: 'docker-bridges', chains: [{ name: 'a', rules: [rule([jump('nowhere')])] }] };
      await expect(commitNftTables([dockerTable(false, [NET4, NET4B]).objects, broken], { netns: ours.name })).rejects.toThrow(/table ip6 docker-bridges: chain a rules\[0\]: No such file or directory/);
      expect(ours.ok('nft', ['-a', 'list', 'ruleset'])).toBe(before);
      await expect(commitNftTables([dockerTable(false, []).objects, { ...broken, family: 'inet' as 'ip' }], { netns: ours.name })).rejects.toThrow("tables[1].family: must be 'ip' or 'ip6'");
      await expect(commitNftTables([dockerTable(false, []).objects, dockerTable(false, []).objects], { netns: ours.name })).rejects.toThrow('tables[1].name: table docker-bridges of that family is tables[0] already');
    });
  });

  it('a missing table reads as null', async () => {
    await withNetns(async (ns) => {
      expect(await readNftTable('ip', 'docker-bridges', { netns: ns.name })).toBeNull();
    });
  });

  it('a bad description is a one-line TypeError naming the field, and nothing is committed', async () => {
    await withNetns(async (ns) => {
      const good = dockerTable(false, [NET4]).objects;
      const cases: [NftTable, string][] = [
        [{ ...good, family: 'inet' as 'ip' }, "table.family: must be 'ip' or 'ip6'"],
        [{ ...good, sets: [{ name: 'x', type: 'ether_addr' as 'ifname' }] }, 'table.sets[0].type: must be one of'],
        [{ ...good, sets: [{ name: 'x', type: 'ipv4_addr', elements: [{ key: '10.0.0.300' }] }] }, 'table.sets[0].elements[0].key: must be an IPv4 address'],
        [{ ...good, sets: [{ name: 'x', type: 'ifname', map: 'verdict', elements: [{ key: 'a', verdict: 'jump' }] }] }, 'table.sets[0].elements[0].chain: must be a string'],
        [{ ...good, chains: [{ name: 'c', type: 'filter', hook: 'sideways' as 'input', priority: 0 }] }, 'table.chains[0].hook: must be prerouting'],
        [{ ...good, chains: [{ name: 'c', rules: [rule([{ expr: 'cmp', sreg: 1, op: 'like', data: '00' }])] }] }, 'table.chains[0].rules[0].exprs[0].op: must be one of eq, neq'],
        [{ ...good, chains: [{ name: 'c', rules: [rule([{ expr: 'cmp', sreg: 1, op: 'eq', data: 'xyz' }])] }] }, 'table.chains[0].rules[0].exprs[0].data: must be bytes as hex'],
        [{ ...good, chains: [{ name: 'c', rules: [rule([{ expr: 'meta', key: 'iifname', dreg: 99 }])] }] }, 'table.chains[0].rules[0].exprs[0].dreg: must be an integer in 0..23'],
        [{ ...good, chains: [{ name: 'c', rules: [rule([{ expr: 'meta', colour: 'red' } as never])] }] }, 'table.chains[0].rules[0].exprs[0].colour: not a field of meta'],
        [{ ...good, chains: [{ name: 'c', rules: [rule([{ expr: 'quota' as 'meta' }])] }] }, "table.chains[0].rules[0].exprs[0].expr: unknown expression 'quota'"],
        [{ ...good, chains: [{ name: 'c' }, { name: 'c' }] }, "table.chains[1].name: chain 'c' given twice"],
        [{ ...good, chains: [{ name: 'c', policy: 'drop' }] }, 'table.chains[0].policy: only a base chain'],
      ];
      for (const [table, message] of cases) {
        let caught: unknown;
        try {
          await commitNftTable(table, { netns: ns.name });
        } catch (e) {
          caught = e;
        }
        expect(caught, message).toBeInstanceOf(TypeError);
        expect((caught as Error).message, message).toContain(message);
        expect((caught as Error).message).not.toContain('\n');
      }
      expect(await readNftTable('ip', 'docker-bridges', { netns: ns.name })).toBeNull();
    });
  });

  it('a kernel refusal names the object (a jump to a chain the description lacks)', async () => {
    await withNetns(async (ns) => {
      const bad: NftTable = { family: 'ip', name: 't', chains: [{ name: 'a', rules: [rule([jump('nowhere')])] }] };
      await expect(commitNftTable(bad, { netns: ns.name })).rejects.toThrow(/table ip t: chain a rules\[0\]: No such file or directory/);
      expect(await readNftTable('ip', 't', { netns: ns.name })).toBeNull();
    });
  });

  it('commits racing another nft writer lose none of its changes', async () => {
    await withNetns(async (ns) => {
      ns.ok('nft', ['add', 'table', 'ip', 'other']);
      ns.ok('nft', ['add', 'chain', 'ip', 'other', 'c']);
      const writes = 150;
      // One nft process adding rules one batch at a time, each bumping the ruleset generation.
      const script = Array.from({ length: writes }, (_, i) => `nft add rule ip other c counter comment w${i}`).join('\n');
      const writer = ns.exec('sh', ['-c', script], undefined, 120_000);
      const tables = [dockerTable(false, [NET4]).objects, dockerTable(false, [NET4, NET4B]).objects];
      for (let i = 0; i < 20; i++) await commitNftTable(tables[i % 2]!, { netns: ns.name });
      const w = await writer;
      expect(w.status).toBe(0);
      const rules = list(ns, 'ip', 'other').split('\n').filter((l) => l.includes('comment "w'));
      expect(rules).toHaveLength(writes);
      await withNetns(async (theirs) => {
        theirs.ok('nft', ['-f', '-'], dockerTable(false, [NET4, NET4B]).text);
        expect(list(ns, 'ip')).toBe(list(theirs, 'ip'));
      });
    });
  });
});
