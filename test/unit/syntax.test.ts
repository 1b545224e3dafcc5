// The text layer against texts the real tools printed (iptables-legacy 1.8.9 in a throwaway
// netns; each fixture names the command that produced it), and against the seed article.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ParseError } from '../../src/errors.js';
import { applyRestore, parseRestore } from '../../src/rules/restore.js';
import { printRule, printSave, quoteArg } from '../../src/rules/save.js';
import { parseRuleArgs, tokenizeRange, tokenizeRestoreLine } from '../../src/rules/args.js';
import { parseIPv4 } from '../../src/rules/ext/nat-range.js';
import type { Family, Rule, Table } from '../../src/rules/model.js';

const SEED = readFileSync(new URL('../../fixtures/seed-docker-host.rules', import.meta.url), 'utf8');

function restoreToTable(text: string, family: Family = 'ipv4', counters = false, current?: Table, noflush = false): Table[] {
  const parsed = parseRestore(text, { family, counters, noflush });
  return parsed.tables.map((t) => applyRestore(t, current, { counters, noflush }));
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('restore then save', () => {
  test('the seed nat table comes back line for line with -c', () => {
    const tables = restoreToTable(SEED, 'ipv4', true);
    expect(lines(printSave(tables, { counters: true }))).toEqual(lines(SEED));
  });

  test('without -c every counter is zero but policies print theirs as [0:0]', () => {
    const out = lines(printSave(restoreToTable(SEED, 'ipv4', false)));
    expect(out[1]).toBe(':PREROUTING ACCEPT [0:0]');
    expect(out).toContain('-A DOCKER ! -i br-96a729b6b174 -p tcp -m tcp --dport 23 -j DNAT --to-destination 172.19.0.2:22');
  });

  // printf '…r1…' | ip netns exec N iptables-legacy-restore; ip netns exec N iptables-legacy-save -c
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
    expect(lines(printSave(restoreToTable(input), { counters: true }))).toEqual(lines(expected));
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
    expect(lines(printSave(restoreToTable(input, 'ipv6')))).toEqual(lines(expected));
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
  ])('-s %s saves as -s %s', (arg, saved) => {
    const { rule } = parseRuleArgs(['-s', arg], 'ipv4');
    expect(printRule('FORWARD', rule, 'ipv4')).toBe(`-A FORWARD -s ${saved}`);
  });

  test.each([['10.0.0.1/0'], ['0/0'], ['anything/0']])('-s %s is no source at all', (arg) => {
    expect(printRule('FORWARD', parseRuleArgs(['-s', arg], 'ipv4').rule, 'ipv4')).toBe('-A FORWARD');
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
    expect(() => parseRuleArgs(['-s', arg], 'ipv4')).toThrow(message);
  });

  test('`-i +` matches every interface: iptables-save leaves it out', () => {
    expect(printRule('FORWARD', parseRuleArgs(['-i', '+'], 'ipv4').rule, 'ipv4')).toBe('-A FORWARD');
    expect(() => parseRuleArgs(['-i', ''], 'ipv4')).toThrow(/Empty interface/);
    expect(() => parseRuleArgs(['-i', '1234567890123456'], 'ipv4')).toThrow(/shorter than IFNAMSIZ/);
    expect(parseRuleArgs(['-i', '123456789012345'], 'ipv4').rule.inInterface).toBe('123456789012345');
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
    [' 6', '-p tcp'],
    ['udplite', '-p udplite'],
    ['dccp', '-p dccp'],
  ])('-p %s saves as "%s"', (p, saved) => {
    expect(printRule('FORWARD', parseRuleArgs(['-p', p], 'ipv4').rule, 'ipv4')).toBe(`-A FORWARD${saved ? ' ' + saved : ''}`);
  });

  test.each([['256'], ['-1'], ['6 '], ['IP-ENCAP']])('-p %s is an unknown protocol', (p) => {
    expect(() => parseRuleArgs(['-p', p], 'ipv4')).toThrow(/unknown protocol/);
  });

  test('! -p all would never match', () => {
    expect(() => parseRuleArgs(['!', '-p', 'all'], 'ipv4')).toThrow(/never match protocol/);
  });
});

describe('rule arguments', () => {
  test('Docker writes --to-destination before ! -i', () => {
    // The seed's failing command, as Docker ran it (without --wait -t nat).
    const args = '-A DOCKER -p tcp -d 0/0 --dport 20443 -j DNAT --to-destination 172.19.0.5:443 ! -i br-330809f39e04'.split(' ');
    const { chain, rule } = parseRuleArgs(args, 'ipv4');
    expect(chain).toBe('DOCKER');
    expect(printRule('DOCKER', rule, 'ipv4')).toBe(
      '-A DOCKER ! -i br-330809f39e04 -p tcp -m tcp --dport 20443 -j DNAT --to-destination 172.19.0.5:443',
    );
  });

  test('a long option may be abbreviated while unambiguous', () => {
    expect(printRule('X', parseRuleArgs(['--sou', '1.2.3.4', '-p', 'tcp', '--dpo', '80'], 'ipv4').rule, 'ipv4')).toBe(
      '-A X -s 1.2.3.4/32 -p tcp -m tcp --dport 80',
    );
    expect(() => parseRuleArgs(['--d', '1.2.3.4'], 'ipv4')).toThrow(/ambiguous/);
    // Once tcp is loaded, --sou is a prefix of --source and of tcp's --source-port.
    expect(() => parseRuleArgs(['-p', 'tcp', '--dpo', '80', '--sou', '1.2.3.4'], 'ipv4')).toThrow(/ambiguous/);
  });

  test('--opt=value is one option with its value', () => {
    expect(printRule('X', parseRuleArgs(['--protocol=tcp', '--dport=22'], 'ipv4').rule, 'ipv4')).toBe('-A X -p tcp -m tcp --dport 22');
  });

  test('an implicit protocol match comes where its first option stood', () => {
    const r = parseRuleArgs(['-p', 'tcp', '-m', 'comment', '--comment', 'x', '--dport', '80'], 'ipv4').rule;
    expect(printRule('X', r, 'ipv4')).toBe('-A X -p tcp -m comment --comment x -m tcp --dport 80');
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
      expect(pe.message).toMatch(/^line 3: unknown option "--bogus"/);
    }
  });

  test('! is allowed only before options that take it', () => {
    expect(() => parseRuleArgs(['!', '-j', 'ACCEPT'], 'ipv4')).toThrow(/cannot have ! before -j/);
    expect(() => parseRuleArgs(['!', '!', '-s', '1.1.1.1'], 'ipv4')).toThrow(/consecutive/);
    expect(() => parseRuleArgs(['-s', '1.1.1.1', '!'], 'ipv4')).toThrow(/nothing to invert/);
    expect(() => parseRuleArgs(['-s', '1.1.1.1', '-s', '2.2.2.2'], 'ipv4')).toThrow(/multiple -s/);
  });

  test('-o is refused in INPUT, -i in POSTROUTING, as iptables does', () => {
    // iptables-restore v1.8.9 (legacy): Can't use -o with INPUT
    expect(() => parseRuleArgs(['-A', 'INPUT', '-o', 'eth0'], 'ipv4')).toThrow(/Can't use -o with INPUT/);
    expect(() => parseRuleArgs(['-A', 'POSTROUTING', '-i', 'eth0'], 'ipv4')).toThrow(/Can't use -i with POSTROUTING/);
  });

  test('-f is IPv4 only', () => {
    expect(() => parseRuleArgs(['-f'], 'ipv6')).toThrow(/IPv4/);
  });

  test('an unknown match is refused by name', () => {
    expect(() => parseRuleArgs(['-m', 'nosuchmatch'], 'ipv4')).toThrow(/Couldn't load match `nosuchmatch'/);
  });
});

describe('restore tokenizer', () => {
  test('quotes group, escapes inside quotes, a closing quote ends the argument', () => {
    expect(tokenizeRestoreLine('-A X -m comment --comment "a b\\"c\\\\d"')).toEqual(['-A', 'X', '-m', 'comment', '--comment', 'a b"c\\d']);
    expect(tokenizeRestoreLine('a\\b  "x"y')).toEqual(['a\\b', 'x', 'y']);
    expect(tokenizeRestoreLine('--comment ""')).toEqual(['--comment', '']);
  });

  test('-t is refused as an option and is plain text as an option value, like iptables-restore', () => {
    // iptables-legacy-restore 1.8.9 refuses `-A INPUT -t filter …`, `-tfilter` and `--table
    // filter` ("The -t option cannot be used in iptables-restore") and accepts `--comment -t`
    // and `--comment -tx` (saved back bare).
    for (const bad of ['-A INPUT -t filter -j ACCEPT', '-A INPUT -p tcp -tfilter -j ACCEPT', '-A INPUT -p tcp --table filter -j ACCEPT']) {
      expect(() => parseRestore(`*filter\n${bad}\nCOMMIT\n`, { family: 'ipv4' }), bad).toThrow(/line 2: The -t option cannot be used in iptables-restore/);
    }
    for (const ok of ['-t', '-tx', '-1wd0YXt']) {
      const parsed = parseRestore(`*filter\n-A INPUT -m comment --comment ${ok} -j ACCEPT\nCOMMIT\n`, { family: 'ipv4' });
      expect(parsed.tables[0]!.commands).toHaveLength(1);
    }
    expect(tokenizeRestoreLine('--comment "-test"')).toEqual(['--comment', '-test']);
  });

  test('what quoteArg prints the tokenizer reads back', () => {
    // ('-test' is not here: iptables-save prints it bare and iptables-restore refuses it.)
    for (const s of ['plain', 'a b', 'a"b\\c', "x'y", 'é ü']) {
      expect(tokenizeRestoreLine(`--comment ${quoteArg(s)}`)).toEqual(['--comment', s]);
    }
    expect(quoteArg("x'y")).toBe('"x\\\'y"');
  });
});

describe('restore input structure', () => {
  test('COMMIT is required', () => {
    // iptables-restore: COMMIT expected at line 3
    expect(() => parseRestore('*filter\n-A INPUT -j ACCEPT\n', { family: 'ipv4' })).toThrow(/line 3: COMMIT expected/);
  });

  test('-A to a missing chain fails naming the line', () => {
    const p = parseRestore('*filter\n-A Y -j ACCEPT\nCOMMIT\n', { family: 'ipv4' });
    expect(() => applyRestore(p.tables[0]!, undefined)).toThrow(/line 2 failed/);
  });

  test('a jump to a missing chain fails naming the target', () => {
    const p = parseRestore('*filter\n-A INPUT -j Y\nCOMMIT\n', { family: 'ipv4' });
    expect(() => applyRestore(p.tables[0]!, undefined)).toThrow(/line 2: Couldn't load target `Y'/);
  });

  test('deleting a chain still referenced is an error', () => {
    const p = parseRestore('*filter\n:X - [0:0]\n-A INPUT -j X\n-X X\nCOMMIT\n', { family: 'ipv4' });
    expect(() => applyRestore(p.tables[0]!, undefined)).toThrow(/line 4 failed: Too many links/);
  });

  test('the [p:b] prefix counts only with -c; an inline -c always', () => {
    const text = '*filter\n[1:2] -A INPUT -j ACCEPT\n-c 3 4 -A INPUT -j DROP\nCOMMIT\n';
    const [t] = restoreToTable(text);
    expect(t!.chains[0]!.rules.map((r) => r.counters)).toEqual([
      { packets: 0n, bytes: 0n },
      { packets: 3n, bytes: 4n },
    ]);
    const [tc] = restoreToTable(text, 'ipv4', true);
    expect(tc!.chains[0]!.rules[0]!.counters).toEqual({ packets: 1n, bytes: 2n });
  });

  test('without noflush: flushed, user chains gone, policies kept; with noflush: kept and declared chains flushed', () => {
    const [before] = restoreToTable('*filter\n:INPUT DROP [7:8]\n:Z - [0:0]\n:W - [0:0]\n-A Z -j ACCEPT\n-A INPUT -j ACCEPT\nCOMMIT\n', 'ipv4', true);
    const [flushed] = restoreToTable('*filter\n:INPUT - [0:0]\nCOMMIT\n', 'ipv4', false, before);
    expect(lines(printSave([flushed!], { counters: true }))).toEqual(['*filter', ':INPUT DROP [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT']);
    // iptables-legacy-restore -n of ":Z - [0:0]\n-A Z -j DROP\n-A INPUT -j Z" after the first input
    const [kept] = restoreToTable('*filter\n:Z - [0:0]\n-A Z -j DROP\n-A INPUT -j Z\nCOMMIT\n', 'ipv4', false, before, true);
    expect(lines(printSave([kept!], { counters: true }))).toEqual([
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
    ]);
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
    expect(lines(printSave([t!]))).toEqual(['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':B - [0:0]', '-A INPUT -j B', '-A INPUT -p tcp -m tcp --dport 4 -j DROP', 'COMMIT']);
  });

  test('-T restores one table only', () => {
    const p = parseRestore(SEED + '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n', { family: 'ipv4', table: 'filter' });
    expect(p.tables.map((t) => t.name)).toEqual(['filter']);
  });
});

describe('opaque extensions', () => {
  test('print as a marker that the parser refuses with a clear message', () => {
    const rule = {
      matches: [{ name: 'hashlimit', revision: 3, fields: { raw: '00ff' }, opaque: true }],
      target: { kind: 'verdict' as const, verdict: 'ACCEPT' as const },
    };
    const line = printRule('INPUT', rule, 'ipv4');
    expect(line).toBe('-A INPUT -m hashlimit --iptkit-opaque 3:00ff -j ACCEPT');
    expect(() => parseRestore(`*filter\n${line}\nCOMMIT\n`, { family: 'ipv4' })).toThrow(/line 2: .*extension iptkit cannot print/);
  });
});

describe('tokenizeRestoreLine without quotes (the fast path) splits as with them', () => {
  test('blanks of every kind separate; backslashes stay literal', () => {
    expect(tokenizeRestoreLine('  -A  X\t-j\rACCEPT \n')).toEqual(['-A', 'X', '-j', 'ACCEPT']);
    expect(tokenizeRestoreLine('-A X -m comment --comment a\\b')).toEqual(['-A', 'X', '-m', 'comment', '--comment', 'a\\b']);
    expect(tokenizeRestoreLine('')).toEqual([]);
    expect(tokenizeRestoreLine(' \t ')).toEqual([]);
  });
  test('every unquoted line gives what the quoting loop gives for it', () => {
    // The same words with one quoted word appended take the character loop.
    for (const line of ['-A X -p tcp --dport 80 -j ACCEPT', '  -I   Y 2 ! -s 10.0.0.1 ', '-D Z\t1', 'é ü -A x']) {
      expect([...tokenizeRestoreLine(line), 'q']).toEqual(tokenizeRestoreLine(line + ' "q"'));
    }
  });
  test('-t, --table and option-looking values split like any argument', () => {
    expect(tokenizeRestoreLine('-A X -t nat')).toEqual(['-A', 'X', '-t', 'nat']);
    expect(tokenizeRestoreLine('-A X --tab nat')).toEqual(['-A', 'X', '--tab', 'nat']);
    expect(tokenizeRestoreLine('-A X --tcp-flags SYN SYN')).toEqual(['-A', 'X', '--tcp-flags', 'SYN', 'SYN']);
    expect(tokenizeRestoreLine('-A X "-t" nat')).toEqual(['-A', 'X', '-t', 'nat']);
  });
});

describe('parse caches give what a first parse gives', () => {
  test('the same address, protocol and numbers parse alike every time, and errors repeat', () => {
    for (let k = 0; k < 3; k++) {
      const r = parseRuleArgs(['-s', '10.1.2.3/8', '-d', '10.0.0.1', '-p', 'TCP', '--dport', '0x50', '-j', 'ACCEPT'], 'ipv4').rule;
      expect(r.source).toBe('10.0.0.0/8');
      expect(r.destination).toBe('10.0.0.1/32');
      expect(r.protocol).toBe(6);
      expect(r.matches[0]!.fields['dpts']).toBe('80:80');
      expect(() => parseRuleArgs(['-s', 'host.example', '-j', 'ACCEPT'], 'ipv4')).toThrow(/does no DNS/);
      expect(() => parseRuleArgs(['-p', 'nosuchproto', '-j', 'ACCEPT'], 'ipv4')).toThrow(/unknown protocol/);
    }
  });
  test('numbers: leading zeros are octal, signs and blanks as strtoul', () => {
    const dpt = (p: string): string | undefined => parseRuleArgs(['-p', 'tcp', '--dport', p, '-j', 'ACCEPT'], 'ipv4').rule.matches[0]!.fields['dpts'];
    expect(dpt('010')).toBe('8:8');
    expect(dpt('0')).toBe('0:0');
    expect(dpt('65535')).toBe('65535:65535');
    expect(dpt('+22')).toBe('22:22');
    expect(() => dpt('65536')).toThrow();
    expect(() => dpt('123456789')).toThrow();
  });
});

// Hand-written scanners of the parse hot path, against the forms they replaced.
describe('parse fast paths agree with the general forms', () => {
  test('tokenizeRange is tokenizeRestoreLine of the slice, and token strings are reused only when equal', () => {
    const text = '-A DOCKER ! -i br-1 -p tcp -m tcp --dport 80 -j ACCEPT\n\t -A  X   -j DROP \r\n-A DOCKER ! -i br-2 -p tcp\n\n x';
    let pos = 0;
    for (const line of text.split('\n')) {
      expect(tokenizeRange(text, pos, pos + line.length)).toEqual(tokenizeRestoreLine(line));
      pos += line.length + 1;
    }
    // Words that collide in the token cache still come out as their own text.
    const words = Array.from({ length: 3000 }, (_, i) => `w${i % 977}x${i}`);
    const line = words.join(' ');
    expect(tokenizeRange(line, 0, line.length)).toEqual(words);
    expect(tokenizeRange(line, 0, line.length)).toEqual(words);
  });

  test('parseRestore: a quoted line after unquoted ones, CRLF, no final newline, an unterminated table', () => {
    const text = '*filter\n-A INPUT -j ACCEPT\r\n-A INPUT -m comment --comment "a b" -j DROP\n-A INPUT -j ACCEPT\nCOMMIT';
    const p = parseRestore(text, { family: 'ipv4' });
    expect(p.tables[0]!.commands.map((c) => c.line)).toEqual([2, 3, 4]);
    expect(printRule('INPUT', (p.tables[0]!.commands[1] as { rule: Rule }).rule, 'ipv4')).toBe('-A INPUT -m comment --comment "a b" -j DROP');
    expect(() => parseRestore('*filter\n-A INPUT -j ACCEPT\n', { family: 'ipv4' })).toThrow(/line 3: COMMIT expected/);
    expect(() => parseRestore('*filter\n-A INPUT -j ACCEPT\n\n', { family: 'ipv4' })).toThrow(/line 4: COMMIT expected/);
    expect(parseRestore('', { family: 'ipv4' }).tables).toEqual([]);
  });

  test('parseIPv4 accepts what inet_pton does', () => {
    expect(parseIPv4('1.2.3.4')).toEqual([1, 2, 3, 4]);
    expect(parseIPv4('0.0.0.0')).toEqual([0, 0, 0, 0]);
    expect(parseIPv4('255.255.255.255')).toEqual([255, 255, 255, 255]);
    for (const bad of ['256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', '1.2.3.4.', '.1.2.3', '1.2.3.4a', '1.2.3.1000', '', '1.2.3.-1', '1.2.3. 4', '1.2.3.0004']) {
      expect(parseIPv4(bad)).toBeUndefined();
    }
  });
});
