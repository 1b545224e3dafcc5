// The text layer against texts the real tools printed (iptables-legacy 1.8.9 in a throwaway
// netns; each fixture names the command that produced it), and against the seed article.
// Rules are canonical text read by the native dialect; every rule here goes through the public
// functions (parseRestore / restoreResult), one-line restores standing in for `iptables -A
// CHAIN …` followed by iptables-save: a rule's text is what iptables-save prints after `-A CHAIN `.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ParseError } from '../../src/errors.js';
import { parseRestore, restoreResult, type RestoreCommand } from '../../src/rules/restore.js';
import { parseRule } from '../../src/rules/spec.js';
import { isBuiltinChain, type Family, type Table } from '../../src/rules/model.js';
import { savedTable, tableSaved } from '../helpers/save-text.js';

const SEED = readFileSync(new URL('../../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');

function restoreToTable(text: string, family: Family = 'ipv4', counters = false, current?: Table, noflush = false): Table[] {
  return restoreResult(text, { family, counters, noflush }, current ? [current] : []);
}

/** `iptables -A CHAIN <args>; iptables-save`: the saved rule's text, through a one-line restore. */
function saved(args: string, family: Family = 'ipv4', chain = 'FORWARD', table = 'filter'): string {
  const decl = isBuiltinChain(table, chain) ? '' : `:${chain} - [0:0]\n`;
  const [t] = restoreToTable(`*${table}\n${decl}-A ${chain} ${args}\nCOMMIT\n`, family);
  const c = t!.chains.find((x) => x.name === chain)!;
  expect(c.rules).toHaveLength(1);
  return c.rules[0]!;
}

/** The ParseError a one-line restore of `-A CHAIN <args>` throws; it names line 2. */
function refused(args: string, family: Family = 'ipv4', chain = 'FORWARD'): ParseError {
  try {
    parseRestore(`*filter\n-A ${chain} ${args}\nCOMMIT\n`, { family });
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    expect(e.line).toBe(2);
    return e;
  }
  throw new Error(`-A ${chain} ${args} was accepted`);
}

/** The commands of a one-table restore input. */
function commands(text: string, family: Family = 'ipv4'): RestoreCommand[] {
  const [t] = parseRestore(text, { family });
  return t!.steps.flatMap((s) => (s.kind === 'command' ? [s.command] : []));
}

/** The comment a one-line restore of `-m comment --comment <arg>` stores, and the saved rule. */
function comment(arg: string): { value: string; rule: string } {
  const [cmd] = commands(`*filter\n-A INPUT -m comment --comment ${arg} -j ACCEPT\nCOMMIT\n`);
  const rule = (cmd as { rule: string }).rule;
  return { value: parseRule(rule).matches![0]!['comment'] as string, rule };
}

describe('restore then save', () => {
  test('the seed nat table comes back line for line with -c', () => {
    const tables = restoreToTable(SEED, 'ipv4', true);
    expect(tables).toHaveLength(1);
    expect(tableSaved(tables[0]!, true)).toEqual(savedTable(SEED));
  });

  test('without -c every counter is zero but policies print theirs as [0:0]', () => {
    const out = tableSaved(restoreToTable(SEED, 'ipv4', false)[0]!, true);
    expect(out.chains[0]).toEqual(['PREROUTING', 'ACCEPT', '0:0']);
    expect(out.rules).toContainEqual(['DOCKER', '! -i br-96a729b6b174 -p tcp -m tcp --dport 23 -j DNAT --to-destination 172.19.0.2:22', '0:0']);
    expect(out.rules.every((r) => r[2] === '0:0')).toBe(true);
  });

  // printf '…r1…' | ip netns exec N iptables-legacy-restore; ip netns exec N iptables-legacy-save -c
  // (The `[5:10]` of the inline -c line is checked in 'restore input structure' below.)
  test('generic options print in iptables-legacy-save order and canonical form', () => {
    const input = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:MYCHAIN - [0:0]
-A FORWARD -s 10.0.0.1 -d 10.1.2.3/255.0.255.0 -i eth0 -o eth1+ -p tcp -f -j ACCEPT
-A FORWARD ! -s 10.0.0.0/8 ! -d 0/0 ! -i eth0 ! -o lo ! -p udp ! -f -j DROP
-A FORWARD -p tcp --dpo 80 -j MYCHAIN
-A FORWARD -p 6 -j RETURN
-A FORWARD -p icmp
-A FORWARD -p 47 -g MYCHAIN
-A FORWARD -p 200
-A FORWARD -m comment --comment "hello world" -j ACCEPT
-A FORWARD -p tcp --dport 22 -j ACCEPT
-A MYCHAIN -p sctp
-A MYCHAIN -p gre
-A MYCHAIN -p esp
-A MYCHAIN -p all
-c 5 10 -A MYCHAIN -j DROP
COMMIT
`;
    const expected = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:MYCHAIN - [0:0]
[0:0] -A FORWARD -s 10.0.0.1/32 -d 10.0.2.0/255.0.255.0 -i eth0 -o eth1+ -p tcp -f -j ACCEPT
[0:0] -A FORWARD ! -s 10.0.0.0/8 ! -d 0.0.0.0/0 ! -i eth0 ! -o lo ! -p udp ! -f -j DROP
[0:0] -A FORWARD -p tcp -m tcp --dport 80 -j MYCHAIN
[0:0] -A FORWARD -p tcp -j RETURN
[0:0] -A FORWARD -p icmp
[0:0] -A FORWARD -p gre -g MYCHAIN
[0:0] -A FORWARD -p 200
[0:0] -A FORWARD -m comment --comment "hello world" -j ACCEPT
[0:0] -A FORWARD -p tcp -m tcp --dport 22 -j ACCEPT
[0:0] -A MYCHAIN -p sctp
[0:0] -A MYCHAIN -p gre
[0:0] -A MYCHAIN -p esp
[0:0] -A MYCHAIN
[5:10] -A MYCHAIN -j DROP
COMMIT
`;
    const want = savedTable(expected);
    expect(tableSaved(restoreToTable(input)[0]!)).toEqual({ chains: want.chains, rules: want.rules.map(([chain, rule]) => [chain, rule]) });
  });

  // ip6tables-legacy-restore of the input, then ip6tables-legacy-save
  test('ip6tables: protocol names from /etc/protocols, IPv6 masks', () => {
    const input = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p 58
-A FORWARD -p icmpv6
-A FORWARD -p 135
-A FORWARD -p 136
-A FORWARD -p 51
-A FORWARD -p 4
-A FORWARD -p 41
-A FORWARD -p 255
-A FORWARD -p IPv6-ICMP
-A FORWARD -p 0x11
-A FORWARD -s 2001:db8::1/64 -d ::/0 -i ab+
-A FORWARD -s 2001:db8::1/ffff:0:ffff:: ! -d ::1
COMMIT
`;
    const expected = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p ipv6-icmp
-A FORWARD -p ipv6-icmp
-A FORWARD -p mobility-header
-A FORWARD -p udplite
-A FORWARD -p ah
-A FORWARD -p ipencap
-A FORWARD -p ipv6
-A FORWARD -p 255
-A FORWARD -p ipv6-icmp
-A FORWARD -p udp
-A FORWARD -s 2001:db8::/64 -i ab+
-A FORWARD -s 2001::/ffff:0:ffff:: ! -d ::1/128
COMMIT
`;
    expect(tableSaved(restoreToTable(input, 'ipv6')[0]!)).toEqual(savedTable(expected));
  });

  // for a in …; do iptables-legacy -A FORWARD -s "$a"; done; iptables-legacy-save
  test.each([
    ['10.1', '10.1.0.0/32'],
    ['10.0.0.1/24', '10.0.0.0/24'],
    ['0', '0.0.0.0/32'],
    ['10.0.0.1/255.255.0.0', '10.0.0.0/16'],
    ['10.0.0.1/0.255.0.255', '0.0.0.1/0.255.0.255'],
    ['010.0.0.1', '8.0.0.1/32'],
    ['0x0a.0.0.1', '10.0.0.1/32'],
    ['1.2.3.4/+8', '1.0.0.0/8'],
    ['1.2.3.4/0x8', '1.0.0.0/8'],
    ['1.2.3.4/255.255.255.254', '1.2.3.4/31'],
  ])('-s %s saves as -s %s', (arg, out) => {
    expect(saved(`-s ${arg}`)).toBe(`-s ${out}`);
  });

  test.each([['10.0.0.1/0'], ['0/0'], ['anything/0']])('-s %s is no source at all', (arg) => {
    expect(saved(`-s ${arg}`)).toBe('');
  });

  test.each([
    ['10.0.0.1/33', /invalid mask `33'/],
    ['1.2.3.4/', /invalid mask `'/],
    ['1.2.3.4/08', /invalid mask `08'/],
    ['1.2.3.4/-1', /invalid mask `-1'/],
    ['256.1.1.1', /not a valid IPv4/],
    ['localhost', /no DNS/],
    ['10.0.0.1,10.0.0.2', /address lists/],
  ])('-s %s is refused', (arg, message) => {
    const e = refused(`-s ${arg}`);
    expect(e.message).toMatch(message);
    expect(e.token).toBe(arg);
  });

  test('`-i +` matches every interface: iptables-save leaves it out', () => {
    expect(saved('-i +')).toBe('');
    expect(refused('-i ""').message).toMatch(/Empty interface/);
    expect(refused('-i 1234567890123456').message).toMatch(/shorter than IFNAMSIZ/);
    expect(saved('-i 123456789012345')).toBe('-i 123456789012345');
  });

  // iptables-legacy -A FORWARD -p "$p"; iptables-legacy-save
  test.each([
    ['TCP', '-p tcp'],
    ['mh', '-p mobility-header'],
    ['ipv6-mh', '-p mobility-header'],
    ['ALL', ''],
    ['hopopt', ''],
    ['ip', ''],
    ['0x06', '-p tcp'],
    ['010', '-p egp'],
    ['" 6"', '-p tcp'],
    ['udplite', '-p udplite'],
    ['dccp', '-p dccp'],
  ])('-p %s saves as "%s"', (p, out) => {
    expect(saved(`-p ${p}`)).toBe(out);
  });

  test.each([['256'], ['-1'], ['"6 "'], ['IP-ENCAP']])('-p %s is an unknown protocol', (p) => {
    expect(refused(`-p ${p}`).message).toMatch(/unknown protocol/);
  });

  test('! -p all would never match', () => {
    expect(refused('! -p all').message).toMatch(/never match protocol/);
  });
});

describe('rule arguments', () => {
  test('Docker writes --to-destination before ! -i', () => {
    // The seed's failing command, as Docker ran it (without --wait -t nat).
    const args = '-p tcp -d 0/0 --dport 20443 -j DNAT --to-destination 172.19.0.5:443 ! -i br-330809f39e04';
    expect(saved(args, 'ipv4', 'DOCKER', 'nat')).toBe('! -i br-330809f39e04 -p tcp -m tcp --dport 20443 -j DNAT --to-destination 172.19.0.5:443');
  });

  test('a long option may be abbreviated while unambiguous', () => {
    expect(saved('--sou 1.2.3.4 -p tcp --dpo 80', 'ipv4', 'X')).toBe('-s 1.2.3.4/32 -p tcp -m tcp --dport 80');
    expect(refused('--d 1.2.3.4').message).toMatch(/ambiguous/);
    // Once tcp is loaded, --sou is a prefix of --source and of tcp's --source-port.
    const e = refused('-p tcp --dpo 80 --sou 1.2.3.4');
    expect(e.message).toMatch(/ambiguous/);
    expect(e.token).toBe('--sou');
  });

  test('--opt=value is one option with its value', () => {
    expect(saved('--protocol=tcp --dport=22', 'ipv4', 'X')).toBe('-p tcp -m tcp --dport 22');
  });

  test('an implicit protocol match comes where its first option stood', () => {
    expect(saved('-p tcp -m comment --comment x --dport 80', 'ipv4', 'X')).toBe('-p tcp -m comment --comment x -m tcp --dport 80');
  });

  test('errors name the line, the token and what was expected', () => {
    const bad = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --bogus 1 -j ACCEPT\nCOMMIT\n';
    try {
      parseRestore(bad, { family: 'ipv4' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ParseError);
      const pe = e as ParseError;
      expect(pe.line).toBe(3);
      expect(pe.token).toBe('--bogus');
      expect(pe.expected).toMatch(/option/);
      expect(pe.message).toMatch(/^line 3: unknown option "--bogus"/);
    }
  });

  test('! is allowed only before options that take it', () => {
    expect(refused('! -j ACCEPT').message).toMatch(/cannot have ! before -j/);
    expect(refused('! ! -s 1.1.1.1').message).toMatch(/consecutive/);
    expect(refused('-s 1.1.1.1 !').message).toMatch(/nothing to invert/);
    expect(refused('-s 1.1.1.1 -s 2.2.2.2').message).toMatch(/multiple -s/);
  });

  test('-o is refused in INPUT, -i in POSTROUTING, as iptables does', () => {
    // iptables-restore v1.8.9 (legacy): Can't use -o with INPUT (also for -I, -R, -D, -C)
    expect(refused('-o eth0', 'ipv4', 'INPUT').message).toMatch(/Can't use -o with INPUT/);
    expect(refused('-i eth0', 'ipv4', 'POSTROUTING').message).toMatch(/Can't use -i with POSTROUTING/);
    expect(refused('-i eth0', 'ipv4', 'OUTPUT').message).toMatch(/Can't use -i with OUTPUT/);
    for (const cmd of ['-I INPUT -o eth0', '-R INPUT 1 -o eth0', '-D INPUT -o eth0', '-C INPUT -o eth0']) {
      expect(() => parseRestore(`*filter\n-A INPUT\n${cmd}\nCOMMIT\n`, { family: 'ipv4' }), cmd).toThrow(/line 3: Can't use -o with INPUT/);
    }
    // A user chain may hold either.
    expect(saved('-i eth0 -o eth1', 'ipv4', 'X')).toBe('-i eth0 -o eth1');
  });

  test('-f is IPv4 only', () => {
    expect(refused('-f', 'ipv6').message).toMatch(/IPv4/);
    expect(saved('! -f')).toBe('! -f');
  });

  test('an unknown match is refused by name', () => {
    const e = refused('-m nosuchmatch');
    expect(e.message).toMatch(/Couldn't load match `nosuchmatch'/);
    expect(e.token).toBe('nosuchmatch');
  });

  // iptables-legacy-restore 1.8.9: "Invalid target name `a b'" at line 2 (and "(too short)" for
  // `-j ""`): a name with a blank would print as another rule.
  test('a target or chain name with a blank is refused at parse time', () => {
    expect(refused('-j "a b"').message).toMatch(/Invalid target name `a b'/);
    expect(refused('-g "X Y"').message).toMatch(/Invalid target name `X Y'/);
    expect(refused('-j ""').message).toMatch(/Invalid target name/);
  });
});

describe('restore tokenizer', () => {
  test('quotes group, escapes inside quotes, a closing quote ends the argument', () => {
    expect(comment('"a b\\"c\\\\d"').value).toBe('a b"c\\d');
    // Outside quotes a backslash is literal (iptables-legacy-restore saves `a\b` as "a\\b").
    expect(comment('a\\b')).toEqual({ value: 'a\\b', rule: '-m comment --comment "a\\\\b" -j ACCEPT' });
    expect(comment('""')).toEqual({ value: '', rule: '-m comment --comment "" -j ACCEPT' });
    // `"a"y`: the closing quote ends the argument, `y` is the next one.
    expect(() => parseRestore('*filter\n-A INPUT -m comment --comment "a"y -j ACCEPT\nCOMMIT\n', { family: 'ipv4' })).toThrow(
      /line 2: Bad argument `y'/,
    );
    // A quote inside a word opens quoting there (iptables-legacy-restore 1.8.9 saves "xy z").
    expect(comment('x"y z"').value).toBe('xy z');
  });

  test('-t is refused as an option and is plain text as an option value, like iptables-restore', () => {
    // iptables-legacy-restore 1.8.9 refuses `-A INPUT -t filter …`, `-tfilter` and `--table
    // filter` ("The -t option cannot be used in iptables-restore") and accepts `--comment -t`
    // and `--comment -tx` (saved back bare).
    for (const bad of ['-A INPUT -t filter -j ACCEPT', '-A INPUT -p tcp -tfilter -j ACCEPT', '-A INPUT -p tcp --table filter -j ACCEPT']) {
      expect(() => parseRestore(`*filter\n${bad}\nCOMMIT\n`, { family: 'ipv4' }), bad).toThrow(/line 2: The -t option cannot be used in iptables-restore/);
    }
    for (const ok of ['-t', '-tx', '-1wd0YXt']) {
      expect(comment(ok)).toEqual({ value: ok, rule: `-m comment --comment ${ok} -j ACCEPT` });
    }
    expect(comment('"-test"').value).toBe('-test');
  });

  test('what iptables-save prints the tokenizer reads back', () => {
    // Checked again: iptables-legacy-restore 1.8.9 accepts `--comment -test` and
    // iptables-legacy-save prints it bare, which restores again (an older note here said the
    // restore refused it).
    for (const s of ['plain', 'a b', 'a"b\\c', "x'y", 'é ü', '-test']) {
      const first = comment(JSON.stringify(s));
      expect(first.value, s).toBe(s);
      const again = commands(`*filter\n-A INPUT ${first.rule}\nCOMMIT\n`)[0] as { rule: string };
      expect(again.rule, s).toBe(first.rule);
    }
    // iptables-save escapes a single quote inside double quotes.
    expect(comment(`"x'y"`).rule).toBe(`-m comment --comment "x\\'y" -j ACCEPT`);
  });

  test('blanks separate words; a word may be quoted anywhere', () => {
    // iptables-legacy-restore 1.8.9 splits on blanks and tabs (`-A INPUT\t-j ACCEPT`).
    const cmds = commands('*filter\n  -A  INPUT\t-j ACCEPT \n-A INPUT "-j" DROP\n-A INPUT -p tcp\t--dport 80\nCOMMIT\n');
    expect(cmds.map((c) => [c.line, (c as { rule: string }).rule])).toEqual([
      [2, '-j ACCEPT'],
      [3, '-j DROP'],
      [4, '-p tcp -m tcp --dport 80'],
    ]);
  });

  test('a \\r is part of its word, as in iptables 1.8.9: a CRLF line is refused, naming the line', () => {
    // iptables-legacy-restore: "Invalid target name `ACCEPT\r'"; `--dport 22\r` is no port.
    expect(() => commands('*filter\n-A INPUT -j ACCEPT\r\nCOMMIT\n')).toThrow(/line 2: Invalid target name `ACCEPT\r'/);
    expect(() => commands('*filter\n-A INPUT -p tcp --dport 22\r -j ACCEPT\nCOMMIT\n')).toThrow(/line 2: .*22\r/);
  });

  test('a quoted line after unquoted ones, no final newline, blank lines, empty input', () => {
    const text = '*filter\n-A INPUT -j ACCEPT\n-A INPUT -m comment --comment "a b" -j DROP\n-A INPUT -j ACCEPT\nCOMMIT';
    const cmds = commands(text);
    expect(cmds.map((c) => c.line)).toEqual([2, 3, 4]);
    expect((cmds[1] as { rule: string }).rule).toBe('-m comment --comment "a b" -j DROP');
    expect(parseRestore('', { family: 'ipv4' })).toEqual([]);
  });
});

describe('restore input structure', () => {
  test('COMMIT is required', () => {
    // iptables-restore: COMMIT expected at line 3
    expect(() => parseRestore('*filter\n-A INPUT -j ACCEPT\n', { family: 'ipv4' })).toThrow(/line 3: COMMIT expected/);
    expect(() => parseRestore('*filter\n-A INPUT -j ACCEPT\n\n', { family: 'ipv4' })).toThrow(/line 4: COMMIT expected/);
  });

  test('misplaced lines name their line', () => {
    // iptables-legacy-restore 1.8.9 blames the same lines.
    const line = (text: string): number | undefined => {
      try {
        parseRestore(text, { family: 'ipv4' });
      } catch (e) {
        if (e instanceof ParseError) return e.line;
        throw e;
      }
      return undefined;
    };
    expect(line('*filter\n-A INPUT -j ACCEPT\n*nat\nCOMMIT\n')).toBe(3);
    expect(line('*filter\nCOMMIT\nCOMMIT\n')).toBe(3);
    expect(line('*filter\n:INPUT BOGUS [0:0]\nCOMMIT\n')).toBe(2);
    expect(line('*filter\n-I INPUT 0 -j ACCEPT\nCOMMIT\n')).toBe(2);
    expect(line('*bogus\nCOMMIT\n')).toBe(1);
  });

  test('-A to a missing chain fails naming the line', () => {
    expect(() => restoreResult('*filter\n-A Y -j ACCEPT\nCOMMIT\n', { family: 'ipv4' })).toThrow(/line 2 failed/);
  });

  test('a jump to a missing chain fails naming the target', () => {
    expect(() => restoreResult('*filter\n-A INPUT -j Y\nCOMMIT\n', { family: 'ipv4' })).toThrow(/line 2: Couldn't load target `Y'/);
  });

  test('deleting a chain still referenced is an error', () => {
    expect(() => restoreResult('*filter\n:X - [0:0]\n-A INPUT -j X\n-X X\nCOMMIT\n', { family: 'ipv4' })).toThrow(/line 4 failed: Too many links/);
  });

  test('the [p:b] prefix counts only with -c', () => {
    const text = '*filter\n[1:2] -A INPUT -j ACCEPT\n-c 3 4 -A INPUT -j DROP\nCOMMIT\n';
    const [tc] = restoreToTable(text, 'ipv4', true);
    expect(tableSaved(tc!, true).rules).toContainEqual(['INPUT', '-j ACCEPT', '1:2']);
    const [t] = restoreToTable(text);
    expect(tableSaved(t!, true).rules).toContainEqual(['INPUT', '-j ACCEPT', '0:0']);
  });

  // iptables-legacy-restore (without -c) of the text, then iptables-legacy-save -c:
  //   [0:0] -A INPUT -j ACCEPT / [3:4] -A INPUT -j DROP
  test('an inline -c always counts', () => {
    const text = '*filter\n[1:2] -A INPUT -j ACCEPT\n-c 3 4 -A INPUT -j DROP\nCOMMIT\n';
    const [t] = restoreToTable(text);
    expect(tableSaved(t!, true)).toEqual(
      savedTable(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', '[0:0] -A INPUT -j ACCEPT', '[3:4] -A INPUT -j DROP', 'COMMIT'].join('\n')),
    );
  });

  test('without noflush: flushed, user chains gone, policies kept; with noflush: kept and declared chains flushed', () => {
    const [before] = restoreToTable('*filter\n:INPUT DROP [7:8]\n:Z - [0:0]\n:W - [0:0]\n-A Z -j ACCEPT\n-A INPUT -j ACCEPT\nCOMMIT\n', 'ipv4', true);
    const [flushed] = restoreToTable('*filter\n:INPUT - [0:0]\nCOMMIT\n', 'ipv4', false, before);
    expect(tableSaved(flushed!, true)).toEqual(savedTable(['*filter', ':INPUT DROP [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT'].join('\n')));
    // iptables-legacy-restore -n of ":Z - [0:0]\n-A Z -j DROP\n-A INPUT -j Z" after the first input
    const [kept] = restoreToTable('*filter\n:Z - [0:0]\n-A Z -j DROP\n-A INPUT -j Z\nCOMMIT\n', 'ipv4', false, before, true);
    expect(tableSaved(kept!, true)).toEqual(
      savedTable(
        [
          '*filter',
          ':INPUT DROP [0:0]', // -n without -c zeroes policy counters (seen in the oracle test)
          ':FORWARD ACCEPT [0:0]',
          ':OUTPUT ACCEPT [0:0]',
          ':W - [0:0]',
          ':Z - [0:0]',
          '[0:0] -A INPUT -j ACCEPT',
          '[0:0] -A INPUT -j Z',
          '[0:0] -A Z -j DROP',
          'COMMIT',
        ].join('\n'),
      ),
    );
    expect(kept!.chains.find((c) => c.name === 'Z')!.references).toBe(1);
  });

  test('-I, -R, -D by number and by rule, -E renames and retargets jumps', () => {
    const text = `*filter
:A - [0:0]
-A INPUT -j A
-A INPUT -p tcp --dport 1 -j ACCEPT
-I INPUT -p tcp --dport 2 -j ACCEPT
-I INPUT 2 -p tcp --dport 3 -j ACCEPT
-R INPUT 4 -p tcp --dport 4 -j DROP
-D INPUT -p tcp --dport 3 -j ACCEPT
-D INPUT 1
-E A B
COMMIT
`;
    const [t] = restoreToTable(text);
    expect(tableSaved(t!)).toEqual(
      savedTable(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':B - [0:0]', '-A INPUT -j B', '-A INPUT -p tcp -m tcp --dport 4 -j DROP', 'COMMIT'].join('\n')),
    );
  });

  // ip netns exec N iptables-legacy-restore of the first input, then iptables-legacy-restore -n
  // of `-E Z Y`, then iptables-legacy-save: both jumps follow the rename
  //   -A INPUT -j Y / -A INPUT -p tcp -j Y
  // and `-D INPUT 2\n-X Y` fails at line 3 (Y is still referenced).
  test('with noflush, -E retargets and -X refuses every jump of the current table, `-j Z` alone too', () => {
    const [before] = restoreToTable('*filter\n:Z - [0:0]\n-A INPUT -j Z\n-A INPUT -p tcp -j Z\nCOMMIT\n');
    const [renamed] = restoreToTable('*filter\n-E Z Y\nCOMMIT\n', 'ipv4', false, before, true);
    expect(renamed!.chains.find((c) => c.name === 'INPUT')!.rules).toEqual(['-j Y', '-p tcp -j Y']);
    expect(renamed!.chains.find((c) => c.name === 'Y')!.references).toBe(2);
    expect(() => restoreToTable('*filter\n-D INPUT 2\n-X Z\nCOMMIT\n', 'ipv4', false, before, true)).toThrow(/line 3 failed: Too many links/);
  });

  test('-T restores one table only', () => {
    const p = parseRestore(SEED + '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n', { family: 'ipv4', table: 'filter' });
    expect(p.map((t) => t.name)).toEqual(['filter']);
  });
});

describe('opaque extensions', () => {
  test('print as a marker that the parser refuses with a clear message', () => {
    // What the native reader gives for an extension no module can print (docs/wire.md).
    const rule = '-m hashlimit --iptkit-opaque 3:00ff -j ACCEPT';
    expect(() => parseRestore(`*filter\n-A INPUT ${rule}\nCOMMIT\n`, { family: 'ipv4' })).toThrow(/line 2: .*extension iptkit cannot print/);
    expect(() => parseRule(rule)).toThrow(ParseError);
  });
});

describe('parsing is repeatable, numbers read as strtoul reads them', () => {
  test('the same address, protocol and numbers parse alike every time, and errors repeat', () => {
    for (let k = 0; k < 3; k++) {
      expect(parseRule('-s 10.1.2.3/8 -d 10.0.0.1 -p TCP --dport 0x50 -j ACCEPT')).toEqual({
        source: '10.0.0.0/8',
        destination: '10.0.0.1/32',
        protocol: 'tcp',
        matches: [{ name: 'tcp', dport: '80' }],
        target: { name: 'ACCEPT' },
      });
      expect(() => parseRule('-s host.example -j ACCEPT')).toThrow(/does no DNS/);
      expect(() => parseRule('-p nosuchproto -j ACCEPT')).toThrow(/unknown protocol/);
    }
  });

  test('numbers: leading zeros are octal, signs and blanks as strtoul', () => {
    const dport = (p: string): string => saved(`-p tcp --dport ${p} -j ACCEPT`).replace(/^-p tcp -m tcp --dport (\S+) -j ACCEPT$/, '$1');
    expect(dport('010')).toBe('8');
    expect(dport('0')).toBe('0');
    expect(dport('65535')).toBe('65535');
    expect(dport('+22')).toBe('22');
    expect(dport('0x50')).toBe('80');
    expect(dport('" 22"')).toBe('22');
    expect(refused('-p tcp --dport 65536 -j ACCEPT').message).toMatch(/invalid port\/service `65536'/);
    expect(refused('-p tcp --dport 123456789 -j ACCEPT').token).toBe('--dport');
  });

  test('a NAT address is what inet_pton accepts', () => {
    // iptables-legacy-restore 1.8.9: `Bad IP address "…"` for each refused one (`1.2.3.-1` is
    // read as the range `1.2.3.`-`1`).
    for (const ok of ['1.2.3.4', '0.0.0.0', '255.255.255.255']) {
      expect(saved(`-p tcp -j DNAT --to-destination ${ok}`, 'ipv4', 'PREROUTING', 'nat')).toBe(`-p tcp -j DNAT --to-destination ${ok}`);
    }
    for (const bad of ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.4.', '.1.2.3', '1.2.3.4a', '1.2.3.1000', '', '1.2.3.-1', '1.2.3. 4', '1.2.3.0004']) {
      const e = refused(`-p tcp -j DNAT --to-destination "${bad}"`);
      expect(e.message, bad).toMatch(/bad IP address/i);
      expect(e.token, bad).toBe('--to-destination');
    }
  });
});
