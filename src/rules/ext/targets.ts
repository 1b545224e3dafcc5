// Every target module iptkit understands (DESIGN.md: extensions understood).
import type { TargetExtension } from './types.js';

export const TARGETS: readonly TargetExtension[] = [];
