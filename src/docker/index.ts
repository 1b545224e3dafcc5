// The Docker model's public surface: state, desired rules per layout, recognition of Docker's
// rules, inference from iptables-save texts, and the doctor.

export type { DockerLayout, DockerProto, GatewayMode, DockerNetwork, DockerPort, DockerEndpoint, DockerState } from './state.js';
export { validateState, isIptablerLayout, networkSubnets, subnetFor, portFamily, parsePortSpec } from './state.js';
export type { DockerChainRules, DockerBuiltinRules, DockerFamilyRuleset, DockerRuleset, PortBinding } from './ruleset.js';
export {
  DOCKER_CHAIN,
  DOCKER_USER_CHAIN,
  ISOLATION_STAGE_1,
  ISOLATION_STAGE_2,
  DOCKER_FORWARD_CHAIN,
  DOCKER_BRIDGE_CHAIN,
  DOCKER_CT_CHAIN,
  DOCKER_INTERNAL_CHAIN,
  builtinChainRules,
  expandPorts,
  toSaveText,
} from './ruleset.js';
export { desiredRules } from './desired.js';
export { isDockerRule, isDockerOwnedChain, DOCKER_OWNED_CHAINS } from './recognise.js';
export type { FamilySaves } from './saves.js';
export { inferState, inferTables, type InferHints, type NetworkHint, type InferOptions, type InferredHost } from './infer.js';
export { doctor, doctorTables, summary, type Finding, type FindingCode, type Severity, type DoctorOptions } from './doctor.js';
export { DockerHost, applyIntents } from './ops.js';
export type { DockerHostOptions, DockerCommitResult, DockerPublishResult, DockerRepairResult, DockerTablePlan, DockerUnpublishPort, DockerChainText, DockerFamilyIntentRules } from './ops.js';
export type { NftablerPreview } from './nftabler-host.js';
export { readLinks, bridgeNames, type Link } from './links.js';
