// iptkit's public API.
export * from './rules/model.js';
export { NetfilterError, ConflictError, ParseError } from './errors.js';
export { parseRule, formatRule, type RuleSpec, type MatchSpec, type TargetSpec, type OptionValue, type RuleTextOptions } from './rules/spec.js';
export { Netfilter, type OpenOptions, type CommitOptions, type CommitResult, type RestoreOptions, type SaveOptions } from './netfilter.js';
export type { TableIntent, ChainIntent, OwnedBlock, TablePlan } from './plan/plan.js';
export { DockerHost, validateState, desiredRules, inferState, doctor, summary, readLinks, bridgeNames } from './docker/index.js';
export type { DockerHostOptions, DockerCommitResult, DockerPublishResult, DockerRepairResult, DockerTablePlan, DockerUnpublishPort, DockerState, DockerNetwork, DockerPort, Finding, Link } from './docker/index.js';
