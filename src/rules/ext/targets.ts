// Every target module iptkit understands (DESIGN.md: extensions understood). Standard
// verdicts, jumps and goto are not extensions (model.ts Target kinds 'verdict' / 'jump').
// Order matters only among modules of one kernel name: the first whose family and revisions
// fit prints a target read from the kernel.
import type { TargetExtension } from './types.js';
import { CHECKSUM } from './checksum.js';
import { CT, NOTRACK } from './ct.js';
import { DNAT } from './dnat.js';
import { LOG } from './log.js';
import { MARK } from './mark-target.js';
import { MASQUERADE } from './masquerade.js';
import { REDIRECT } from './redirect.js';
import { REJECT } from './reject.js';
import { SNAT } from './snat.js';

export const TARGETS: readonly TargetExtension[] = [
  DNAT,
  SNAT,
  MASQUERADE,
  REDIRECT,
  REJECT,
  LOG,
  MARK,
  CHECKSUM,
  CT,
  NOTRACK,
];
