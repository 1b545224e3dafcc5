// The benchmark's output: the results table (terminal text, Markdown for latest.md and the
// README's bench section), the targets with their measured values, and an SVG chart of the
// full restore's time against published ports (log scales, one line per method and back
// end), written by hand — no plotting dependency.

export interface Stat {
  median: number;
  min: number;
  max: number;
  mean?: number;
  /** Relative margin of error of the mean, % (tinybench). */
  rme?: number;
  samples: number;
  values?: number[] | undefined;
}

export interface Row {
  scenario: string;
  ports: number;
  backend: 'legacy' | 'nft';
  method: string;
  /** in-process: tinybench; process: whole-process wall time; kernel: strace. */
  kind: 'in-process' | 'process' | 'kernel';
  unit: 'ms' | 'MB';
  status: 'ok' | 'failed' | 'skipped';
  error?: string;
  stat?: Stat;
  /** median / the kernel floor of the same scenario, size and back end. */
  xFloor?: number;
  note?: string;
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  /** null: could not be measured. */
  met: boolean | null;
}

export interface Results {
  meta: {
    date: string;
    quick: boolean;
    kernel: string;
    cpu: string;
    memoryGB: number;
    node: string;
    iptables: string;
    nft: string;
    commit: string;
    notes: string[];
  };
  rows: Row[];
  targets: Target[];
}

const SCENARIO_ORDER = ['restore', 'start-up', 'read', 'publish', 'unpublish', 'apply', 'event-loop stall', 'peak RSS growth'];

function ms(v: number): string {
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${v.toFixed(0)} ms`;
  if (v >= 10) return `${v.toFixed(1)} ms`;
  if (v >= 1) return `${v.toFixed(2)} ms`;
  return `${(v * 1000).toFixed(0)} µs`;
}

function value(r: Row, v: number): string {
  return r.unit === 'MB' ? `${v.toFixed(1)} MB` : ms(v);
}

function sorted(rows: readonly Row[]): Row[] {
  const kindOrder = { 'in-process': 0, process: 1, kernel: 2 };
  return [...rows].sort(
    (a, b) =>
      SCENARIO_ORDER.indexOf(a.scenario) - SCENARIO_ORDER.indexOf(b.scenario) ||
      a.ports - b.ports ||
      a.backend.localeCompare(b.backend) ||
      kindOrder[a.kind] - kindOrder[b.kind] ||
      a.method.localeCompare(b.method),
  );
}

function cells(r: Row): string[] {
  const n = r.scenario === 'start-up' ? 'empty' : r.ports.toLocaleString('en-US');
  if (r.status !== 'ok' || !r.stat) {
    return [r.scenario, n, r.backend, r.method, r.status.toUpperCase(), r.error ?? '', '', ''];
  }
  const s = r.stat;
  const spread = s.samples > 1 ? `${value(r, s.min)} – ${value(r, s.max)}` : '';
  const x = r.xFloor !== undefined ? `${r.xFloor.toFixed(r.xFloor >= 100 ? 0 : 2)}×` : r.kind === 'kernel' ? '1×' : '';
  return [r.scenario, n, r.backend, r.method, value(r, s.median), spread, String(s.samples || '—'), x];
}

const HEAD = ['scenario', 'ports', 'back end', 'method', 'median', 'spread (min – max)', 'samples', '× kernel floor'];

function targetCells(t: Target): string[] {
  return [t.name, t.goal, t.measured, t.met === null ? 'n/a' : t.met ? 'met' : 'NOT met'];
}

export function renderText(res: Results): string {
  const table = [HEAD, ...sorted(res.rows).map(cells)];
  const widths = HEAD.map((_, i) => Math.min(60, Math.max(...table.map((r) => (r[i] ?? '').length))));
  const line = (r: string[]) => r.map((c, i) => (c.length > widths[i]! ? c.slice(0, widths[i]! - 1) + '…' : c.padEnd(widths[i]!))).join('  ');
  const out = [line(table[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)];
  out.push('', 'Targets (reported, not asserted):');
  const tt = res.targets.map(targetCells);
  const tw = [0, 1, 2, 3].map((i) => Math.max(...tt.map((r) => r[i]!.length)));
  for (const r of tt) out.push('  ' + r.map((c, i) => c.padEnd(tw[i]!)).join('  '));
  const met = res.targets.filter((t) => t.met === true).length;
  out.push(`  ${met} of ${res.targets.length} targets met${res.meta.quick ? ' (quick run: smaller sizes, fewer samples)' : ''}.`);
  return out.join('\n');
}

const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/</g, '&lt;');

/** The table, the targets, the chart and the notes, as Markdown (latest.md and the README). */
function markdownBody(res: Results, svg: string): string[] {
  const m = res.meta;
  const met = res.targets.filter((t) => t.met === true).length;
  return [
    `${m.date.slice(0, 10)} · Linux ${m.kernel} · ${m.cpu} · ${m.memoryGB} GB · Node ${m.node} · ${m.iptables} · ${m.nft} · iptkit ${m.commit}`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => (i === 1 || (i >= 4 && i !== 5) ? '---:' : '---')).join('|')}|`,
    ...sorted(res.rows).map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
    '',
    `#### Targets (reported, not asserted): ${met} of ${res.targets.length} met`,
    '',
    '| target | goal | measured | |',
    '|---|---|---|---|',
    ...res.targets.map((t) => `| ${targetCells(t).map(esc).join(' | ')} |`),
    '',
    `![full restore time against published ports](${svg})`,
    '',
    ...m.notes.map((n) => `- ${esc(n)}`),
    ...res.rows.filter((r) => r.note && r.status === 'ok').map((r) => `- ${r.scenario} ${r.backend} ${r.method}: ${esc(r.note!)}`),
    '',
  ];
}

export function renderMarkdown(res: Results): string {
  const m = res.meta;
  return [
    `<!-- written by \`npm run bench${m.quick ? ' -- --quick' : ''}\` (bench/run.ts); do not edit by hand -->`,
    `### Benchmark results${m.quick ? ' (quick run)' : ''}`,
    '',
    ...markdownBody(res, 'commit-time.svg'),
  ].join('\n');
}

/** The README's section between <!-- bench:start --> and <!-- bench:end --> (without the markers). */
export function renderReadme(res: Results, svg: string): string {
  const m = res.meta;
  const met = res.targets.filter((t) => t.met === true).length;
  return [
    `<!-- written by \`npm run bench${m.quick ? ' -- --quick' : ''}\` (bench/run.ts); do not edit by hand -->`,
    `${m.quick ? 'A quick' : 'One full'} \`npm run bench${m.quick ? ' -- --quick' : ''}\` on ${m.date.slice(0, 10)} at commit ${m.commit}: iptkit against ` +
      'iptables-legacy-restore / iptables-nft-restore / iptables-save and `node -e 0`, measured in the same run, with the kernel ' +
      `floor of each commit and read beside them. ${met} of ${res.targets.length} targets met; targets are reported, never asserted.`,
    '',
    `### Last ${m.quick ? 'quick' : 'full'} run`,
    '',
    ...markdownBody(res, svg),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------
// SVG: full-restore time against published ports, log–log.

interface Series {
  label: string;
  color: string;
  dash: string;
  width: number;
  points: Array<{ x: number; y: number }>;
}

const COLORS: Record<string, string[]> = {
  legacy: ['#1f4e9c', '#4f83d1', '#8fb3e8', '#9aa4b2'],
  nft: ['#b4410e', '#e07b39', '#f0ad78', '#b2a79a'],
};

export function renderSvg(res: Results): string {
  const restore = res.rows.filter((r) => r.scenario === 'restore' && r.status === 'ok' && r.stat && r.stat.median > 0);
  const series: Series[] = [];
  const groups = new Map<string, Row[]>();
  for (const r of restore) {
    const key = `${r.backend}|${r.method}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  for (const [key, rs] of groups) {
    const [backend, family] = key.split('|') as ['legacy' | 'nft', string];
    const pal = COLORS[backend]!;
    const style =
      family === 'Netfilter.restore'
        ? { color: pal[0]!, dash: '', width: 3 }
        : family === 'iptkit restore'
          ? { color: pal[2]!, dash: '', width: 2 }
          : family === 'kernel floor'
            ? { color: pal[3]!, dash: '2 4', width: 1.5 }
            : { color: pal[1]!, dash: '4 3', width: 2 };
    const label = `${backend}: ${family}${family === 'iptkit restore' ? ' (command)' : family === 'Netfilter.restore' ? ' (in-process)' : ''}`;
    const pts = rs.sort((a, b) => a.ports - b.ports);
    series.push({ label, ...style, points: pts.map((r) => ({ x: r.ports, y: r.stat!.median })) });
  }

  const W = 860;
  const H = 520;
  const L = 80;
  const R = 300;
  const T = 50;
  const B = 60;
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const lx0 = Math.floor(Math.log10(Math.min(...xs, 100)));
  const lx1 = Math.ceil(Math.log10(Math.max(...xs, 10_000)));
  const ly0 = Math.floor(Math.log10(Math.min(...ys, 1)));
  const ly1 = Math.ceil(Math.log10(Math.max(...ys, 10)));
  const px = (x: number) => L + ((Math.log10(x) - lx0) / (lx1 - lx0 || 1)) * (W - L - R);
  const py = (y: number) => H - B - ((Math.log10(y) - ly0) / (ly1 - ly0 || 1)) * (H - T - B);
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(`<text x="${L}" y="24" font-size="16" font-weight="bold">Full restore of a Docker host with N published ports (3 rules each), fresh namespace</text>`);
  o.push(`<text x="${L}" y="40" fill="#555">median wall time, log–log · ${res.meta.date.slice(0, 10)} · Linux ${res.meta.kernel}${res.meta.quick ? ' · quick run' : ''}</text>`);
  // Grid and axes.
  for (let e = lx0; e <= lx1; e++) {
    const x = px(10 ** e);
    o.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#ddd"/>`);
    o.push(`<text x="${x}" y="${H - B + 18}" text-anchor="middle">${(10 ** e).toLocaleString('en-US')}</text>`);
  }
  for (let e = ly0; e <= ly1; e++) {
    const y = py(10 ** e);
    o.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#ddd"/>`);
    o.push(`<text x="${L - 8}" y="${y + 4}" text-anchor="end">${ms(10 ** e)}</text>`);
  }
  o.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#333"/>`);
  o.push(`<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">published ports</text>`);
  o.push(`<text transform="translate(20 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">time</text>`);
  // Lines.
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    o.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const p of s.points) {
      o.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${s.color}" stroke="${s.color}" stroke-width="1.5"><title>${s.label}: ${p.x} ports, ${ms(p.y)}</title></circle>`);
    }
  }
  // Legend.
  let ly = T + 6;
  for (const s of series) {
    const x = W - R + 16;
    o.push(`<line x1="${x}" y1="${ly}" x2="${x + 30}" y2="${ly}" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    o.push(`<text x="${x + 38}" y="${ly + 4}">${s.label.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`);
    ly += 20;
  }
  const failed = res.rows.filter((r) => r.scenario === 'restore' && r.status === 'failed');
  for (const f of failed.slice(0, 6)) {
    o.push(`<text x="${W - R + 16}" y="${ly + 4}" fill="#b00">failed: ${f.backend} ${f.method.replace(/</g, '&lt;')} (N=${f.ports})</text>`);
    ly += 18;
  }
  o.push('</svg>');
  return o.join('\n') + '\n';
}
