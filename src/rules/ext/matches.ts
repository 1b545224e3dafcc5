// Every match module iptkit understands (DESIGN.md: extensions understood).
import type { MatchExtension } from './types.js';

export const MATCHES: readonly MatchExtension[] = [];
