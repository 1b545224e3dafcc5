// The target modules against the kernel: rules restored with iptables-legacy-restore in a
// throwaway netns read back through Netfilter.read as text no module left opaque, as the texts
// iptables-legacy-save prints, save (Netfilter.save) as it does and list (formatListing) as
// `iptables -L` lists them, with -n and without; the same input restored by iptkit reads back through
// iptables-legacy-save as the same lines, and the canonical text iptkit made of each input
// rule is the text it reads back (the planner relies on it); a table read, flushed and
// committed again as new rules comes back as it was, in the tools' save and listing. And what
// iptables-nft-restore wrote (xt target expressions) reads back as iptables-nft-save prints it.
// Needs root and the addon (IPTKIT_NATIVE=…/iptkit.node for a private build).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Netfilter } from '../../src/netfilter.js';
import type { Family, Table } from '../../src/rules/model.js';
import { formatListing } from '../../src/rules/listing.js';
import { restoreResult } from '../../src/rules/restore.js';
import { protColumnAsNumbers } from '../helpers/cli.js';
import { isRoot, saveLines, withNetns } from '../helpers/netns.js';
import type { Netns } from '../helpers/netns.js';
import { savedTable, tableSaved } from '../helpers/save-text.js';

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

/** -w: other test files take the xtables lock too. */
function restore(ns: Netns, family: Family, text: string): void {
  ns.ok(TOOLS[family].restore, ['-w'], text);
}

function toolRuleLines(ns: Netns, family: Family, table: string): string[] {
  return saveLines(ns.ok(TOOLS[family].save, ['-t', table])).filter((l) => l.startsWith('-A'));
}

function legacy(ns: Netns, family: Family): Promise<Netfilter> {
  return Netfilter.open({ backend: 'legacy', family, netns: ns.name, offload: false });
}

const OPAQUE = /--iptkit-opaque/;
const rulesOf = (tables: readonly Table[]) => tables.flatMap((t) => t.chains.flatMap((c) => c.rules.map((r) => `${t.name} ${c.name} ${r}`)));

/**
 * iptables -L names the kernel's target in the target column, CT for `-j NOTRACK`, where iptkit
 * prints NOTRACK: a known disagreement (ext-oracle.test.ts, KNOWN). The rest of the line must agree.
 */
function notrackAsCT(listing: string): string {
  return listing.replace(/^((?:\s*\d+\s+\d+ )?)NOTRACK   (?=.* NOTRACK$)/gm, '$1CT        ');
}

// Host names iptables -L (without -n) may print from /etc/hosts, where iptkit prints the
// address by design (no lookups).
const HOST_NAMES = new Set(
  readFileSync('/etc/hosts', 'utf8')
    .split('\n')
    .flatMap((l) => l.replace(/#.*/, '').trim().split(/\s+/).slice(1))
    .filter((w) => w !== ''),
);

/**
 * iptkit's listing with each address put back as the host name the tool printed in its place
 * (same line, same word): every other word and all spacing must still agree.
 */
function namesAsOurs(ours: string, theirs: string): string {
  const t = theirs.split('\n');
  return ours
    .split('\n')
    .map((line, i) => {
      const tw = (t[i] ?? '').split(/\s+/);
      if (!tw.some((w) => HOST_NAMES.has(w))) return line;
      const ow = line.split(/\s+/);
      if (ow.length !== tw.length) return line;
      let out = line;
      ow.forEach((w, k) => {
        if (HOST_NAMES.has(tw[k]!) && /^[0-9a-f.:]+(\/\d+)?$/.test(w)) out = out.replace(new RegExp(`${w.replace(/[.]/g, '\\.')}( *)`), (_m, sp: string) => tw[k]!.padEnd(w.length + sp.length, ' '));
      });
      return out;
    })
    .join('\n');
}

describe.skipIf(!isRoot)('target modules on the kernel (legacy)', () => {
  for (const [family, rules] of [['ipv4', V4], ['ipv6', V6]] as const) {
    it(`${family}: targets iptables-legacy-restore wrote read back as text, none opaque, save and list as the tools do`, async () => {
      await withNetns(async (ns) => {
        restore(ns, family, restoreText(rules));
        const nf = await legacy(ns, family);
        const read = await nf.read(Object.keys(TABLES));
        expect(read.map((t) => t.name)).toEqual(Object.keys(TABLES));
        expect(rulesOf(read).filter((r) => OPAQUE.test(r)), 'rules no module printed').toEqual([]);
        for (const table of read) {
          const expected = toolRuleLines(ns, family, table.name);
          expect(tableSaved(table).rules, `${family} ${table.name} read`).toEqual(savedTable([`*${table.name}`, ...expected].join('\n')).rules);
          const printed = saveLines(await nf.save({ tables: [table.name] })).filter((l) => l.startsWith('-A'));
          expect(printed, `${family} ${table.name}`).toEqual(expected);
          expect(printed.length).toBe(rules[table.name]!.length);
          // The whole listing, -n (the prot column shows names by design) and with names.
          const listN = ns.ok(TOOLS[family].list, ['-w', '-t', table.name, '-L', '-n']);
          expect(notrackAsCT(protColumnAsNumbers(formatListing(table, { numeric: true }))), `${table.name} -L -n`).toBe(listN);
          const list = ns.ok(TOOLS[family].list, ['-w', '-t', table.name, '-L']);
          expect(namesAsOurs(notrackAsCT(formatListing(table)), list), `${table.name} -L`).toBe(list);
        }
      }, 'iptkit-targets');
    });

    it(`${family}: the same input restored by iptkit reads back through iptables-legacy-save, as the text iptkit made of it`, async () => {
      await withNetns(async (ns) => {
        const input = restoreText(rules);
        restore(ns, family, input);
        const expected = Object.fromEntries(Object.keys(TABLES).map((t) => [t, toolRuleLines(ns, family, t)]));
        restore(ns, family, restoreText(rules, true));
        for (const name of Object.keys(TABLES)) expect(toolRuleLines(ns, family, name)).toEqual([]);
        const nf = await legacy(ns, family);
        await nf.restore(input);
        for (const name of Object.keys(TABLES)) expect(toolRuleLines(ns, family, name), `${family} ${name}`).toEqual(expected[name]);
        // The texts iptkit's parser made of the input are the texts it reads back: the planner
        // keeps a rule exactly when the two are equal.
        const built = restoreResult(input, { family });
        expect(rulesOf(await nf.read(Object.keys(TABLES)))).toEqual(rulesOf(built));
      }, 'iptkit-targets');
    });

    it(`${family}: read → flush → commit as new rules keeps every target as it was (iptables-legacy-save and -L agree)`, async () => {
      await withNetns(async (ns) => {
        restore(ns, family, restoreText(rules));
        const names = Object.keys(TABLES);
        const listing = (name: string) => ns.ok(TOOLS[family].list, ['-w', '-t', name, '-L', '-n', '-v', '-x']);
        const before = Object.fromEntries(names.map((t) => [t, toolRuleLines(ns, family, t)]));
        const listedBefore = Object.fromEntries(names.map((t) => [t, listing(t)]));
        const nf = await legacy(ns, family);
        const tables = await nf.read(names);
        restore(ns, family, restoreText(rules, true));
        const result = await nf.commit(tables);
        expect(result).toMatchObject({ kept: 0, added: Object.values(rules).reduce((n, r) => n + r.length, 0) });
        for (const name of names) {
          expect(toolRuleLines(ns, family, name), `${family} ${name}`).toEqual(before[name]);
          expect(listing(name), `${family} ${name} -L -n -v -x`).toBe(listedBefore[name]);
        }
        // Read again: the same texts as the first read.
        expect(rulesOf(await nf.read(names))).toEqual(rulesOf(tables));
      }, 'iptkit-targets');
    });
  }
});

describe.skipIf(!isRoot)('target modules on the kernel (nft)', () => {
  for (const [family, rules] of [['ipv4', V4], ['ipv6', V6]] as const) {
    it(`${family}: targets iptables-nft-restore wrote (xt target expressions) read back as iptables-nft-save prints them`, async () => {
      await withNetns(async (ns) => {
        const tool = family === 'ipv4' ? 'iptables-nft' : 'ip6tables-nft';
        ns.ok(`${tool}-restore`, [], restoreText(rules));
        const nf = await Netfilter.open({ backend: 'nft', family, netns: ns.name, offload: false });
        const read = await nf.read();
        expect(read.map((t) => t.name).sort()).toEqual(Object.keys(TABLES).sort());
        // Every rule in iptables-nft form: none opaque, none foreign (`# …`).
        const texts = read.flatMap((t) => t.chains.flatMap((c) => c.rules));
        expect(texts.filter((r) => OPAQUE.test(r) || r.startsWith('#')), 'rules no module printed').toEqual([]);
        for (const table of read) {
          const expected = saveLines(ns.ok(`${tool}-save`, ['-t', table.name])).filter((l) => l.startsWith('-A'));
          expect(tableSaved(table).rules, `${family} ${table.name} read`).toEqual(savedTable([`*${table.name}`, ...expected].join('\n')).rules);
          expect(saveLines(await nf.save({ tables: [table.name] })).filter((l) => l.startsWith('-A')), `${family} ${table.name}`).toEqual(expected);
        }
      }, 'iptkit-targets');
    });
  }
});
