// fast-check arbitraries for the property-based oracle tests: random, VALID iptables-restore
// text (IPv4 or IPv6) over every extension iptkit understands (docs/design.md), options and
// negations included. "Valid" means iptables-restore (legacy and nft) and the kernel accept
// it: what was learnt by trying each shape with the real iptables-legacy-restore in a
// throwaway namespace is written next to the generator that respects it.
//
// Shape of one case: a non-empty set of tables (filter/nat/mangle/raw), each with all its
// built-in chains and policies (with policy counters), 0–3 user chains, and at most ~15 rules
// (each with or without a `[packets:bytes]` prefix; restore with -c).
//
// Hook restrictions. x_tables checks a target's/match's hooks against every built-in chain
// that reaches the rule, user chains included. To keep that decidable at generation time
// every user chain gets one "home" built-in chain: only its home and user chains with the
// same home and a lower index jump or goto it (so no loops and exactly one reaching hook),
// and its rules are generated as if they were in the home chain.

import fc from 'fast-check';

export type Fam = 'ipv4' | 'ipv6';
export type TableName = 'filter' | 'nat' | 'mangle' | 'raw';

export const BUILTINS: Record<TableName, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};
export const TABLES: readonly TableName[] = ['filter', 'nat', 'mangle', 'raw'];

/** The text that empties every table (all policies ACCEPT, no user chains, zero counters). */
export function emptyRuleset(tables: readonly TableName[] = TABLES): string {
  return tables
    .map((t) => `*${t}\n${BUILTINS[t].map((c) => `:${c} ACCEPT [0:0]\n`).join('')}COMMIT\n`)
    .join('');
}

export interface GenOptions {
  /** Areas left out (a known iptkit bug, or a back end that cannot express it). */
  exclude?: ReadonlySet<string>;
  /** Max rules per table (default 15). */
  maxRules?: number;
}

// ---------------------------------------------------------------------------------------------
// Small building blocks

const bang = fc.boolean().map((b) => (b ? '! ' : ''));
/** `! ` about one time in four. */
const maybeBang = fc.integer({ min: 0, max: 3 }).map((n) => (n === 0 ? '! ' : ''));

/** arb one time in `every` (default: one in two), else undefined (shrinks towards undefined). */
function opt<T>(arb: fc.Arbitrary<T>, every = 2): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: every - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

/** Joins the defined parts with single spaces. */
function words(...parts: (string | undefined | false)[]): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
}

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 65535 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const port = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 1024 }) },
  { weight: 1, arbitrary: u16 },
);
const portPair = fc.tuple(port, port).map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);

/** tcp/udp --sport/--dport: N, N:M, :M, N: (iptables fills 0 / 65535). */
const portSpec = fc.oneof(
  { weight: 3, arbitrary: port.map(String) },
  { weight: 3, arbitrary: portPair.map(([a, b]) => `${a}:${b}`) },
  { weight: 1, arbitrary: port.map((p) => `:${p}`) },
  { weight: 1, arbitrary: port.map((p) => `${p}:`) },
);

/**
 * `--sport`/`--dport` with its `!`. The `!` of a range over every port is dropped: iptables-save
 * prints nothing for `! --dport 0:65535` where iptkit keeps it on purpose (README, "Where it
 * differs"); ext-matches.test.ts pins that difference.
 */
function portOption(option: 'sport' | 'dport', [bang, spec]: [string, string]): string {
  const [lo, hi] = spec.includes(':') ? spec.split(':') : [spec, spec];
  const everyPort = (lo === '' || Number(lo) === 0) && (hi === '' || Number(hi) === 65535);
  return `${everyPort ? '' : bang}--${option} ${spec}`;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}
/** A 32-bit number in decimal or 0x hex (both accepted everywhere a mark is). */
const u32text = fc.tuple(u32, fc.boolean()).map(([n, h]) => (h ? hex(n) : String(n)));

// Addresses -----------------------------------------------------------------------------------

const v4bytes = fc.tuple(u8, u8, u8, u8);
const v4addr = fc.oneof(
  { weight: 3, arbitrary: v4bytes.map((b) => b.join('.')) },
  { weight: 1, arbitrary: fc.constantFrom('10.0.0.1', '192.168.1.1', '172.17.0.2', '127.0.0.1', '0.0.0.0', '255.255.255.255') },
);
function v4num(a: string): number {
  return a.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}
function v4text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const v6groups = fc.array(u16, { minLength: 8, maxLength: 8 });
/** An IPv6 address as inet_ntop would print it (compressed), or fully written out. */
function v6format(g: readonly number[], full: boolean): string {
  if (full) return g.map((x) => x.toString(16)).join(':');
  // Longest run of ≥2 zero groups becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const h = (xs: readonly number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return h(g);
  return `${h(g.slice(0, best))}::${h(g.slice(best + bestLen))}`;
}
const v6addr = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(v6groups, fc.boolean()).map(([g, f]) => v6format(g, f)) },
  // Sparse addresses (many zero groups) the way real ones look.
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(0x2001, 0xfd00, 0xfe80, 0xff02, 0), u16, fc.integer({ min: 0, max: 7 }), u16)
      .map(([a, b, i, c]) => {
        const g = [a, a === 0 ? 0 : 0xdb8, b, 0, 0, 0, 0, 0];
        g[i] = c;
        return v6format(g, false);
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom('::', '::1', 'fe80::1', '2001:db8::1', 'ff02::1:ff00:1', '::ffff:10.0.0.1') },
);

function addrFor(f: Fam): fc.Arbitrary<string> {
  return f === 'ipv4' ? v4addr : v6addr;
}

/** -s/-d argument: bare, /prefix, and for IPv4 a dotted mask (often not a prefix). */
function cidr(f: Fam): fc.Arbitrary<string> {
  if (f === 'ipv6') {
    return fc.oneof(
      { weight: 1, arbitrary: v6addr },
      { weight: 3, arbitrary: fc.tuple(v6addr, fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`) },
    );
  }
  return fc.oneof(
    { weight: 1, arbitrary: v4addr },
    { weight: 3, arbitrary: fc.tuple(v4addr, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`) },
    { weight: 1, arbitrary: fc.tuple(v4addr, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${v4text(p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0)}`) },
    { weight: 2, arbitrary: fc.tuple(v4addr, u32).map(([a, m]) => `${a}/${v4text(m)}`) },
  );
}

/** FROM-TO with FROM ≤ TO (the kernel compares them as numbers). */
function addrRange(f: Fam): fc.Arbitrary<[string, string]> {
  if (f === 'ipv4') {
    return fc.tuple(v4addr, v4addr).map(([a, b]) => (v4num(a) <= v4num(b) ? [a, b] : [b, a]));
  }
  // Same /64, different low bits, so the order is easy to keep.
  return fc
    .tuple(fc.constantFrom('2001:db8::', 'fd00:1:2:3::', 'fe80::', '::'), u16, u16)
    .map(([p, a, b]) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      return [`${p}${lo.toString(16)}`, `${p}${hi.toString(16)}`];
    });
}

// Interfaces -----------------------------------------------------------------------------------

const ifaceName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('eth0', 'lo', 'docker0', 'br-96a729b6b174', 'veth1a2b3c4', 'wlan0', 'eth0.100', 'tun_1') },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/) },
);
function ifaceArb(exclude: ReadonlySet<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: ifaceName },
    { weight: 2, arbitrary: ifaceName.map((n) => `${n.slice(0, 14)}+`) },
    // `-i +` (every interface): kept out with exclude 'iface-plus' (see the tests for why).
    ...(exclude.has('iface-plus') ? [] : [{ weight: 1, arbitrary: fc.constant('+') }]),
  );
}

// Strings ----------------------------------------------------------------------------------------

/** Printable ASCII (space, quotes and backslash included), no control characters. */
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
/** xtables_save_string quoting, which iptables-restore reads back. */
export function quote(s: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(s)) return s;
  return `"${s.replace(/["'\\]/g, (c) => '\\' + c)}"`;
}

// ---------------------------------------------------------------------------------------------
// Context of one rule

interface Ctx {
  family: Fam;
  table: TableName;
  /** The built-in chain the rule is in, or its user chain's home. */
  hook: string;
  /** User chains this rule may jump/goto. */
  jumpable: readonly string[];
  exclude: ReadonlySet<string>;
}

type Proto = { name: 'tcp' | 'udp' | 'icmp' | 'ipv6-icmp' | 'other'; text?: string; invert: boolean };

const IN_OK = new Set(['PREROUTING', 'INPUT', 'FORWARD']);
const OUT_OK = new Set(['FORWARD', 'OUTPUT', 'POSTROUTING']);

// Matches ------------------------------------------------------------------------------------------

const TCP_FLAGS = ['SYN', 'ACK', 'FIN', 'RST', 'URG', 'PSH'] as const;
const flagList = fc.oneof(
  { weight: 4, arbitrary: fc.subarray([...TCP_FLAGS], { minLength: 1 }).map((x) => x.join(',')) },
  { weight: 1, arbitrary: fc.constantFrom('ALL', 'NONE') },
);

const tcpMatch = fc
  .record({
    sport: opt(fc.tuple(maybeBang, portSpec)),
    dport: opt(fc.tuple(maybeBang, portSpec)),
    flags: opt(
      fc.oneof(
        fc.tuple(maybeBang, fc.constant('--syn')).map(([b, s]) => `${b}${s}`),
        fc.tuple(maybeBang, flagList, flagList).map(([b, m, c]) => `${b}--tcp-flags ${m} ${c}`),
      ),
    ),
    option: opt(fc.tuple(maybeBang, fc.integer({ min: 1, max: 255 }))),
  })
  .map((r) =>
    words(
      '-m tcp',
      r.sport && portOption('sport', r.sport),
      r.dport && portOption('dport', r.dport),
      r.flags,
      r.option && `${r.option[0]}--tcp-option ${r.option[1]}`,
    ),
  );

const udpMatch = fc
  .record({ sport: opt(fc.tuple(maybeBang, portSpec)), dport: opt(fc.tuple(maybeBang, portSpec)) })
  .map((r) => words('-m udp', r.sport && portOption('sport', r.sport), r.dport && portOption('dport', r.dport)));

const ICMP_TYPE_NAMES = [
  'any', 'echo-reply', 'pong', 'destination-unreachable', 'network-unreachable', 'host-unreachable',
  'port-unreachable', 'fragmentation-needed', 'host-prohibited', 'source-quench', 'redirect',
  'host-redirect', 'echo-request', 'ping', 'router-advertisement', 'time-exceeded',
  'ttl-zero-during-reassembly', 'parameter-problem', 'timestamp-request', 'address-mask-reply',
];
const icmpMatch = fc
  .tuple(
    maybeBang,
    fc.oneof(
      fc.constantFrom(...ICMP_TYPE_NAMES),
      u8.filter((t) => t !== 255).map(String),
      fc.tuple(u8.filter((t) => t !== 255), u8).map(([t, c]) => `${t}/${c}`),
    ),
  )
  .map(([b, t]) => `-m icmp ${b}--icmp-type ${t}`);

const ICMP6_TYPE_NAMES = [
  'destination-unreachable', 'no-route', 'communication-prohibited', 'address-unreachable',
  'port-unreachable', 'packet-too-big', 'time-exceeded', 'ttl-exceeded', 'parameter-problem',
  'bad-header', 'unknown-header-type', 'echo-request', 'ping', 'echo-reply', 'pong',
  'router-solicitation', 'router-advertisement', 'neighbour-solicitation', 'neighbor-solicitation',
  'neighbour-advertisement', 'redirect',
];
const icmp6Match = fc
  .tuple(
    maybeBang,
    fc.constantFrom('icmp6', 'icmpv6'),
    fc.oneof(fc.constantFrom(...ICMP6_TYPE_NAMES), u8.map(String), fc.tuple(u8, u8).map(([t, c]) => `${t}/${c}`)),
  )
  .map(([b, m, t]) => `-m ${m} ${b}--icmpv6-type ${t}`);

/** multiport: at most 15 slots, a range taking two. */
const multiportList = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: port.map((p) => ({ text: String(p), slots: 1 })) },
      // A range must grow: iptables refuses `10:10` in multiport ("invalid portrange specified").
      { weight: 2, arbitrary: portPair.filter(([a, b]) => a < b).map(([a, b]) => ({ text: `${a}:${b}`, slots: 2 })) },
      // No service names: this host has no /etc/services, and iptables resolves them there.
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((xs) => {
    const out: string[] = [];
    let slots = 0;
    for (const x of xs) {
      if (slots + x.slots > 15) break;
      out.push(x.text);
      slots += x.slots;
    }
    return out.join(',');
  });
const multiportMatch = fc
  .tuple(fc.constantFrom('--sports', '--dports', '--ports', '--source-ports', '--destination-ports'), maybeBang, multiportList)
  .map(([o, b, l]) => `-m multiport ${b}${o} ${l}`);

const RTN = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'];
// xt_addrtype refuses BROADCAST, BLACKHOLE and PROHIBIT and above for IPv6.
const RTN6 = ['UNSPEC', 'UNICAST', 'LOCAL', 'ANYCAST', 'MULTICAST', 'UNREACHABLE'];
function addrtypeMatch(c: Ctx): fc.Arbitrary<string> {
  const rtnList = fc.subarray(c.family === 'ipv4' ? RTN : RTN6, { minLength: 1, maxLength: 3 }).map((x) => x.join(','));
  // --limit-iface-in only where there is an input interface, -out where there is an output one
  // (the kernel refuses the rule otherwise); never both.
  const limits: string[] = [];
  if (IN_OK.has(c.hook)) limits.push('--limit-iface-in');
  if (OUT_OK.has(c.hook)) limits.push('--limit-iface-out');
  return fc
    .record({
      src: opt(fc.tuple(maybeBang, rtnList)),
      dst: opt(fc.tuple(maybeBang, rtnList)),
      limit: limits.length ? opt(fc.constantFrom(...limits)) : fc.constant(undefined),
    })
    .filter((r) => r.src !== undefined || r.dst !== undefined)
    .map((r) => words('-m addrtype', r.src && `${r.src[0]}--src-type ${r.src[1]}`, r.dst && `${r.dst[0]}--dst-type ${r.dst[1]}`, r.limit));
}

const CTSTATES = ['INVALID', 'NEW', 'ESTABLISHED', 'RELATED', 'UNTRACKED', 'SNAT', 'DNAT'];
const STATES = ['INVALID', 'NEW', 'ESTABLISHED', 'RELATED', 'UNTRACKED'];
const CTSTATUS = ['NONE', 'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];

function hostmask(f: Fam): fc.Arbitrary<string> {
  const max = f === 'ipv4' ? 32 : 128;
  return fc.oneof(addrFor(f), fc.tuple(addrFor(f), fc.integer({ min: 0, max })).map(([a, p]) => `${a}/${p}`));
}

function conntrackMatch(c: Ctx): fc.Arbitrary<string> {
  const o = <T>(name: string, a: fc.Arbitrary<T>, show: (v: T) => string = String) =>
    opt(fc.tuple(maybeBang, a).map(([b, v]) => `${b}--${name} ${show(v)}`), 2);
  const portOrRange = fc.oneof(port.map(String), portPair.map(([a, b]) => `${a}:${b}`));
  return fc
    .tuple(
      o('ctstate', fc.subarray(CTSTATES, { minLength: 1 }), (x) => x.join(',')),
      o('ctproto', fc.constantFrom('tcp', 'udp', 'icmp', '6', '17', '132', 'gre')),
      o('ctorigsrc', hostmask(c.family)),
      o('ctorigdst', hostmask(c.family)),
      o('ctreplsrc', hostmask(c.family)),
      o('ctrepldst', hostmask(c.family)),
      o('ctorigsrcport', portOrRange),
      o('ctorigdstport', portOrRange),
      o('ctreplsrcport', portOrRange),
      o('ctrepldstport', portOrRange),
      o('ctstatus', fc.subarray(CTSTATUS, { minLength: 1 }), (x) => x.join(',')),
      o('ctexpire', fc.oneof(u16.map(String), fc.tuple(u16, u16).map(([a, b]) => (a <= b ? `${a}:${b}` : `${b}:${a}`)))),
      opt(fc.constantFrom('--ctdir ORIGINAL', '--ctdir REPLY'), 4),
    )
    .filter((xs) => xs.some((x) => x !== undefined))
    .map((xs) => words('-m conntrack', ...xs));
}

const stateMatch = fc
  .tuple(maybeBang, fc.subarray(STATES, { minLength: 1 }))
  .map(([b, s]) => `-m state ${b}--state ${s.join(',')}`);

/** exclude 'dash-string': no comment or log prefix starting with '-' (see the tests for why). */
function text(c: Ctx): fc.Arbitrary<string> {
  return c.exclude.has('dash-string') ? printable.map((s) => (s.startsWith('-') ? `x${s}` : s)) : printable;
}
const commentMatch = (c: Ctx) => text(c).map((s) => `-m comment --comment ${quote(s)}`);

/** statistic: random with a probability (any spelling strtod reads), or nth with a packet below every. */
const statisticMatch = fc.oneof(
  fc
    .tuple(maybeBang, fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }).map(String), fc.constantFrom('0.5', '1', '0', '0x1p-3', '1e-3')))
    .map(([b, p]) => `-m statistic --mode random ${b}--probability ${p}`),
  fc
    .integer({ min: 1, max: 0xffffffff })
    .chain((every) => fc.tuple(maybeBang, fc.constant(every), fc.integer({ min: 0, max: Math.min(every - 1, 1000) })))
    .map(([b, every, packet]) => `-m statistic --mode nth ${b}--every ${every} --packet ${packet}`),
);

const markMatch = fc
  .tuple(maybeBang, u32text, opt(u32text))
  .map(([b, v, m]) => `-m mark ${b}--mark ${v}${m !== undefined ? `/${m}` : ''}`);

const pkttypeMatch = fc
  .tuple(maybeBang, fc.constantFrom('unicast', 'broadcast', 'multicast', 'host', 'otherhost', 'Multicast'))
  .map(([b, t]) => `-m pkttype ${b}--pkt-type ${t}`);

const connmarkMatch = fc
  .tuple(maybeBang, u32text, opt(u32text))
  .map(([b, v, m]) => `-m connmark ${b}--mark ${v}${m !== undefined ? `/${m}` : ''}`);

function iprangeMatch(f: Fam): fc.Arbitrary<string> {
  const r = fc.tuple(maybeBang, addrRange(f), fc.boolean()).map(([b, [lo, hi], single]) => `${b}${single && lo === hi ? lo : `${lo}-${hi}`}`);
  return fc
    .record({ src: opt(r), dst: opt(r) })
    .filter((x) => x.src !== undefined || x.dst !== undefined)
    .map((x) => {
      const part = (name: string, v?: string) => v && (v.startsWith('! ') ? `! --${name} ${v.slice(2)}` : `--${name} ${v}`);
      return words('-m iprange', part('src-range', x.src), part('dst-range', x.dst));
    });
}

// The kernel refuses a burst whose credits overflow 32 bits (xt_limit: "Overflow, try
// lower"): avg * burst / 10000 * HZ * CREDITS_PER_JIFFY (about 32000) must fit, avg being
// 10000 * seconds-per-unit / rate (3/hour when no --limit is given). Kept under 2^30.
const LIMIT_UNITS: readonly (readonly [string, number, number])[] = [
  ['second', 1, 10000], ['sec', 1, 1000], ['minute', 60, 6000], ['hour', 3600, 3600], ['day', 86400, 86400], ['', 1, 10000],
];
const limitMatch = fc
  .record({
    rate: opt(fc.integer({ min: 0, max: LIMIT_UNITS.length - 1 }).chain((u) => fc.integer({ min: 1, max: LIMIT_UNITS[u]![2] }).map((n) => [n, u] as const))),
    burst: opt(fc.integer({ min: 1, max: 10000 })),
  })
  .map((r) => {
    const avg = r.rate ? Math.floor((10000 * LIMIT_UNITS[r.rate[1]]![1]) / r.rate[0]) : 12000000;
    const max = Math.max(1, Math.floor(2 ** 30 / avg));
    // The default burst is 5: too many for 1/day, so such a rate always names a smaller one.
    const burst = r.burst === undefined ? (max < 5 ? max : undefined) : Math.min(r.burst, max);
    const rate = r.rate && (LIMIT_UNITS[r.rate[1]]![0] ? `${r.rate[0]}/${LIMIT_UNITS[r.rate[1]]![0]}` : String(r.rate[0]));
    return words('-m limit', rate && `--limit ${rate}`, burst !== undefined && `--limit-burst ${burst}`);
  });

// Targets --------------------------------------------------------------------------------------------

const REJECT4 = ['icmp-net-unreachable', 'icmp-host-unreachable', 'icmp-proto-unreachable', 'icmp-port-unreachable', 'icmp-net-prohibited', 'icmp-host-prohibited', 'icmp-admin-prohibited', 'net-unreach', 'host-unreach', 'port-unreach', 'admin-prohib'];
const REJECT6 = ['icmp6-no-route', 'icmp6-adm-prohibited', 'icmp6-addr-unreachable', 'icmp6-port-unreachable', 'icmp6-policy-fail', 'icmp6-reject-route', 'no-route', 'adm-prohibited', 'port-unreach'];

function rejectTarget(c: Ctx, proto: Proto | undefined): fc.Arbitrary<string> {
  const withs = [...(c.family === 'ipv4' ? REJECT4 : REJECT6)];
  // tcp-reset: the kernel refuses it unless the rule is -p tcp (not inverted).
  if (proto?.name === 'tcp' && !proto.invert) withs.push('tcp-reset', 'tcp-reset');
  return opt(fc.constantFrom(...withs), 3).map((w) => words('-j REJECT', w && `--reject-with ${w}`));
}

const logTarget = (c: Ctx) => fc
  .record({
    prefix: opt(text(c).map((s) => s.slice(0, 29))),
    level: opt(fc.oneof(fc.integer({ min: 0, max: 7 }).map(String), fc.constantFrom('emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug', 'panic'))),
    flags: fc.subarray(['--log-tcp-sequence', '--log-tcp-options', '--log-ip-options', '--log-uid', '--log-macdecode']),
  })
  .map((r) => words('-j LOG', r.prefix !== undefined && `--log-prefix ${quote(r.prefix)}`, r.level && `--log-level ${r.level}`, ...r.flags));

const markTarget = fc.oneof(
  fc.tuple(u32text, opt(u32text)).map(([v, m]) => `-j MARK --set-xmark ${v}${m !== undefined ? `/${m}` : ''}`),
  fc.tuple(u32text, opt(u32text)).map(([v, m]) => `-j MARK --set-mark ${v}${m !== undefined ? `/${m}` : ''}`),
  u32text.map((v) => `-j MARK --and-mark ${v}`),
  u32text.map((v) => `-j MARK --or-mark ${v}`),
  u32text.map((v) => `-j MARK --xor-mark ${v}`),
);

const CT_EVENTS = ['new', 'related', 'destroy', 'reply', 'assured', 'protoinfo', 'helper', 'mark', 'natseqinfo', 'secmark'];
const ctTarget = fc.oneof(
  { weight: 3, arbitrary: fc.constant('-j CT --notrack') },
  { weight: 1, arbitrary: fc.constant('-j NOTRACK') },
  {
    weight: 2,
    arbitrary: fc
      .record({
        events: opt(fc.subarray(CT_EVENTS, { minLength: 1 }).map((x) => x.join(','))),
        exp: opt(fc.constant('new')),
        zone: opt(fc.tuple(fc.constantFrom('--zone', '--zone-orig', '--zone-reply'), u16)),
      })
      .map((r) => words('-j CT', r.events && `--ctevents ${r.events}`, r.exp && `--expevents ${r.exp}`, r.zone && `${r.zone[0]} ${r.zone[1]}`)),
  },
);

/** [ADDR[-ADDR]][:PORT[-PORT]] (IPv6 addresses in brackets when a port follows). */
function natTo(f: Fam, ports: boolean, shifted: boolean): fc.Arbitrary<string> {
  const addr = fc.oneof(addrFor(f).map((a) => [a, a] as [string, string]), addrRange(f));
  const portPart = fc.oneof(
    port.filter((p) => p > 0).map((p) => `${p}`),
    portPair.filter(([a]) => a > 0).map(([a, b]) => `${a}-${b}`),
    ...(shifted ? [fc.tuple(portPair.filter(([a]) => a > 0), fc.integer({ min: 1, max: 65535 })).map(([[a, b], s]) => `${a}-${b}/${s}`)] : []),
  );
  return fc.tuple(addr, fc.boolean(), ports ? opt(portPart, 2) : fc.constant(undefined)).map(([[lo, hi], range, p]) => {
    const a = range && lo !== hi ? `${lo}-${hi}` : lo;
    if (p === undefined) return a;
    return f === 'ipv6' ? `[${a}]:${p}` : `${a}:${p}`;
  });
}
const toPorts = fc.oneof(port.filter((p) => p > 0).map(String), portPair.filter(([a]) => a > 0).map(([a, b]) => `${a}-${b}`));

function flagsOf(names: readonly string[]): fc.Arbitrary<string[]> {
  return fc.subarray([...names]);
}

function natTargets(c: Ctx, proto: Proto | undefined): fc.Arbitrary<string>[] {
  // --to-ports / a port in --to-*: the kernel wants -p tcp or udp (not inverted).
  const ports = (proto?.name === 'tcp' || proto?.name === 'udp') && !proto.invert;
  const out: fc.Arbitrary<string>[] = [];
  if (c.hook === 'PREROUTING' || c.hook === 'OUTPUT') {
    out.push(fc.tuple(natTo(c.family, ports, true), flagsOf(['--random', '--persistent'])).map(([t, fl]) => words('-j DNAT', `--to-destination ${t}`, ...fl)));
    out.push(fc.tuple(ports ? opt(toPorts) : fc.constant(undefined), flagsOf(['--random'])).map(([p, fl]) => words('-j REDIRECT', p && `--to-ports ${p}`, ...fl)));
  }
  if (c.hook === 'POSTROUTING' || c.hook === 'INPUT') {
    out.push(fc.tuple(natTo(c.family, ports, false), flagsOf(['--random', '--random-fully', '--persistent'])).map(([t, fl]) => words('-j SNAT', `--to-source ${t}`, ...fl)));
  }
  if (c.hook === 'POSTROUTING') {
    out.push(fc.tuple(ports ? opt(toPorts) : fc.constant(undefined), flagsOf(['--random', '--random-fully'])).map(([p, fl]) => words('-j MASQUERADE', p && `--to-ports ${p}`, ...fl)));
  }
  return out;
}

function targetArb(c: Ctx, proto: Proto | undefined): fc.Arbitrary<string | undefined> {
  const t: { weight: number; arbitrary: fc.Arbitrary<string | undefined> }[] = [
    { weight: 3, arbitrary: fc.constant('-j ACCEPT') },
    { weight: 1, arbitrary: fc.constant('-j RETURN') },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: logTarget(c) },
  ];
  // iptables refuses DROP in nat ("not intended for filtering").
  if (c.table !== 'nat') t.push({ weight: 2, arbitrary: fc.constant('-j DROP') });
  if (c.jumpable.length) {
    t.push({ weight: 4, arbitrary: fc.tuple(fc.constantFrom('-j', '-g'), fc.constantFrom(...c.jumpable)).map(([j, n]) => `${j} ${n}`) });
  }
  // REJECT: INPUT/FORWARD/OUTPUT only (the kernel's hook mask); kept to filter.
  if (c.table === 'filter' && !c.exclude.has('REJECT')) t.push({ weight: 2, arbitrary: rejectTarget(c, proto) });
  if ((c.table === 'mangle' || c.table === 'filter' || c.table === 'raw') && !c.exclude.has('MARK')) t.push({ weight: 2, arbitrary: markTarget });
  if (c.table === 'mangle' && !c.exclude.has('CHECKSUM')) t.push({ weight: 1, arbitrary: fc.constant('-j CHECKSUM --checksum-fill') });
  if (c.table === 'raw' && !c.exclude.has('CT')) t.push({ weight: 3, arbitrary: ctTarget });
  if (c.table === 'nat' && !c.exclude.has('NAT')) for (const a of natTargets(c, proto)) t.push({ weight: 3, arbitrary: a });
  return fc.oneof(...t);
}

// Rules ----------------------------------------------------------------------------------------------

function protoArb(f: Fam): fc.Arbitrary<Proto | undefined> {
  const icmp = f === 'ipv4' ? 'icmp' : 'ipv6-icmp';
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom('tcp', 'TCP', '6'), bang).map(([t, b]) => ({ name: 'tcp' as const, text: t, invert: b !== '' })) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom('udp', '17'), bang).map(([t, b]) => ({ name: 'udp' as const, text: t, invert: b !== '' })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...(f === 'ipv4' ? ['icmp', '1'] : ['ipv6-icmp', 'icmpv6', '58'])), bang)
        .map(([t, b]) => ({ name: icmp, text: t, invert: b !== '' }) as Proto),
    },
    {
      weight: 2,
      arbitrary: fc
        // (ip6tables warns that `-p ah` never matches: an extension header, so not for IPv6.)
        .tuple(fc.constantFrom(...(f === 'ipv4' ? ['ah', '51'] : []), 'gre', 'esp', 'sctp', 'udplite', '47', '132', '253', 'all', '0'), bang)
        .map(([t, b]) => ({ name: 'other' as const, text: t, invert: b !== '' })),
    },
  );
}

function ruleArb(c: Ctx): fc.Arbitrary<string> {
  return protoArb(c.family).chain((proto) => {
    const protoOk = (n: Proto['name']) => proto?.name === n && !proto.invert;
    const matchArbs: fc.Arbitrary<string>[] = [];
    // Protocol matches: the kernel wants -p NAME, not inverted.
    if (protoOk('tcp')) matchArbs.push(tcpMatch, multiportMatch);
    if (protoOk('udp')) matchArbs.push(udpMatch, multiportMatch);
    if (protoOk('icmp')) matchArbs.push(icmpMatch);
    if (protoOk('ipv6-icmp')) matchArbs.push(icmp6Match);
    matchArbs.push(addrtypeMatch(c), conntrackMatch(c), stateMatch, commentMatch(c), markMatch, connmarkMatch, pkttypeMatch, iprangeMatch(c.family), limitMatch, statisticMatch);
    // `-p all`/`-p 0` cannot be inverted usefully: iptables refuses `! -p all`... keep it plain.
    const p = proto && (proto.text === 'all' || proto.text === '0') ? { ...proto, invert: false } : proto;
    return fc
      .record({
        counters: c.exclude.has('rule-counters') ? fc.constant(undefined) : opt(fc.tuple(fc.bigInt(0n, 2n ** 64n - 1n), fc.bigInt(0n, 2n ** 64n - 1n)), 2),
        src: opt(fc.tuple(maybeBang, cidr(c.family))),
        dst: opt(fc.tuple(maybeBang, cidr(c.family))),
        in: IN_OK.has(c.hook) ? opt(fc.tuple(maybeBang, ifaceArb(c.exclude))) : fc.constant(undefined),
        out: OUT_OK.has(c.hook) ? opt(fc.tuple(maybeBang, ifaceArb(c.exclude))) : fc.constant(undefined),
        frag: c.family === 'ipv4' ? opt(fc.constantFrom('-f', '! -f'), 4) : fc.constant(undefined),
        // Each match module at most once per rule, in any order.
        matches: fc.shuffledSubarray(matchArbs, { maxLength: 4 }).chain((ms) => (ms.length ? fc.tuple(...ms) : fc.constant([] as string[]))),
        target: targetArb(c, p),
      })
      .map((r) => {
        // iptables-nft cannot write `! -s ADDR/0` (it refuses the rule with EINVAL).
        const zero = <T extends readonly [string, string] | undefined>(a: T): T | [string, string] =>
          a && c.exclude.has('invert-zero-mask') && /\/(0|0\.0\.0\.0)$/.test(a[1]) ? ['', a[1]] : a;
        // exclude 'invert-port-from-zero': tcp/udp `! --dport 0:N` (`:N`, `0`) plain instead.
        const matches = c.exclude.has('invert-port-from-zero')
          ? r.matches.map((m) => (/^-m (tcp|udp)\b/.test(m) ? m.replace(/! (--[sd]port) (0(:\d*)?|:\d+)(?= |$)/g, '$1 $2') : m))
          : r.matches;
        const src = zero(r.src);
        const dst = zero(r.dst);
        return words(
          r.counters && `[${r.counters[0]}:${r.counters[1]}]`,
          '-A',
          '%CHAIN%',
          src && `${src[0]}-s ${src[1]}`,
          dst && `${dst[0]}-d ${dst[1]}`,
          r.in && `${r.in[0]}-i ${r.in[1]}`,
          r.out && `${r.out[0]}-o ${r.out[1]}`,
          p && `${p.invert ? '! ' : ''}-p ${p.text}`,
          r.frag,
          ...matches,
          r.target,
        );
      });
  });
}

// Tables ---------------------------------------------------------------------------------------------

interface UserChain {
  name: string;
  home: string;
}

const counters = fc.tuple(fc.bigInt(0n, 2n ** 64n - 1n), fc.bigInt(0n, 2n ** 64n - 1n)).map(([p, b]) => `[${p}:${b}]`);

function tableArb(family: Fam, table: TableName, o: GenOptions): fc.Arbitrary<string> {
  const builtins = BUILTINS[table];
  const maxRules = o.maxRules ?? 15;
  const exclude = o.exclude ?? new Set<string>();
  const skeleton = fc.record({
    // iptables-nft refuses a DROP policy in nat? No: both accept it; the kernel does too.
    policies: fc.tuple(...builtins.map(() => fc.tuple(table === 'nat' ? fc.constant('ACCEPT') : fc.constantFrom('ACCEPT', 'DROP'), counters))),
    users: fc.array(
      fc.tuple(fc.constantFrom(...builtins), fc.stringMatching(/^[A-Za-z0-9_-]{0,12}$/)),
      { maxLength: 3 },
    ),
  });
  return skeleton.chain(({ policies, users: u }) => {
    const users: UserChain[] = u.map(([home, suffix], i) => ({ name: `U${i}${suffix}`, home }));
    const chains = [...builtins.map((name) => ({ name, home: name, user: -1 })), ...users.map((x, i) => ({ ...x, user: i }))];
    const per = Math.max(1, Math.floor(maxRules / chains.length));
    const ruleLists = chains.map((ch) => {
      const jumpable = users.filter((x, i) => x.home === ch.home && i > ch.user).map((x) => x.name);
      const ctx: Ctx = { family, table, hook: ch.home, jumpable, exclude };
      return fc.array(ruleArb(ctx), { maxLength: per }).map((rs) => rs.map((r) => r.replace('%CHAIN%', ch.name)));
    });
    return fc.tuple(...ruleLists).map((lists) => {
      const lines = [`*${table}`];
      builtins.forEach((b, i) => lines.push(`:${b} ${policies[i]![0]} ${policies[i]![1]}`));
      for (const x of users) lines.push(`:${x.name} - [0:0]`);
      // iptables-restore wants the rules of a chain in order; chains may interleave.
      for (const l of lists) lines.push(...l);
      lines.push('COMMIT');
      return lines.join('\n') + '\n';
    });
  });
}

/** iptables-restore text of a random valid ruleset for the family. */
export function rulesetArb(family: Fam, o: GenOptions = {}): fc.Arbitrary<string> {
  return fc
    .subarray([...TABLES], { minLength: 1 })
    .chain((tables) => fc.tuple(...tables.map((t) => tableArb(family, t, o))))
    .map((parts) => parts.join(''));
}
