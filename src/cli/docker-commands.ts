// `iptkit docker …`: Docker's chains on a live host (src/docker/ops.ts), both address
// families, one commit per family.
//
//   docker apply STATE.json [--test]      the state's rules, everything else kept
//   docker state [--hints FILE]           the state the kernel's rules describe (JSON)
//   docker doctor [STATE.json]            findings (exit 1) or a one-line summary (exit 0)
//   docker repair STATE.json              doctor, apply, doctor again
//   docker publish [--state STATE.json] [--network NET --container-ip IP] [--ports FILE] PORT...
//   docker unpublish [--state STATE.json] [--ports FILE] PORT...
//
// PORT is Docker's `-p` syntax: [HOSTIP:]HOSTPORT[-END]:CONTAINERPORT[-END][/PROTO], an IPv6
// host address in brackets; unpublish also takes [HOSTIP:]HOSTPORT[-END][/PROTO].
// --ports FILE holds a JSON array of port objects (docs/design.md's "ports"), '-' for stdin.

import { DockerHost, type DockerCommitResult } from '../docker/ops.js';
import { summary, type Finding } from '../docker/doctor.js';
import type { CommitResult } from '../netfilter.js';
import { canonicalAddress, parseAddress } from '../docker/address.js';
import { flagBool, flagString, parseArgs, UsageError, type FlagSpec, type Parsed } from './args.js';
import { commonOpenOptions, readInput, toJson, type Io } from './common.js';

const DOCKER_USAGE = `usage: iptkit docker <command> [options]

commands:
  apply STATE.json [--test]        make the host hold the state's Docker rules (one commit per family)
  state [--hints FILE]             print the Docker state the kernel's rules describe
  doctor [STATE.json]              exit 1 with every finding, or 0 with a one-line summary
  repair STATE.json                fix everything doctor finds (= apply), in one commit per family
  publish [--state STATE.json] --network NET --container-ip IP PORT...
  publish [--state STATE.json] --ports PORTS.json
  unpublish [--state STATE.json] PORT... | --ports PORTS.json

PORT: [HOSTIP:]HOSTPORT[-END]:CONTAINERPORT[-END][/tcp|udp|sctp] as docker run -p
      (unpublish: [HOSTIP:]HOSTPORT[-END][/PROTO] is enough). IPv6 host addresses in brackets.
Without --state, a port's network is found among the networks inferred from the kernel's
rules, by network or bridge name.

options: --backend auto|legacy|nft, --netns NAME|PATH, -w SECONDS, --json
`;

const FLAGS: readonly FlagSpec[] = [
  { names: ['--state'], key: 'state', value: true },
  { names: ['--hints'], key: 'hints', value: true },
  { names: ['--ports'], key: 'ports', value: true },
  { names: ['--network'], key: 'network', value: true },
  { names: ['--container-ip'], key: 'containerIp', value: true },
  { names: ['--test'], key: 'test' },
];

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new TypeError(`${what}: not JSON (${(e as Error).message})`);
  }
}

function readJson(path: string, what: string): unknown {
  return parseJson(readInput(path), `${what} ${path === '-' ? '(stdin)' : path}`);
}

async function openHost(p: Parsed): Promise<DockerHost> {
  if (flagBool(p, 'ipv4') || flagBool(p, 'ipv6')) throw new UsageError('docker commands work on both families; -4/-6 do not apply');
  return DockerHost.open(commonOpenOptions(p));
}

function commitLine(family: string, r: CommitResult): string {
  const what = r.changed.length ? `changed ${r.changed.join(', ')}` : 'nothing changed';
  return `${family} (${r.backend}): ${what}: +${r.added} -${r.deleted} rules, ${r.kept} kept, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}\n`;
}

function commitLines(r: DockerCommitResult): string {
  let out = '';
  if (r.ipv4) out += commitLine('ipv4', r.ipv4);
  if (r.ipv6) out += commitLine('ipv6', r.ipv6);
  return out || 'nothing to commit\n';
}

function findingLine(f: Finding): string {
  const where = `${f.family} ${f.table} ${f.chain}`;
  return `${f.severity} ${f.code} [${where}]: ${f.message}${f.rule !== undefined ? `\n    -A ${f.chain} ${f.rule}` : ''}\n`;
}

/** Splits `[HOST]:rest` / `a.b.c.d:rest` / `rest`, keeping IPv6 brackets out of the colons. */
function splitHost(spec: string): { host?: string; rest: string } {
  if (spec.startsWith('[')) {
    const end = spec.indexOf(']');
    if (end < 0 || spec[end + 1] !== ':') throw new UsageError(`port '${spec}': an IPv6 host address is written [ADDR]:PORT`);
    return { host: spec.slice(1, end), rest: spec.slice(end + 2) };
  }
  const parts = spec.split(':');
  if (parts.length === 3 || (parts.length === 2 && parts[0]!.includes('.'))) return { host: parts[0]!, rest: parts.slice(1).join(':') };
  return { rest: spec };
}

function portValue(text: string, spec: string): number | string {
  if (/^\d+$/.test(text)) return Number(text);
  if (/^\d+-\d+$/.test(text)) return text;
  throw new UsageError(`port '${spec}': '${text}' is not a port or a range A-B`);
}

/** Docker's -p syntax; containerIp and network come from the flags. */
export function parsePortSpec(spec: string, needContainer: boolean): Record<string, unknown> {
  let body = spec;
  let proto = 'tcp';
  const slash = spec.lastIndexOf('/');
  if (slash >= 0) {
    proto = spec.slice(slash + 1);
    body = spec.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new UsageError(`port '${spec}': protocol '${proto}' is not tcp, udp or sctp`);
  }
  const { host, rest } = splitHost(body);
  const parts = rest.split(':');
  if (parts.length > 2 || parts[0] === '' || (needContainer && parts.length !== 2)) {
    throw new UsageError(`port '${spec}' is not ${needContainer ? '[HOSTIP:]HOSTPORT:CONTAINERPORT[/PROTO]' : '[HOSTIP:]HOSTPORT[:CONTAINERPORT][/PROTO]'}`);
  }
  const out: Record<string, unknown> = { proto, hostPort: portValue(parts[0]!, spec) };
  if (parts[1] !== undefined) out['containerPort'] = portValue(parts[1], spec);
  if (host !== undefined) {
    if (canonicalAddress(host) === undefined) throw new UsageError(`port '${spec}': '${host}' is not an IP address`);
    out['hostIp'] = host;
  }
  return out;
}

function portsFrom(p: Parsed, publish: boolean): unknown[] {
  const file = flagString(p, 'ports');
  const specs = p.positional;
  if (file !== undefined && specs.length) throw new UsageError('give ports either with --ports FILE or as arguments, not both');
  if (file !== undefined) {
    const json = readJson(file, '--ports');
    if (!Array.isArray(json)) throw new TypeError(`--ports ${file}: not a JSON array of ports`);
    return json;
  }
  if (specs.length === 0) throw new UsageError(`docker ${publish ? 'publish' : 'unpublish'}: no port given`);
  const network = flagString(p, 'network');
  const containerIp = flagString(p, 'containerIp');
  if (publish && (network === undefined || containerIp === undefined)) {
    throw new UsageError('docker publish PORT… needs --network NET and --container-ip IP');
  }
  return specs.map((s) => {
    const port = parsePortSpec(s, publish);
    if (network !== undefined) port['network'] = network;
    if (containerIp !== undefined) port['containerIp'] = containerIp;
    if (publish && port['hostIp'] === undefined) {
      // docker run -p without a host address binds every address of the container's family.
      port['hostIp'] = parseAddress(containerIp!)?.family === 'ipv6' ? '::' : '0.0.0.0';
    }
    return port;
  });
}

function noPositional(p: Parsed, cmd: string, max: number): void {
  if (p.positional.length > max) throw new UsageError(`docker ${cmd}: unexpected argument '${p.positional[max]}'`);
}

export async function dockerCommand(argv: readonly string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    io.out(DOCKER_USAGE);
    return sub === undefined ? 2 : 0;
  }
  const p = parseArgs(rest, FLAGS);
  if (flagBool(p, 'help')) {
    io.out(DOCKER_USAGE);
    return 0;
  }
  const json = flagBool(p, 'json');
  switch (sub) {
    case 'apply': {
      noPositional(p, 'apply', 1);
      const file = p.positional[0];
      if (file === undefined) throw new UsageError('docker apply needs a STATE.json (or - for stdin)');
      const state = readJson(file, 'state');
      const host = await openHost(p);
      if (flagBool(p, 'test')) {
        const plans = await host.plan(state);
        const changed = Object.entries(plans).flatMap(([f, ps]) => ps.filter((x) => !x.unchanged).map((x) => `${f} ${x.table}`));
        io.out(json ? toJson({ changed }) + '\n' : changed.length ? `would change: ${changed.join(', ')}\n` : 'nothing would change\n');
        return 0;
      }
      const r = await host.apply(state);
      io.out(json ? toJson(r) + '\n' : commitLines(r));
      return 0;
    }
    case 'state': {
      noPositional(p, 'state', 0);
      const hintsFile = flagString(p, 'hints');
      const hints = hintsFile === undefined ? {} : (readJson(hintsFile, '--hints') as Record<string, unknown>);
      const host = await openHost(p);
      io.out(toJson(await host.inferState(hints)) + '\n');
      return 0;
    }
    case 'doctor': {
      noPositional(p, 'doctor', 1);
      const file = p.positional[0] ?? flagString(p, 'state');
      const state = file === undefined ? undefined : readJson(file, 'state');
      const host = await openHost(p);
      const findings = await host.doctor(state);
      if (json) io.out(toJson({ summary: summary(findings), findings }) + '\n');
      else if (findings.length === 0) io.out(summary(findings) + '\n');
      else io.out(findings.map(findingLine).join('') + summary(findings) + '\n');
      return findings.length === 0 ? 0 : 1;
    }
    case 'repair': {
      noPositional(p, 'repair', 1);
      const file = p.positional[0] ?? flagString(p, 'state');
      if (file === undefined) throw new UsageError('docker repair needs a STATE.json (or - for stdin)');
      const state = readJson(file, 'state');
      const host = await openHost(p);
      const r = await host.repair(state);
      if (json) {
        io.out(toJson(r) + '\n');
      } else {
        io.out(`before: ${summary(r.before)}\n` + commitLines(r) + `after: ${summary(r.after)}\n`);
        if (r.after.length) io.out(r.after.map(findingLine).join(''));
      }
      return r.after.length === 0 ? 0 : 1;
    }
    case 'publish':
    case 'unpublish': {
      const publish = sub === 'publish';
      const ports = portsFrom(p, publish);
      const stateFile = flagString(p, 'state');
      const state = stateFile === undefined ? undefined : readJson(stateFile, 'state');
      const host = await openHost(p);
      const opts = state === undefined ? {} : { state };
      const r = publish ? await host.publish(ports, opts) : await host.unpublish(ports, opts);
      if (json) io.out(toJson(r) + '\n');
      else {
        io.out(`${publish ? 'published' : 'unpublished'} ${r.changed} port${r.changed === 1 ? '' : 's'}` + (r.unchanged ? ` (${r.unchanged} already ${publish ? 'published' : 'not published'})` : '') + '\n');
        if (r.changed) io.out(commitLines(r));
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown docker command '${sub}'`);
  }
}
