// The target codecs and modules against the kernel: rules restored with
// iptables-legacy-restore in a throwaway netns are read with the addon (libiptc), must decode
// with a codec (not opaque), print as iptables-legacy-save prints them, and list as
// `iptables -L` lists them; and the reverse: the same input parsed and built by iptkit,
// committed through the addon, reads back through iptables-legacy-save as the same lines.
// Needs root and the addon (IPTKIT_NATIVE=…/iptkit.node for a private build).

import { describe, expect, it } from 'vitest';
import { native } from '../../src/binding.js';
import { targetForKernel } from '../../src/rules/ext/index.js';
import type { Family, Table } from '../../src/rules/model.js';
import { applyRestore, parseRestore } from '../../src/rules/restore.js';
import { printRule } from '../../src/rules/save.js';
import { decodeTable, encodeCommit } from '../../src/rules/wire.js';
import { isRoot, saveLines, withNetns } from '../helpers/netns.js';
import type { Netns } from '../helpers/netns.js';

const TABLES: Record<string, readonly string[]> = {
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

const V4: Record<string, readonly string[]> = {
  nat: [
    '-A PREROUTING -p tcp -j DNAT --to-destination 172.19.0.2:443',
    '-A PREROUTING -p tcp -j DNAT --to-destination 172.19.0.2-172.19.0.9:1000-2000',
    '-A PREROUTING -p tcp -j DNAT --to-destination 172.19.0.2 --random --persistent',
    '-A PREROUTING -p udp -j DNAT --to-destination :8080',
    '-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:1000-2000/3000',
    '-A PREROUTING -p sctp -j DNAT --to-destination 10.0.0.1:http',
    '-A PREROUTING -p tcp -j REDIRECT --to-ports 8080',
    '-A PREROUTING -p tcp -j REDIRECT --to-ports 8080-8090 --random',
    '-A PREROUTING -p tcp -j REDIRECT',
    '-A OUTPUT -d 127.0.0.1/32 -p tcp -j DNAT --to-destination 10.0.0.5:80',
    '-A POSTROUTING -s 172.19.0.0/16 ! -o br0 -j MASQUERADE',
    '-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-2048 --random-fully',
    '-A POSTROUTING -p udp -j MASQUERADE --random',
    '-A POSTROUTING -p tcp -j SNAT --to-source 1.2.3.4:100-200 --random-fully',
    '-A POSTROUTING -j SNAT --to-source 1.2.3.4-1.2.3.8 --persistent',
    '-A POSTROUTING -j SNAT --to-source 1.2.3.4 --random',
  ],
  filter: [
    '-A INPUT -j REJECT',
    '-A INPUT -j REJECT --reject-with icmp-host-prohibited',
    '-A INPUT -p tcp -j REJECT --reject-with tcp-reset',
    '-A INPUT -j REJECT --reject-with net-unreach',
    '-A INPUT -j REJECT --reject-with icmp-host-unreachable',
    '-A INPUT -j REJECT --reject-with icmp-proto-unreachable',
    '-A INPUT -j REJECT --reject-with icmp-net-prohibited',
    '-A INPUT -j REJECT --reject-with icmp-admin-prohibited',
    '-A INPUT -j LOG',
    '-A INPUT -j LOG --log-prefix "x " --log-level 7',
    `-A INPUT -j LOG --log-prefix "it's \\"q\\" " --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode`,
    '-A INPUT -j LOG --log-level warning',
    '-A INPUT -j LOG --log-level alert --log-prefix plain_prefix-1',
    '-A INPUT -j LOG --log-prefix 1234567890123456789012345678901234',
    '-A FORWARD -j MARK --set-mark 1',
    '-A FORWARD -j MARK --set-xmark 0x1/0xff',
    '-A FORWARD -j MARK --set-mark 0x10/0x0f',
    '-A FORWARD -j MARK --and-mark 0xf0',
    '-A FORWARD -j MARK --or-mark 0x4',
    '-A FORWARD -j MARK --xor-mark 0x8',
  ],
  mangle: [
    '-A POSTROUTING -p udp -j CHECKSUM --checksum-fill',
    '-A PREROUTING -j MARK --set-mark 0xffffffff',
  ],
  raw: [
    '-A PREROUTING -j CT --notrack',
    '-A PREROUTING -j NOTRACK',
    '-A PREROUTING -p tcp -j CT --helper ftp',
    '-A PREROUTING -j CT --zone 5',
    '-A PREROUTING -j CT --zone-orig mark',
    '-A OUTPUT -j CT --ctevents destroy,new --expevents new --zone-reply 7',
  ],
};

const V6: Record<string, readonly string[]> = {
  nat: [
    '-A PREROUTING -p tcp -j DNAT --to-destination [fd00::2]:443',
    '-A PREROUTING -p tcp -j DNAT --to-destination [fd00::2-fd00::9]:1000-2000',
    '-A PREROUTING -p tcp -j DNAT --to-destination fd00::2 --random --persistent',
    '-A PREROUTING -p tcp -j DNAT --to-destination :8080',
    '-A PREROUTING -p tcp -j DNAT --to-destination [fd00:0::1]:1000-2000/3000',
    '-A PREROUTING -p tcp -j DNAT --to-destination fd00::2-fd00::9',
    '-A PREROUTING -p tcp -j REDIRECT --to-ports 8080',
    '-A PREROUTING -p tcp -j REDIRECT --to-ports 8080-8090 --random',
    '-A PREROUTING -p tcp -j REDIRECT',
    '-A POSTROUTING -s fd00::/64 ! -o br0 -j MASQUERADE',
    '-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-2048 --random-fully',
    '-A POSTROUTING -p udp -j MASQUERADE --random',
    '-A POSTROUTING -p tcp -j SNAT --to-source [2001:db8::1]:100-200 --random-fully',
    '-A POSTROUTING -j SNAT --to-source 2001:db8::1-2001:db8::8 --persistent',
    '-A POSTROUTING -j SNAT --to-source ::ffff:1.2.3.4',
  ],
  filter: [
    '-A INPUT -j REJECT',
    '-A INPUT -j REJECT --reject-with icmp6-no-route',
    '-A INPUT -j REJECT --reject-with adm-prohibited',
    '-A INPUT -j REJECT --reject-with icmp6-addr-unreachable',
    '-A INPUT -j REJECT --reject-with icmp6-port-unreachable',
    '-A INPUT -p tcp -j REJECT --reject-with tcp-reset',
    '-A INPUT -j REJECT --reject-with icmp6-policy-fail',
    '-A INPUT -j REJECT --reject-with reject-route',
    '-A INPUT -j LOG --log-prefix "v6 " --log-uid',
    '-A INPUT -j LOG --log-level debug --log-tcp-options',
    '-A FORWARD -j MARK --set-mark 0x10',
    '-A FORWARD -j MARK --xor-mark 0x10',
  ],
  mangle: ['-A POSTROUTING -p udp -j CHECKSUM --checksum-fill'],
  raw: ['-A PREROUTING -j CT --notrack', '-A PREROUTING -j NOTRACK', '-A OUTPUT -p tcp -j CT --helper ftp --zone 3'],
};

function restoreText(rules: Record<string, readonly string[]>, empty = false): string {
  const out: string[] = [];
  for (const [table, chains] of Object.entries(TABLES)) {
    out.push(`*${table}`, ...chains.map((c) => `:${c} ACCEPT [0:0]`));
    if (!empty) out.push(...(rules[table] ?? []));
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

const TOOLS: Record<Family, { restore: string; save: string; list: string }> = {
  ipv4: { restore: 'iptables-legacy-restore', save: 'iptables-legacy-save', list: 'iptables-legacy' },
  ipv6: { restore: 'ip6tables-legacy-restore', save: 'ip6tables-legacy-save', list: 'ip6tables-legacy' },
};

function toolRuleLines(ns: Netns, family: Family, table: string): string[] {
  return saveLines(ns.ok(TOOLS[family].save, ['-t', table])).filter((l) => l.startsWith('-A'));
}

async function readTable(ns: Netns, family: Family, table: string): Promise<Table> {
  return decodeTable(await native.legacyRead(family, ns.path, table)).table;
}

/** The rule lines of `iptables -L CHAIN` (after the two header lines), trailing blanks cut. */
function listingLines(ns: Netns, family: Family, table: string, chain: string, numeric: boolean): string[] {
  const args = ['-t', table, '-L', chain, ...(numeric ? ['-n'] : [])];
  return ns.ok(TOOLS[family].list, args).split('\n').slice(2).filter((l) => l !== '').map((l) => l.trimEnd());
}

describe.skipIf(!isRoot)('target codecs on the kernel (legacy)', () => {
  for (const [family, rules] of [['ipv4', V4], ['ipv6', V6]] as const) {
    it(`${family}: targets iptables-legacy-restore wrote decode with a codec, save and list as the tools do`, async () => {
      await withNetns(async (ns) => {
        ns.ok(TOOLS[family].restore, [], restoreText(rules));
        for (const name of Object.keys(TABLES)) {
          const expected = toolRuleLines(ns, family, name);
          const table = await readTable(ns, family, name);
          const printed: string[] = [];
          for (const chain of table.chains) {
            const listed = listingLines(ns, family, name, chain.name, true);
            const listedNames = listingLines(ns, family, name, chain.name, false);
            chain.rules.forEach((rule, i) => {
              const t = rule.target;
              expect(t.kind, `${name} ${chain.name} #${i + 1}`).toBe('extension');
              if (t.kind !== 'extension') return;
              expect(t.opaque ?? false, `${t.name} rev ${t.revision} decoded by a codec`).toBe(false);
              const ext = targetForKernel(t, family);
              expect(ext, `a module prints ${t.name} rev ${t.revision}`).toBeDefined();
              printed.push(printRule(chain.name, rule, family));
              // The options column is the end of the tool's line (the prot column differs by design).
              expect(listed[i]!.endsWith(ext!.list(t, { family, numeric: true })), `-L -n: ${listed[i]}`).toBe(true);
              expect(listedNames[i]!.endsWith(ext!.list(t, { family, numeric: false })), `-L: ${listedNames[i]}`).toBe(true);
            });
          }
          expect(printed, `${family} ${name}`).toEqual(expected);
          expect(printed.length).toBe(rules[name]!.length);
        }
      }, 'iptkit-targets');
    });

    it(`${family}: the same input parsed and built by iptkit, committed, reads back through iptables-legacy-save`, async () => {
      await withNetns(async (ns) => {
        const input = restoreText(rules);
        ns.ok(TOOLS[family].restore, [], input);
        const expected = Object.fromEntries(Object.keys(TABLES).map((t) => [t, toolRuleLines(ns, family, t)]));
        ns.ok(TOOLS[family].restore, [], restoreText(rules, true));
        const parsed = parseRestore(input, { family });
        const commits: string[] = [];
        const built: Table[] = [];
        for (const rt of parsed.tables) {
          const table = applyRestore(rt, undefined);
          built.push(table);
          commits.push(encodeCommit(rt.name, family, table.chains.map((c) => ({ name: c.name, entries: c.rules.map((rule) => ({ rule })) }))));
        }
        for (const name of Object.keys(TABLES)) expect(toolRuleLines(ns, family, name)).toEqual([]);
        await native.legacyCommit(family, ns.path, commits);
        for (const name of Object.keys(TABLES)) expect(toolRuleLines(ns, family, name), `${family} ${name}`).toEqual(expected[name]);
        // What build() made is field for field what the codecs decode back (the planner relies on it).
        for (const table of built) {
          const read = await readTable(ns, family, table.name);
          const targets = (t: Table) => t.chains.flatMap((c) => c.rules.map((r) => r.target));
          expect(targets(read), `${family} ${table.name}`).toEqual(targets(table));
        }
      }, 'iptkit-targets');
    });

    it(`${family}: decode → encode → commit keeps every target byte for byte (iptables-legacy-save agrees)`, async () => {
      await withNetns(async (ns) => {
        ns.ok(TOOLS[family].restore, [], restoreText(rules));
        const before = Object.fromEntries(Object.keys(TABLES).map((t) => [t, toolRuleLines(ns, family, t)]));
        const tables = await Promise.all(Object.keys(TABLES).map((t) => readTable(ns, family, t)));
        ns.ok(TOOLS[family].restore, [], restoreText(rules, true));
        const commits = tables.map((table) =>
          encodeCommit(table.name, family, table.chains.map((c) => ({ name: c.name, entries: c.rules.map((rule) => ({ rule: { ...rule, counters: undefined } })) }))),
        );
        await native.legacyCommit(family, ns.path, commits);
        for (const name of Object.keys(TABLES)) expect(toolRuleLines(ns, family, name), `${family} ${name}`).toEqual(before[name]);
        // Read again: the fields are the same as the first read.
        const again = await Promise.all(Object.keys(TABLES).map((t) => readTable(ns, family, t)));
        const targets = (ts: Table[]) => ts.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => r.target)));
        expect(targets(again)).toEqual(targets(tables));
      }, 'iptkit-targets');
    });
  }

  for (const [family, rules] of [['ipv4', V4], ['ipv6', V6]] as const) {
    it(`${family}: targets iptables-nft-restore wrote (xt target expressions) decode with a codec and print as iptables-nft-save`, async () => {
      await withNetns(async (ns) => {
        const tool = family === 'ipv4' ? 'iptables-nft' : 'ip6tables-nft';
        ns.ok(`${tool}-restore`, [], restoreText(rules));
        const read = await native.nftRead(family, ns.path, null);
        for (const wire of read.tables) {
          const { table } = decodeTable(wire);
          const expected = saveLines(ns.ok(`${tool}-save`, ['-t', table.name])).filter((l) => l.startsWith('-A'));
          const printed: string[] = [];
          for (const chain of table.chains) {
            for (const rule of chain.rules) {
              const t = rule.target;
              if (t.kind === 'extension') expect(t.opaque ?? false, `${t.name} rev ${t.revision} decoded by a codec`).toBe(false);
              printed.push(printRule(chain.name, rule, family));
            }
          }
          expect(printed, `${family} ${table.name}`).toEqual(expected);
        }
        expect(read.tables.length).toBe(Object.keys(TABLES).length);
      }, 'iptkit-targets');
    });
  }
});
