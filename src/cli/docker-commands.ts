// `iptkit docker …`: Docker's chains on a live host (src/docker/ops.ts), both address
// families, one commit per family.
//
//   docker apply STATE.json [--test]      the state's rules, everything else kept (--test: the
//                                         change as iptables commands, exit 3 when there is one)
//   docker state [--hints FILE]           the state the kernel's rules describe (a state file)
//   docker doctor [STATE.json]            findings (exit 1) or a one-line summary (exit 0)
//   docker repair STATE.json              doctor, apply, doctor again
//   docker publish [--state STATE.json] [--network NET --container-ip IP] [--ports FILE] PORT...
//   docker unpublish [--state STATE.json] [--ports FILE] PORT...
//
// PORT is Docker's `-p` syntax: [HOSTIP:]HOSTPORT[-END]:CONTAINERPORT[-END][/PROTO], an IPv6
// host address in brackets; unpublish also takes [HOSTIP:]HOSTPORT[-END][/PROTO].
// --ports FILE holds a JSON array of port objects (docs/design.md's "ports"), '-' for stdin.
// --json documents: docs/json.md and schemas/.

import { DockerHost, type DockerCommitResult, type DockerTablePlan } from '../docker/ops.js';
import type { Family } from '../rules/model.js';
import { summary, type Finding } from '../docker/doctor.js';
import type { CommitResult } from '../netfilter.js';
import { canonicalAddress, parseAddress } from '../docker/address.js';
import { COMMON_OPTIONS, didYouMean, flagBool, flagString, InputError, parseCommand, UsageError, type CommandSpec, type OptionSpecs, type Parsed } from './args.js';
import { commonOpenOptions, readInput, type Io } from './common.js';
import { jsonDocument } from './json.js';
import { formatPreview, tableChange, WOULD_CHANGE, type Preview } from './preview.js';

const DOCKER_USAGE = `usage: iptkit docker <command> [options]

commands:
  apply STATE.json [--test]        make the host hold the state's Docker rules (one commit per family);
                                   --test: print the change, exit 3 when there is one
  state [--hints FILE]             print the Docker state the kernel's rules describe
  doctor [STATE.json]              findings, or a one-line summary; exit 1 on errors (--fail-on)
  repair STATE.json                fix everything doctor finds (= apply), in one commit per family
  publish [--state STATE.json] --network NET --container-ip IP PORT...
  publish [--state STATE.json] --ports PORTS.json
  unpublish [--state STATE.json] PORT... | --ports PORTS.json

PORT: [HOSTIP:]HOSTPORT[-END]:CONTAINERPORT[-END][/tcp|udp|sctp] as docker run -p
      (unpublish: [HOSTIP:]HOSTPORT[-END][/PROTO] is enough). IPv6 host addresses in brackets.
Without --state, a port's network is found among the networks inferred from the kernel's
rules, by network or bridge name.

options: --backend auto|legacy|nft, --netns NAME|PATH, -w SECONDS, --json
'iptkit docker COMMAND --help' describes one command.
`;

const DOCKER_COMMON = `common options:
  --backend auto|legacy|nft   auto: the back end that holds rules, else nf_tables
  --netns NAME|PATH           work inside a network namespace (NAME means /var/run/netns/NAME)
  -w, --wait SECONDS          legacy: how long to wait for the xtables lock (default 10)
  --json                      machine-readable output (docs/json.md, schemas/)
  -h, --help                  print this help and do nothing else
`;

const BASE = { ...COMMON_OPTIONS, json: { type: 'boolean' } } as const satisfies OptionSpecs;

export const SUBCOMMANDS: Record<string, CommandSpec> = {
  apply: {
    name: 'docker apply',
    positionals: { max: 1, what: 'one STATE.json' },
    options: { ...BASE, test: { type: 'boolean' } },
    help: `usage: iptkit docker apply STATE.json [--test]

Makes the host hold the state's Docker rules, everything else kept; one commit per family.
STATE.json is - for standard input (its schema: schemas/docker-state.schema.json).

  --test                commit nothing; print the change as iptkit diff does: per family
                        (# ipv4, # ipv6) and table, iptables commands (-N, -P, -D, -I/-A, -F,
                        -X; run in order with iptables/ip6tables -t TABLE they make the same
                        change) and, as # lines, the rules each chain keeps; exit 3 when
                        something would change, 0 (printing nothing) when nothing would

${DOCKER_COMMON}`,
  },
  state: {
    name: 'docker state',
    positionals: { max: 0, what: '' },
    options: { ...BASE, hints: { type: 'string' } },
    help: `usage: iptkit docker state [--hints FILE]

Prints the Docker state the kernel's rules describe, as a state file (the input of docker
apply; schemas/docker-state.schema.json); with --json, inside the versioned document
{ "version": 1, "state": … } (schemas/docker-state-output.schema.json).

  --hints FILE          a partial state (network names, options) to name what the rules cannot

${DOCKER_COMMON}`,
  },
  doctor: {
    name: 'docker doctor',
    positionals: { max: 1, what: 'at most one STATE.json' },
    options: { ...BASE, state: { type: 'string' }, 'fail-on': { type: 'string' } },
    help: `usage: iptkit docker doctor [STATE.json] [--fail-on error|warning]

Checks Docker's chains and jumps (and, given a state, that the host holds it); prints every
finding, or a one-line summary. Exit 1 when a finding is an error (--fail-on warning: any
finding), else 0.

  --state STATE.json    the same as the STATE.json argument
  --fail-on LEVEL       error (default) or warning

${DOCKER_COMMON}`,
  },
  repair: {
    name: 'docker repair',
    positionals: { max: 1, what: 'one STATE.json' },
    options: { ...BASE, state: { type: 'string' } },
    help: `usage: iptkit docker repair STATE.json

Fixes everything doctor finds by applying the state, one commit per family; exit 1 when
findings remain.

${DOCKER_COMMON}`,
  },
  publish: {
    name: 'docker publish',
    positionals: { max: Infinity, what: 'PORT...' },
    options: { ...BASE, state: { type: 'string' }, ports: { type: 'string' }, network: { type: 'string' }, 'container-ip': { type: 'string' } },
    help: `usage: iptkit docker publish [--state STATE.json] --network NET --container-ip IP PORT...
       iptkit docker publish [--state STATE.json] --ports PORTS.json

Publishes ports in one commit per family. PORT is [HOSTIP:]HOSTPORT[-END]:CONTAINERPORT[-END][/PROTO]
as docker run -p; PORTS.json a JSON array of ports as in the state ('-' for standard input).

${DOCKER_COMMON}`,
  },
  unpublish: {
    name: 'docker unpublish',
    positionals: { max: Infinity, what: 'PORT...' },
    options: { ...BASE, state: { type: 'string' }, ports: { type: 'string' } },
    help: `usage: iptkit docker unpublish [--state STATE.json] PORT... | --ports PORTS.json

Removes published ports in one commit per family. PORT is [HOSTIP:]HOSTPORT[-END][/PROTO].

${DOCKER_COMMON}`,
  },
};

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`${what}: not JSON (${(e as Error).message})`);
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
  if (specs.length === 0) throw new UsageError('no port given', `docker ${publish ? 'publish' : 'unpublish'}`);
  const network = flagString(p, 'network');
  const containerIp = flagString(p, 'container-ip');
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

export async function dockerCommand(argv: readonly string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    const topic = sub === 'help' ? rest[0] : undefined;
    io.out(topic !== undefined && SUBCOMMANDS[topic] ? SUBCOMMANDS[topic].help : DOCKER_USAGE);
    return 0;
  }
  if (sub === undefined) throw new UsageError('docker needs a command: apply, state, doctor, repair, publish or unpublish', 'docker');
  const spec = SUBCOMMANDS[sub];
  if (spec === undefined) {
    const guess = didYouMean(sub, Object.keys(SUBCOMMANDS));
    throw new UsageError(`unknown docker command '${sub}'${guess ? ` (did you mean ${guess}?)` : ''}`, 'docker');
  }
  const parsed = parseCommand(spec, rest);
  if (parsed === 'help') {
    io.out(spec.help);
    return 0;
  }
  const p: Parsed = parsed;
  const json = flagBool(p, 'json');
  switch (sub) {
    case 'apply': {
      const file = p.positional[0];
      if (file === undefined) throw new UsageError('docker apply needs a STATE.json (or - for stdin)', spec.name);
      commonOpenOptions(p);
      const state = readJson(file, 'state');
      const host = await openHost(p);
      if (flagBool(p, 'test')) {
        const preview: Preview = [];
        // Docker's nftables back end: the nft commands that would make its docker-bridges tables.
        if (typeof state === 'object' && state !== null && (state as Record<string, unknown>)['layout'] === 'docker-nft') preview.push(...(await host.previewNftabler(state)));
        else for (const [family, plans] of Object.entries(await host.plan(state)) as Array<[Family, DockerTablePlan[]]>) {
          for (const plan of plans) {
            const change = tableChange(family, plan.current, plan);
            if (change) preview.push(change);
          }
        }
        io.out(json ? jsonDocument({ changed: preview.length > 0, tables: preview }) : formatPreview(preview, true));
        return preview.length ? WOULD_CHANGE : 0;
      }
      const r = await host.apply(state);
      io.out(json ? jsonDocument(r) : commitLines(r));
      return 0;
    }
    case 'state': {
      const hintsFile = flagString(p, 'hints');
      const hints = hintsFile === undefined ? {} : (readJson(hintsFile, '--hints') as Record<string, unknown>);
      const host = await openHost(p);
      const state = await host.inferState(hints);
      io.out(json ? jsonDocument({ state }) : JSON.stringify(state, null, 2) + '\n');
      return 0;
    }
    case 'doctor': {
      const file = p.positional[0] ?? flagString(p, 'state');
      const failOn = flagString(p, 'fail-on') ?? 'error';
      if (failOn !== 'error' && failOn !== 'warning') throw new UsageError(`--fail-on must be error or warning, not '${failOn}'`, spec.name);
      commonOpenOptions(p);
      const state = file === undefined ? undefined : readJson(file, 'state');
      const host = await openHost(p);
      const findings = await host.doctor(state);
      const failing = findings.filter((f) => failOn === 'warning' || f.severity === 'error');
      if (json) io.out(jsonDocument({ summary: summary(findings), findings }));
      else if (findings.length === 0) io.out(summary(findings) + '\n');
      else io.out(findings.map(findingLine).join('') + summary(findings) + '\n');
      return failing.length === 0 ? 0 : 1;
    }
    case 'repair': {
      const file = p.positional[0] ?? flagString(p, 'state');
      if (file === undefined) throw new UsageError('docker repair needs a STATE.json (or - for stdin)', spec.name);
      const state = readJson(file, 'state');
      const host = await openHost(p);
      const r = await host.repair(state);
      if (json) {
        io.out(jsonDocument(r));
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
      if (json) io.out(jsonDocument(r));
      else {
        io.out(`${publish ? 'published' : 'unpublished'} ${r.changed} port${r.changed === 1 ? '' : 's'}` + (r.unchanged ? ` (${r.unchanged} already ${publish ? 'published' : 'not published'})` : '') + '\n');
        if (r.changed) io.out(commitLines(r));
      }
      return 0;
    }
    default:
      throw new Error(`docker ${sub}: declared but not handled`);
  }
}
