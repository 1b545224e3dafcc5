// iptkit's public API.
export * from './rules/model.js';
export { NetfilterError, ConflictError, ParseError, type NetfilterErrorInit, type ParseErrorInit } from './errors.js';
export { parseRule, formatRule, type RuleSpec, type MatchSpec, type TargetSpec, type OptionValue, type RuleTextOptions } from './rules/spec.js';
export { Netfilter, type OpenOptions, type CommitOptions, type CommitResult, type RestoreOptions, type SaveOptions } from './netfilter.js';
export type { TableIntent, ChainIntent, Owns, OwnedBlock, TablePlan, CommitChain, CommitEntry, HeldChain, HeldChains } from './plan/plan.js';
export type { BackendKind } from './backend/backend.js';
export type { RecoverResult } from './native-binding.js';
export { DockerHost, validateState, desiredRules, inferState, doctor, summary, readLinks, bridgeNames } from './docker/index.js';
export type { DockerHostOptions, DockerCommitResult, DockerPublishResult, DockerRepairResult, DockerTablePlan, DockerUnpublishPort, DockerState, DockerNetwork, DockerPort, Finding, Link } from './docker/index.js';
export type { DockerLayout, DockerProto, DockerEndpoint, DockerRuleset, DockerFamilyRuleset, DockerChainRules, DockerBuiltinRules, PortBinding, FamilySaves } from './docker/index.js';
export type { FindingCode, Severity, DoctorOptions, InferHints, NetworkHint, GatewayMode, NftablerPreview } from './docker/index.js';
