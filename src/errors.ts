// The error types iptkit throws. Kernel failures are NetfilterError (constructed from the
// errno the native side captured); mistakes in input are ParseError (text) or
// TypeError/RangeError (API values), each naming the field, line or token.

/** What a NetfilterError is made from (the fields it carries). */
export interface NetfilterErrorInit {
  code: string;
  errno: number;
  op: string;
  table?: string;
  chain?: string;
  line?: number;
  backend?: 'legacy' | 'nft';
}

/**
 * The kernel (or the xtables lock, or a namespace) refused an operation. The message is one
 * line naming what failed and, for a missing privilege, what is needed.
 */
export class NetfilterError extends Error {
  /** The errno's name: 'EPERM', 'ENOENT', 'EINVAL', … */
  readonly code: string;
  /** The errno's number. */
  readonly errno: number;
  /** The operation that failed ('commit', 'setns', 'lock', …). */
  readonly op: string;
  /** The table it failed on, when one. */
  readonly table?: string;
  /** The chain it failed on, when one. */
  readonly chain?: string;
  /** The input line (restore) the kernel refused, when known. */
  readonly line?: number;
  /** The back end it happened on. */
  readonly backend?: 'legacy' | 'nft';

  constructor(message: string, init: NetfilterErrorInit) {
    super(message);
    this.name = 'NetfilterError';
    this.code = init.code;
    this.errno = init.errno;
    this.op = init.op;
    if (init.table !== undefined) this.table = init.table;
    if (init.chain !== undefined) this.chain = init.chain;
    if (init.line !== undefined) this.line = init.line;
    if (init.backend !== undefined) this.backend = init.backend;
  }
}

/** The ruleset changed under an nft commit more times than the retry budget allows. */
export class ConflictError extends NetfilterError {
  constructor(message: string, init: Omit<NetfilterErrorInit, 'code' | 'errno'>) {
    super(message, { ...init, code: 'ERESTART', errno: 85 });
    this.name = 'ConflictError';
  }
}

/** What a ParseError is made from. */
export interface ParseErrorInit {
  /** 1-based line in the input, when parsing a file. */
  line?: number;
  /** The offending token, as written. */
  token?: string;
  /** What the parser expected instead. */
  expected?: string;
}

/** Bad iptables-save/-restore syntax. Nothing reaches the kernel when this is thrown. */
export class ParseError extends Error {
  /** 1-based line in the input, when parsing a file. */
  readonly line?: number;
  /** The offending token, as written. */
  readonly token?: string;
  /** What the parser expected instead. */
  readonly expected?: string;

  constructor(message: string, init: ParseErrorInit = {}) {
    const where = init.line !== undefined ? `line ${init.line}: ` : '';
    super(where + message);
    this.name = 'ParseError';
    if (init.line !== undefined) this.line = init.line;
    if (init.token !== undefined) this.token = init.token;
    if (init.expected !== undefined) this.expected = init.expected;
  }
}

/**
 * The native addon cannot be loaded (not built, or a system library it links is missing); the
 * message says what to install or run. `code` is 'ERR_IPTKIT_ADDON'.
 */
export class AddonLoadError extends Error {
  readonly code = 'ERR_IPTKIT_ADDON';
  constructor(message: string) {
    super(message);
    this.name = 'AddonLoadError';
  }
}
