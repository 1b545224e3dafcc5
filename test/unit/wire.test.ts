// The TypeScript side of the wire (docs/wire.md): reads built by hand from the spec decode to
// the model that prints as iptables-save would; commits encode the fields the spec names.

import { describe, expect, test } from 'vitest';
import { decodeTable, encodeCommit, encodeRead, escapeValue, unescapeValue } from '../../src/rules/wire.js';
import { printRule, printSave } from '../../src/rules/save.js';
import { formatListing } from '../../src/rules/listing.js';
import { applyRestore, parseRestore } from '../../src/rules/restore.js';
import { parseRuleArgs } from '../../src/rules/args.js';
import { ruleEquals } from '../../src/rules/equal.js';

const READ = [
  'table\tfilter\tfamily=ipv4',
  'chain\tINPUT\tpolicy=DROP\tpkts=7\tbytes=8',
  'rule\tpkts=1\tbytes=2\tsrc=10.0.0.0/255.0.0.0\tdst=0.0.0.0/0.0.0.0\tin=eth%2B\tproto=6\tinv=17',
  'verdict\tACCEPT',
  'rule\tpkts=0\tbytes=0\tout=br+\tfrag=1\tinv=34\tgoto=1',
  'jump\tX',
  'rule\tpkts=0\tbytes=0',
  'match\thashlimit\t3\traw=00ff',
  'chain\tFORWARD\tpolicy=ACCEPT\tpkts=0\tbytes=0',
  'chain\tOUTPUT\tpolicy=ACCEPT\tpkts=0\tbytes=0',
  'chain\tX\trefs=1',
  '',
].join('\n');

describe('decodeTable', () => {
  test('a hand-built read prints as iptables-save', () => {
    const { table } = decodeTable(READ);
    expect(printSave([table], { counters: true }).split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      '*filter',
      ':INPUT DROP [7:8]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':X - [0:0]',
      '[1:2] -A INPUT -s 10.0.0.0/8 ! -d 0.0.0.0/0 ! -i eth+ -p tcp -j ACCEPT',
      '[0:0] -A INPUT ! -o br+ ! -f -g X',
      '[0:0] -A INPUT -m hashlimit --iptkit-opaque 3:00ff',
      'COMMIT',
    ]);
    expect(table.chains[3]!.references).toBe(1);
    expect(table.chains[0]!.rules[2]!.matches[0]!.opaque).toBe(true);
  });

  test('nft reads carry handles and foreign rules', () => {
    const wire = 'table\tfilter\tfamily=ipv6\nchain\tINPUT\tpolicy=ACCEPT\tpkts=0\tbytes=0\nrule\thandle=4\tpkts=0\tbytes=0\tsrc=fd00::/ffff:ffff::\nverdict\tDROP\nforeign\thandle=9\ttext=ip6%20saddr%20::1%20drop\nrule\thandle=12\tpkts=0\tbytes=0\n';
    const d = decodeTable(wire);
    expect(d.handles).toEqual([[4, 12]]);
    expect(d.foreign).toEqual([{ chain: 'INPUT', handle: 9, text: 'ip6 saddr ::1 drop', position: 1 }]);
    expect(d.table.chains[0]!.rules[0]!.source).toBe('fd00::/32');
  });

  test('encodeRead and decodeTable round-trip a parsed rule', () => {
    const { rule } = parseRuleArgs('! -s 10.0.0.0/8 -p tcp --dport 80 -m comment --comment "a b" -j DNAT --to-destination 1.2.3.4:80'.replace(/"a b"/, 'ab').split(' '), 'ipv4');
    const t = { name: 'nat', family: 'ipv4' as const, chains: [{ name: 'PREROUTING', policy: 'ACCEPT' as const, rules: [rule] }] };
    const back = decodeTable(encodeRead(t)).table.chains[0]!.rules[0]!;
    expect(ruleEquals(back, rule)).toBe(true);
  });

  test('30,000 rules decode', () => {
    const rows = ['table\tnat\tfamily=ipv4', 'chain\tDOCKER\trefs=2'];
    for (let i = 0; i < 30_000; i++) {
      rows.push(`rule\tpkts=${i}\tbytes=${i * 60}\tdst=172.19.${i >> 8}.${i & 255}/255.255.255.255\tin=br-96a729b6b174\tproto=6\tinv=1`);
      rows.push(`match\ttcp\t0\tdport=${1 + (i % 60000)}`);
      rows.push(`target\tDNAT\t2\tflags=3\tmin_addr=172.19.0.2\tmax_addr=172.19.0.2\tmin_proto=80\tmax_proto=80`);
    }
    const wire = rows.join('\n') + '\n';
    const t0 = performance.now();
    const { table } = decodeTable(wire);
    const ms = performance.now() - t0;
    console.log(`decodeTable: 30,000 rules in ${ms.toFixed(1)} ms`);
    expect(table.chains[0]!.rules).toHaveLength(30_000);
    expect(table.chains[0]!.rules[29_999]!.destination).toBe('172.19.117.47/32');
  });
});

describe('encodeCommit', () => {
  test('chains with policies, guards, kept and new rules, in docs/wire.md form', () => {
    const { rule } = parseRuleArgs(['!', '-s', '0/0', '-i', 'eth0+', '!', '-o', 'é', '!', '-p', 'udp', '!', '-f', '-g', 'X'], 'ipv4');
    const text = encodeCommit('filter', 'ipv4', [
      { name: 'INPUT', policy: 'DROP', policyCounters: { packets: 1n, bytes: 2n }, was: 3, entries: [{ keep: 0 }, { rule, counters: { packets: 5n, bytes: 6n } }, { keep: 2 }] },
      { name: 'FORWARD', entries: [] },
      { name: 'X', entries: [{ rule: { matches: [], target: { kind: 'verdict', verdict: 'RETURN' } } }] },
    ]);
    expect(text).toBe(
      'table\tfilter\tfamily=ipv4\n' +
        'chain\tINPUT\tpolicy=DROP\tpkts=1\tbytes=2\twas=3\n' +
        'keep\t0\n' +
        'rule\tpkts=5\tbytes=6\tsrc=0.0.0.0/0.0.0.0\tin=eth0+\tout=%C3%A9\tproto=17\tfrag=1\tinv=106\tgoto=1\n' +
        'jump\tX\n' +
        'keep\t2\n' +
        'chain\tFORWARD\n' +
        'chain\tX\n' +
        'rule\n' +
        'verdict\tRETURN\n',
    );
  });

  test('kept indices must increase', () => {
    expect(() => encodeCommit('filter', 'ipv4', [{ name: 'INPUT', entries: [{ keep: 1 }, { keep: 1 }] }])).toThrow(RangeError);
  });

  test('escapes every byte below 0x21, %, = and 0x7f and above', () => {
    expect(escapeValue('a b=%\t\u007fé')).toBe('a%20b%3D%25%09%7F%C3%A9');
    expect(unescapeValue(escapeValue('a b=%\t\u007fé'))).toBe('a b=%\t\u007fé');
  });
});

// `-i +` / `-o +`: an interface name that is only the wildcard (see listing.ts, save.ts).
describe('a lone + as interface', () => {
  const head = 'table\tfilter\tfamily=ipv4\nchain\tINPUT\tpolicy=ACCEPT\tpkts=0\tbytes=0\nchain\tFORWARD\tpolicy=ACCEPT\tpkts=0\tbytes=0\nchain\tOUTPUT\tpolicy=ACCEPT\tpkts=0\tbytes=0\n';
  const list = (wire: string): string =>
    formatListing(decodeTable(wire).table, { numeric: true, verbose: true })
      .split('\n')
      .filter((l) => /ACCEPT|DROP/.test(l) && !l.startsWith('Chain'))
      .map((l) => l.trim().split(/\s+/).slice(5, 7).join(' '))
      .join(';');
  const save = (wire: string): string =>
    printSave([decodeTable(wire).table], { date: new Date(0) })
      .split('\n')
      .filter((l) => l.startsWith('-A'))
      .join(';');

  test('legacy `! -o +` (read as the inversion alone): iptables-legacy -L shows !+, iptables-legacy-save omits it', () => {
    const w = head + 'rule\tpkts=0\tbytes=0\tinv=2\nverdict\tACCEPT\n';
    const t = decodeTable(w).table;
    expect(t.chains[2]!.rules[0]!.outInterfaceInvert).toBe(true);
    expect(list(w)).toBe('* !+');
    expect(save(w)).toBe('-A OUTPUT -j ACCEPT');
    // Written back as iptables wrote it: the name `+` (mask zero) with the inversion.
    expect(encodeCommit('filter', 'ipv4', [{ name: 'OUTPUT', entries: [{ rule: t.chains[2]!.rules[0]! }] }])).toContain('rule\tout=+\tinv=2\n');
  });

  test('legacy `-i +` read with its name (name `+`, mask zero): -L shows +, save omits it', () => {
    const w = head.replace('chain\tFORWARD', 'rule\tpkts=0\tbytes=0\tin=+\nverdict\tACCEPT\nchain\tFORWARD');
    expect(list(w)).toBe('+ *');
    expect(save(w)).toBe('-A INPUT -j ACCEPT');
  });

  test('legacy `! -o +` read with its name is the same rule as read without it', () => {
    const a = decodeTable(head + 'rule\tpkts=0\tbytes=0\tout=+\tinv=2\nverdict\tACCEPT\n').table.chains[2]!.rules[0]!;
    const b = decodeTable(head + 'rule\tpkts=0\tbytes=0\tinv=2\nverdict\tACCEPT\n').table.chains[2]!.rules[0]!;
    expect(a).toEqual(b);
  });

  test('nft: the lone iifname load of `-i +` reads as no interface (iptables-nft -L shows *)', () => {
    const w = head.replace('chain\tFORWARD', 'rule\thandle=2\tpkts=0\tbytes=0\tin=+\nverdict\tACCEPT\nchain\tFORWARD');
    expect(list(w)).toBe('* *');
    expect(save(w)).toBe('-A INPUT -j ACCEPT');
    expect(decodeTable(w).table.chains[0]!.rules[0]!.inInterface).toBeUndefined();
  });

  test('nft `! -o +` (INVAL/D): iptables-nft -L shows !+, iptables-nft-save prints ! -o +', () => {
    const w = head + 'rule\thandle=3\tpkts=0\tbytes=0\tout=+\tinv=2\nverdict\tACCEPT\n';
    expect(list(w)).toBe('* !+');
    expect(save(w)).toBe('-A OUTPUT ! -o + -j ACCEPT');
  });

  test('parsed `-i +` still saves without it; `! -o +` saves as written', () => {
    expect(printRule('INPUT', parseRuleArgs(['-i', '+', '-j', 'ACCEPT'], 'ipv4').rule, 'ipv4')).toBe('-A INPUT -j ACCEPT');
    expect(printRule('OUTPUT', parseRuleArgs(['!', '-o', '+', '-j', 'ACCEPT'], 'ipv4').rule, 'ipv4')).toBe('-A OUTPUT ! -o + -j ACCEPT');
  });
});

// Every producer builds rules through createRule: one object shape, one key order.
describe('rule construction', () => {
  test('parsed, restored and decoded rules have the same keys in the same order', () => {
    const text = '*filter\n:X - [0:0]\n-A INPUT -i eth0 -s 10.0.0.1 -p tcp -m tcp --dport 80 -j ACCEPT\n-A X ! -o lo -d 10.0.0.0/8 -j DROP\nCOMMIT\n';
    const p = parseRestore(text, { family: 'ipv4' });
    const parsed = p.tables[0]!.commands.map((c) => ('rule' in c ? c.rule : undefined)!);
    const applied = applyRestore(p.tables[0]!, undefined).chains.flatMap((c) => c.rules);
    const decoded = decodeTable(encodeRead(applyRestore(p.tables[0]!, undefined))).table.chains.flatMap((c) => c.rules);
    const keys = Object.keys(parsed[0]!).join(',');
    for (const r of [...parsed, ...applied, ...decoded]) expect(Object.keys(r).join(',')).toBe(keys);
    // JSON leaves the absent (undefined) ones out, so a read prints as it did.
    expect(JSON.stringify(decoded[0], (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).toBe(
      '{"matches":[{"name":"tcp","revision":0,"fields":{"spts":"0:65535","dpts":"80:80","option":"0","flg_mask":"0","flg_cmp":"0","invflags":"0"}}],' +
        '"target":{"kind":"verdict","verdict":"ACCEPT"},"source":"10.0.0.1/32","inInterface":"eth0","protocol":6,"counters":{"packets":"0","bytes":"0"}}',
    );
  });
});
