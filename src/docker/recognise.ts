// isDockerRule: whether a rule in a built-in chain has one of the shapes Docker writes, for any
// network or port (so rules of networks and ports no longer in the state can be found and
// removed), and which chains are Docker's own.

import type { Family } from '../rules/model.js';
import { hasChain, rulesOf, type FamilyTables } from './saves.js';
import { DEFAULT_LAYOUT, type DockerLayout } from './state.js';
import {
  DOCKER_BRIDGE_CHAIN,
  DOCKER_CHAIN,
  DOCKER_CT_CHAIN,
  DOCKER_FORWARD_CHAIN,
  DOCKER_INTERNAL_CHAIN,
  ISOLATION_STAGE_1,
  ISOLATION_STAGE_2,
} from './ruleset.js';

/** Chains whose whole content is Docker's, per table (DOCKER-USER is the user's). */
export const DOCKER_OWNED_CHAINS: Readonly<Record<string, readonly string[]>> = {
  nat: [DOCKER_CHAIN],
  filter: [
    DOCKER_CHAIN,
    ISOLATION_STAGE_1,
    ISOLATION_STAGE_2,
    DOCKER_FORWARD_CHAIN,
    DOCKER_BRIDGE_CHAIN,
    DOCKER_CT_CHAIN,
    DOCKER_INTERNAL_CHAIN,
    // Docker before 17.06 had one isolation chain; Docker still deletes it on start.
    'DOCKER-ISOLATION',
  ],
};

/**
 * The generation of Docker that wrote one family's tables. Docker 29 has DOCKER-INTERNAL
 * (jumped to from DOCKER-FORWARD) and deletes the isolation chains; Docker 28 has
 * DOCKER-FORWARD and jumps from it to DOCKER-ISOLATION-STAGE-1 (28.0.1 to 28.1.x, v28.1, tell
 * themselves from 28.2+ by their per-port raw direct-access DROPs; without one they read as v28,
 * whose rules for such a host are the same); older Docker has neither and jumps from FORWARD to
 * the isolation chain; Docker 28.0.0 alone has neither DOCKER-FORWARD nor
 * per-bridge jumps but FORWARD rules matching `-m set --match-set docker-ext-bridges-v4|6 dst`;
 * older Docker jumps from FORWARD to the isolation chain. A chain deleted by hand does not hide the
 * generation while a jump to it remains. Tables without any of Docker's chains or jumps are
 * DEFAULT_LAYOUT's.
 */
export function layoutOfTables(t: FamilyTables): Exclude<DockerLayout, 'docker-nft'> {
  const forward = rulesOf(t, 'filter', 'FORWARD');
  const dockerForward = rulesOf(t, 'filter', DOCKER_FORWARD_CHAIN);
  if (hasChain(t, 'filter', DOCKER_INTERNAL_CHAIN) || dockerForward.includes(`-j ${DOCKER_INTERNAL_CHAIN}`)) return 'v29';
  if (hasChain(t, 'filter', DOCKER_FORWARD_CHAIN) || forward.includes(`-j ${DOCKER_FORWARD_CHAIN}`)) {
    if (!hasChain(t, 'filter', ISOLATION_STAGE_1) && !dockerForward.includes(`-j ${ISOLATION_STAGE_1}`)) return 'v29';
    // Docker 28.0.1 to 28.1.x drop direct access per published port, 28.2+ per endpoint.
    return rulesOf(t, 'raw', 'PREROUTING').some(isPortDirectAccessDrop) ? 'v28.1' : 'v28';
  }
  // Docker 28.0.0 jumps from FORWARD to DOCKER, and accepts replies, for the bridges in its ipset.
  if (forward.some((r) => r.startsWith('-m set --match-set docker-ext-bridges-v'))) return 'v28.0';
  const docker =
    hasChain(t, 'nat', DOCKER_CHAIN) ||
    hasChain(t, 'filter', DOCKER_CHAIN) ||
    hasChain(t, 'filter', ISOLATION_STAGE_1) ||
    forward.includes(`-j ${ISOLATION_STAGE_1}`);
  const layout = docker ? 'classic' : DEFAULT_LAYOUT;
  return layout === 'docker-nft' ? 'v29' : layout;
}

/** raw PREROUTING `-d CIP ! -i BR -p P -m P --dport CPORT -j DROP` (not the loopback DROP's `! -i lo`). */
export function isPortDirectAccessDrop(rule: string): boolean {
  const m = /^-d \S+ ! -i (\S+) -p (tcp|udp|sctp) -m \2 --dport \d+ -j DROP$/.exec(rule);
  return m !== null && m[1] !== 'lo';
}

export function isDockerOwnedChain(table: string, chain: string): boolean {
  return DOCKER_OWNED_CHAINS[table]?.includes(chain) ?? false;
}

/** Bridges Docker names itself: docker0 and br-<12 hex digits of the network id>. */
const DOCKER_BRIDGE_NAME = /^(docker\d+|br-[0-9a-f]{12})$/;

const ADDR = '[0-9a-fA-F.:]+';
const PROTO = '(tcp|udp|sctp)';

function bridgeOk(name: string, bridges?: ReadonlySet<string>): boolean {
  return DOCKER_BRIDGE_NAME.test(name) || (bridges?.has(name) ?? false);
}

type Shape = { re: RegExp; bridgeGroups: number[] };

const IF = '(\\S+)';

const SHAPES: Record<string, Shape[]> = {
  'nat/PREROUTING': [{ re: /^-m addrtype --dst-type LOCAL -j DOCKER$/, bridgeGroups: [] }],
  'nat/OUTPUT': [{ re: /^(! -d (127\.0\.0\.0\/8|::1\/128) )?-m addrtype --dst-type LOCAL -j DOCKER$/, bridgeGroups: [] }],
  'nat/POSTROUTING': [
    { re: new RegExp(`^-s ${ADDR}/\\d+ ! -o ${IF} -j (MASQUERADE|SNAT --to-source ${ADDR})$`), bridgeGroups: [1] },
    { re: new RegExp(`^-o ${IF} -m addrtype --src-type LOCAL -j (MASQUERADE|SNAT --to-source ${ADDR})$`), bridgeGroups: [1] },
    // The per-port hairpin rule: the same container address as source and destination.
    { re: new RegExp(`^-s (${ADDR})/(32|128) -d \\1/\\2 -p ${PROTO} -m \\3 --dport \\d+ -j MASQUERADE$`), bridgeGroups: [] },
  ],
  'filter/FORWARD': [
    { re: /^-j (DOCKER-USER|DOCKER-FORWARD|DOCKER-ISOLATION-STAGE-1|DOCKER-ISOLATION)$/, bridgeGroups: [] },
    { re: new RegExp(`^-o ${IF} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT$`), bridgeGroups: [1] },
    { re: new RegExp(`^-o ${IF} -j DOCKER$`), bridgeGroups: [1] },
    // Docker 28.0.0's jumps for the bridges in its ipset, and a network's outgoing ACCEPT.
    { re: /^-m set --match-set docker-ext-bridges-v[46] dst (-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT|-j DOCKER)$/, bridgeGroups: [] },
    { re: new RegExp(`^-i ${IF} -j ACCEPT$`), bridgeGroups: [1] },
    { re: new RegExp(`^-i ${IF} ! -o \\1 -j ACCEPT$`), bridgeGroups: [1] },
    { re: new RegExp(`^-i ${IF} -o \\1 -j (ACCEPT|DROP)$`), bridgeGroups: [1] },
  ],
  'mangle/POSTROUTING': [{ re: /^-p sctp -m sctp --sport \d+ -j CHECKSUM --checksum-fill$/, bridgeGroups: [] }],
  'raw/PREROUTING': [
    { re: new RegExp(`^-d ${ADDR}/(32|128) ! -i ${IF} -j DROP$`), bridgeGroups: [2] },
    // A trusted host interface's ACCEPT (Docker 28+): the interface must be one the state trusts.
    { re: new RegExp(`^-d ${ADDR}/(32|128) -i ${IF} -j ACCEPT$`), bridgeGroups: [2] },
    { re: new RegExp(`^-d 127\\.${ADDR}/32 ! -i lo -p ${PROTO} -m \\1 --dport \\d+ -j DROP$`), bridgeGroups: [] },
    // Docker 28.0.0 to 28.1.x's direct-access DROP is per published container port.
    { re: new RegExp(`^-d ${ADDR}/(32|128) ! -i ${IF} -p ${PROTO} -m \\3 --dport \\d+ -j DROP$`), bridgeGroups: [2] },
  ],
};

/**
 * True when `args` (iptables-save text after `-A CHAIN `) is a rule Docker writes in that
 * table and chain: any rule of a Docker-owned chain, or a rule of one of Docker's shapes in a
 * built-in chain. Interface names must look like Docker's (docker0, br-<12 hex>) or be in
 * `bridges` (the state's bridges, for networks with a chosen bridge name), so a foreign
 * `-s 10.0.0.0/8 ! -o eth0 -j MASQUERADE` is never taken for Docker's.
 */
export function isDockerRule(
  family: Family,
  table: string,
  chain: string,
  args: string,
  bridges?: Iterable<string>,
): boolean {
  if (isDockerOwnedChain(table, chain)) return true;
  const shapes = SHAPES[`${table}/${chain}`];
  if (!shapes) return false;
  // Callers checking many rules pass a Set; copying it per rule made doctor quadratic.
  const known = bridges === undefined ? undefined : bridges instanceof Set ? (bridges as ReadonlySet<string>) : new Set(bridges);
  const text = args.trim();
  for (const { re, bridgeGroups } of shapes) {
    const m = re.exec(text);
    if (!m) continue;
    if (family === 'ipv6' && /127\.0\.0\.0\/8/.test(text)) continue;
    if (family === 'ipv4' && /::1\/128/.test(text)) continue;
    if (bridgeGroups.every((g) => bridgeOk(m[g]!, known))) return true;
  }
  return false;
}

/**
 * The interfaces of raw PREROUTING's `-d EP -i IF -j ACCEPT` rules for an address that one of
 * Docker's direct-access DROPs protects (`-d EP ! -i BRIDGE -j DROP`, BRIDGE Docker's or in
 * `bridges`): a network's trusted host interfaces (Docker 28+), also those a state no longer
 * lists, so that their rules are known as Docker's and can go.
 */
export function trustedInterfacesIn(raw: readonly string[], bridges: ReadonlySet<string>): string[] {
  const protectedIps = new Set<string>();
  const accepts: Array<[string, string]> = [];
  for (const rule of raw) {
    const drop = /^-d (\S+) ! -i (\S+) -j DROP$/.exec(rule);
    if (drop && bridgeOk(drop[2]!, bridges)) protectedIps.add(drop[1]!);
    const accept = /^-d (\S+) -i (\S+) -j ACCEPT$/.exec(rule);
    if (accept) accepts.push([accept[1]!, accept[2]!]);
  }
  return [...new Set(accepts.filter(([ip]) => protectedIps.has(ip)).map(([, i]) => i))];
}
