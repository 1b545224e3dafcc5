// Every match module iptkit understands (DESIGN.md: extensions understood). Order matters
// only where modules share a kernel name: `state` and `conntrack` both print conntrack
// rev 3 and tell theirs apart with accepts().
import { addrtype } from './addrtype.js';
import { comment } from './comment.js';
import { conntrack, state, stateV0 } from './conntrack.js';
import { icmp, icmp6 } from './icmp.js';
import { iprange } from './iprange.js';
import { limit } from './limit.js';
import { mark } from './mark.js';
import { multiport } from './multiport.js';
import { tcp } from './tcp.js';
import type { MatchExtension } from './types.js';
import { udp } from './udp.js';

export const MATCHES: readonly MatchExtension[] = [
  tcp,
  udp,
  icmp,
  icmp6,
  addrtype,
  conntrack,
  state,
  stateV0,
  comment,
  multiport,
  mark,
  iprange,
  limit,
];
