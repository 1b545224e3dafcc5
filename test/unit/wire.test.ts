// The TypeScript side of the wire (docs/wire.md): reads built by hand from the spec decode to
// the model, chain for chain and rule for rule as iptables-save would print them; commits
// encode the records the spec names.

import { describe, expect, test } from 'vitest';
import { decodeTable, encodeCommit } from '../../src/rules/wire.js';
import { savedTable, tableSaved } from '../helpers/save-text.js';

const READ = [
  'table\tfilter\tipv4',
  'chain\tINPUT\tDROP\t7\t8\t3',
  '-s 10.0.0.0/8 ! -d 0.0.0.0/0 ! -i eth+ -p tcp -j ACCEPT',
  '! -o br+ ! -f -g X',
  '-m hashlimit --iptkit-opaque 3:00ff',
  'chain\tFORWARD\tACCEPT\t0\t0\t0',
  'chain\tOUTPUT\tACCEPT\t0\t0\t0',
  'chain\tX\t-\t1\t1',
  '-m comment --comment "a b" -j RETURN',
  '',
].join('\n');

describe('decodeTable', () => {
  test('a hand-built read decodes to the table iptables-save would print, counters from the typed array', () => {
    const counters = new BigUint64Array([1n, 2n, 0n, 0n, 3n, 4n, 5n, 6n]);
    const { table } = decodeTable({ wire: READ, counters });
    expect(table.name).toBe('filter');
    expect(tableSaved(table, true)).toEqual(
      savedTable(
        [
          '*filter',
          ':INPUT DROP [7:8]',
          ':FORWARD ACCEPT [0:0]',
          ':OUTPUT ACCEPT [0:0]',
          ':X - [0:0]',
          '[1:2] -A INPUT -s 10.0.0.0/8 ! -d 0.0.0.0/0 ! -i eth+ -p tcp -j ACCEPT',
          '[0:0] -A INPUT ! -o br+ ! -f -g X',
          '[3:4] -A INPUT -m hashlimit --iptkit-opaque 3:00ff',
          '[5:6] -A X -m comment --comment "a b" -j RETURN',
          'COMMIT',
        ].join('\n'),
      ),
    );
    expect(table.chains[3]!.references).toBe(1);
    expect(table.chains[0]!.policy).toBe('DROP');
    expect(table.chains[0]!.counters).toEqual({ packets: 7n, bytes: 8n });
  });

  test('nft reads carry a handle per rule, and foreign rules stand in their chain', () => {
    const wire = 'table\tfilter\tipv6\nchain\tINPUT\tACCEPT\t0\t0\t3\n-s fd00::/32 -j DROP\n#\tip6 saddr ::1 drop\n-j ACCEPT\n';
    const d = decodeTable({ wire, counters: new BigUint64Array(6), handles: new Float64Array([4, 9, 12]) });
    expect(d.handles!.map((h) => [...h])).toEqual([[4, 9, 12]]);
    expect(d.table.chains[0]!.rules).toEqual(['-s fd00::/32 -j DROP', '#\tip6 saddr ::1 drop', '-j ACCEPT']);
  });

  test('a read whose counters do not match its rules is refused', () => {
    expect(() => decodeTable({ wire: 'table\tfilter\tipv4\nchain\tINPUT\tACCEPT\t0\t0\t1\n-j ACCEPT\n', counters: new BigUint64Array(0) })).toThrow(/counters/);
    expect(() => decodeTable({ wire: 'table\tfilter\tipv4\nchain\tINPUT\tACCEPT\t0\t0\t2\n-j ACCEPT\n', counters: new BigUint64Array(4) })).toThrow(/rule count/);
  });

  test('30,000 rules decode (timing printed, not asserted)', () => {
    const lines = ['table\tfilter\tipv4', 'chain\tDOCKER\t-\t1\t30000'];
    for (let i = 0; i < 30_000; i++) lines.push(`-d 172.19.${i >> 8}.${i & 255}/32 ! -i br-x -o br-x -p tcp -m tcp --dport ${i} -j ACCEPT`);
    const wire = lines.join('\n') + '\n';
    const t0 = performance.now();
    const { table } = decodeTable({ wire, counters: new BigUint64Array(60_000) });
    console.log(`decodeTable: 30,000 rules in ${(performance.now() - t0).toFixed(1)} ms`);
    expect(table.chains[0]!.rules).toHaveLength(30_000);
  });
});

describe('encodeCommit', () => {
  test('chains, keeps and new rules as docs/wire.md spells them', () => {
    const wire = encodeCommit('nat', 'ipv4', [
      { name: 'PREROUTING', policy: 'ACCEPT', policyCounters: { packets: 1n, bytes: 2n }, was: 2, entries: [{ keep: 0 }, { rule: '-m addrtype --dst-type LOCAL -j DOCKER' }] },
      { name: 'DOCKER', entries: [{ rule: '-i br-x -j RETURN', counters: { packets: 3n, bytes: 4n } }] },
    ]);
    expect(wire).toBe(
      'table\tnat\tfamily=ipv4\n' +
        'chain\tPREROUTING\tpolicy=ACCEPT\tpkts=1\tbytes=2\twas=2\n' +
        'keep\t0\n' +
        'rule\t-\t-\t-m addrtype --dst-type LOCAL -j DOCKER\n' +
        'chain\tDOCKER\n' +
        'rule\t3\t4\t-i br-x -j RETURN\n',
    );
  });

  test('nf_tables: a kept rule is written as its handle (keepAs), in the chain order of the plan', () => {
    const handles: Record<string, number[]> = { INPUT: [7, 3, 12], OUTPUT: [40] };
    const keepAs = (chain: string, i: number): number => handles[chain]![i]!;
    const wire = encodeCommit('filter', 'ipv4', [
      { name: 'INPUT', entries: [{ keep: 0 }, { rule: '-j ACCEPT' }, { keep: 2 }] },
      { name: 'OUTPUT', entries: [{ keep: 0 }] },
    ], keepAs);
    expect(wire).toBe('table\tfilter\tfamily=ipv4\nchain\tINPUT\nkeep\t7\nrule\t-\t-\t-j ACCEPT\nkeep\t12\nchain\tOUTPUT\nkeep\t40\n');
    // The plan's indices still have to increase, whatever the handles are.
    expect(() => encodeCommit('filter', 'ipv4', [{ name: 'INPUT', entries: [{ keep: 2 }, { keep: 1 }] }], keepAs)).toThrow(RangeError);
  });

  test('keeps must increase; a rule cannot hold a line break', () => {
    expect(() => encodeCommit('filter', 'ipv4', [{ name: 'INPUT', entries: [{ keep: 1 }, { keep: 0 }] }])).toThrow(RangeError);
    expect(() => encodeCommit('filter', 'ipv4', [{ name: 'INPUT', entries: [{ rule: '-m comment --comment "a\nb"' }] }])).toThrow(/line break/);
  });

  test('a held chain goes as lines=N and its texts, a line each', () => {
    const wire = encodeCommit('nat', 'ipv4', [
      { name: 'DOCKER', entries: [], lines: '-i br-x -j RETURN\n-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:80' },
      { name: 'EMPTY', entries: [], lines: '' },
    ]);
    expect(wire).toBe(
      'table\tnat\tfamily=ipv4\n' +
        'chain\tDOCKER\tlines=2\n' +
        '-i br-x -j RETURN\n' +
        '-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:80\n' +
        'chain\tEMPTY\tlines=0\n',
    );
    // A CR or NUL in a held chain's texts is named as in any rule.
    expect(() => encodeCommit('nat', 'ipv4', [{ name: 'DOCKER', entries: [], lines: '-j RETURN\n-m comment --comment "a\rb" -j RETURN' }])).toThrow(
      /rule comment: a line break \(CR or LF\) cannot be part of a rule: "-m comment --comment \\"a\\rb\\" -j RETURN"/,
    );
  });

  test('a chain name cannot hold a tab, a line break or a NUL (it is a field of the wire)', () => {
    for (const name of ['A\nB', 'A\rB', 'A\0B', 'A\tB']) {
      for (const chain of [{ name, entries: [] }, { name, entries: [], lines: '-j RETURN' }]) {
        expect(() => encodeCommit('filter', 'ipv4', [chain])).toThrow(new TypeError(`chain: a tab, line break or NUL cannot be part of a chain name: ${JSON.stringify(name)}`));
      }
    }
  });
});
