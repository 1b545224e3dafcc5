// The kernel floor: how long the kernel itself spends on a commit (or a read), from the
// syscall times `strace -T` records for a child process doing it. Legacy: the setsockopt
// calls IPT_SO_SET_REPLACE (64) and IPT_SO_SET_ADD_COUNTERS (65); nft: the sendto of the
// batch (the kernel handles the whole batch inside it) and every send/receive after it
// (the marker request and the acks). Reads: getsockopt (legacy) or all netlink traffic (nft).

export interface Syscall {
  pid: number;
  name: string;
  args: string[];
  ret: number;
  seconds: number;
}

const LINE = /^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?(?:0x[0-9a-f]+|\d+))(?:\s+\w+\s+\([^)]*\))?\s+<([\d.]+)>$/;
const UNFINISHED = /^(\d+)\s+(\w+)\((.*?)\s*<unfinished \.\.\.>$/;
const RESUMED = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)\)\s+=\s+(-?(?:0x[0-9a-f]+|\d+))(?:\s+\w+\s+\([^)]*\))?\s+<([\d.]+)>$/;

/** Parses `strace -f -T -e raw=all` output (one line per call; unfinished/resumed joined). */
export function parseStrace(text: string): Syscall[] {
  const out: Syscall[] = [];
  const pending = new Map<number, { name: string; args: string }>();
  for (const line of text.split('\n')) {
    let m = LINE.exec(line);
    if (m) {
      out.push({ pid: Number(m[1]), name: m[2]!, args: m[3]!.split(/,\s*/), ret: Number(m[4]), seconds: Number(m[5]) });
      continue;
    }
    m = UNFINISHED.exec(line);
    if (m) {
      pending.set(Number(m[1]), { name: m[2]!, args: m[3]! });
      continue;
    }
    m = RESUMED.exec(line);
    if (m) {
      const pid = Number(m[1]);
      const p = pending.get(pid);
      pending.delete(pid);
      const args = `${p?.args ?? ''}${m[3]!}`.replace(/^,\s*/, '');
      out.push({ pid, name: m[2]!, args: args.split(/,\s*/), ret: Number(m[4]), seconds: Number(m[5]) });
    }
  }
  return out;
}

export interface Floor {
  ms: number;
  calls: number;
  /** Bytes handed to the kernel by the counted send calls. */
  bytes: number;
}

/** Kernel time of the commit in a trace of one process that committed once. */
export function commitFloor(calls: readonly Syscall[], backend: 'legacy' | 'nft'): Floor {
  if (backend === 'legacy') {
    // level SOL_IP (0) or SOL_IPV6 (0x29); optname 64 = SET_REPLACE, 65 = SET_ADD_COUNTERS.
    const c = calls.filter(
      (s) => s.name === 'setsockopt' && (s.args[1] === '0' || s.args[1] === '0x29') && (s.args[2] === '0x40' || s.args[2] === '0x41'),
    );
    if (!c.some((s) => s.args[2] === '0x40')) throw new Error('no IPT_SO_SET_REPLACE in the trace');
    return { ms: sum(c) * 1000, calls: c.length, bytes: c.reduce((n, s) => n + Number(s.args[4]), 0) };
  }
  // The batch: the largest sendto; then everything that process sent/received after it.
  let at = -1;
  for (let i = 0; i < calls.length; i++) {
    const s = calls[i]!;
    if ((s.name === 'sendto' || s.name === 'sendmsg') && (at < 0 || s.ret > calls[at]!.ret)) at = i;
  }
  if (at < 0) throw new Error('no netlink batch in the trace');
  const pid = calls[at]!.pid;
  const c = calls.slice(at).filter((s) => s.pid === pid && ['sendto', 'sendmsg', 'recvmsg'].includes(s.name));
  return { ms: sum(c) * 1000, calls: c.length, bytes: calls[at]!.ret };
}

/** Kernel time of a read: getsockopt (legacy) or every netlink send/receive (nft). */
export function readFloor(calls: readonly Syscall[], backend: 'legacy' | 'nft'): Floor {
  const c =
    backend === 'legacy'
      ? calls.filter((s) => s.name === 'getsockopt' && (s.args[1] === '0' || s.args[1] === '0x29'))
      : calls.filter((s) => ['sendto', 'sendmsg', 'recvmsg'].includes(s.name));
  if (c.length === 0) throw new Error('no read calls in the trace');
  return { ms: sum(c) * 1000, calls: c.length, bytes: 0 };
}

function sum(c: readonly Syscall[]): number {
  return c.reduce((n, s) => n + s.seconds, 0);
}
