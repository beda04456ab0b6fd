/**
 * Every error nessie-cluster throws or returns. The `code` string is the contract:
 * match on it, not on the message, which may be improved between releases.
 *
 * Context travels in fields (node, offset, option...). A cookie never does, and
 * neither do raw handshake bytes.
 */

/** Stable error codes, one per subclass (plus the finer handshake and dist codes). */
export const ErrorCode = {
  TERM_DECODE: 'ERR_TERM_DECODE',
  TERM_ENCODE: 'ERR_TERM_ENCODE',
  EPMD: 'ERR_EPMD',
  HANDSHAKE: 'ERR_HANDSHAKE',
  DIST_PROTOCOL: 'ERR_DIST_PROTOCOL',
  CONNECTION_CLOSED: 'ERR_CONNECTION_CLOSED',
  TIMEOUT: 'ERR_TIMEOUT',
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  NOT_RUNNING: 'ERR_NOT_RUNNING',
  CALL: 'ERR_CALL',
  RPC: 'ERR_RPC',
  NOT_REGISTERED: 'ERR_NOT_REGISTERED',
  /** DecodeError: a message holds more terms than the connection's maxTermsPerMessage. */
  TERM_DECODE_BUDGET: 'ERR_TERM_DECODE_BUDGET',
  /** ConnectionClosedError: the peer stopped reading and our send queue went over maxQueuedBytes. */
  SEND_QUEUE_OVERFLOW: 'ERR_SEND_QUEUE_OVERFLOW',
  /** DistProtocolError: incomplete fragmented messages went over the connection's maxFragmentBytes. */
  FRAGMENT_BUDGET: 'ERR_FRAGMENT_BUDGET',
  /** DistProtocolError: a fragmented message got no fragment for fragmentTimeoutMs. */
  FRAGMENT_TIMEOUT: 'ERR_FRAGMENT_TIMEOUT',
  /** ConnectionClosedError: the peer sent nothing, not even a tick, for a whole net_ticktime. */
  NET_TICK_TIMEOUT: 'ERR_NET_TICK_TIMEOUT',
  /** EncodeError: encodeInto's buffer is too small for the term; `needed` says how many bytes it takes. */
  TERM_ENCODE_BUFFER_TOO_SMALL: 'ERR_TERM_ENCODE_BUFFER_TOO_SMALL',
  /** ConnectionClosedError: the TLS handshake under a distribution connection failed (certificate refused, plain TCP peer). */
  TLS_HANDSHAKE: 'ERR_TLS_HANDSHAKE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** ErrorOptions plus a finer `code` where a subclass has more than one (ERR_TERM_DECODE_BUDGET...). */
export interface NessieErrorOptions extends ErrorOptions {
  code?: ErrorCode;
}

/** Root of every error this library produces. */
export class NessieError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bytes that are not a valid External Term Format encoding. `offset` is where reading stopped. */
export class DecodeError extends NessieError {
  readonly offset: number;
  readonly tag: number | undefined;
  constructor(message: string, offset: number, tag?: number, options?: NessieErrorOptions) {
    super(options?.code ?? ErrorCode.TERM_DECODE, `${message} (at byte ${offset}${tag === undefined ? '' : `, tag ${tag}`})`, options);
    this.offset = offset;
    this.tag = tag;
  }
}

/**
 * A JavaScript value that has no Erlang term form (a function, NaN, a symbol...).
 * `path` says where it is in the value, from the root: `payload.items[3].b` (list or
 * tuple index `[3]`, object or map key `.b`); undefined when no part is to blame.
 * With code ERR_TERM_ENCODE_BUFFER_TOO_SMALL (encodeInto), `needed` is the encoding's size.
 */
export class EncodeError extends NessieError {
  readonly path: string | undefined;
  readonly needed: number | undefined;
  constructor(message: string, options?: NessieErrorOptions & { path?: string; needed?: number }) {
    super(options?.code ?? ErrorCode.TERM_ENCODE, options?.path === undefined ? message : `${options.path}: ${message}`, options);
    this.path = options?.path;
    this.needed = options?.needed;
  }
}

/** An EPMD request failed or EPMD answered something unexpected. */
export class EpmdError extends NessieError {
  readonly host: string | undefined;
  readonly port: number | undefined;
  constructor(message: string, context: { host?: string; port?: number } = {}, options?: ErrorOptions) {
    super(ErrorCode.EPMD, message, options);
    this.host = context.host;
    this.port = context.port;
  }
}

/** The distribution handshake with `peer` failed at `stage` (e.g. 'send_name', 'challenge_reply'). */
export class HandshakeError extends NessieError {
  readonly peer: string | undefined;
  readonly stage: string;
  constructor(message: string, stage: string, peer?: string, options?: ErrorOptions) {
    super(ErrorCode.HANDSHAKE, message, options);
    this.stage = stage;
    this.peer = peer;
  }
}

/** A connected peer sent something the distribution protocol does not allow (or more than its limits). */
export class DistProtocolError extends NessieError {
  readonly peer: string | undefined;
  constructor(message: string, peer?: string, options?: NessieErrorOptions) {
    super(options?.code ?? ErrorCode.DIST_PROTOCOL, message, options);
    this.peer = peer;
  }
}

/** The connection to `peer` closed before the operation could finish. */
export class ConnectionClosedError extends NessieError {
  readonly peer: string | undefined;
  constructor(message: string, peer?: string, options?: NessieErrorOptions) {
    super(options?.code ?? ErrorCode.CONNECTION_CLOSED, message, options);
    this.peer = peer;
  }
}

/** An operation did not finish within `timeoutMs`. */
export class TimeoutError extends NessieError {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number, options?: ErrorOptions) {
    super(ErrorCode.TIMEOUT, message, options);
    this.timeoutMs = timeoutMs;
  }
}

/** An option was refused at start: `option` names it, `expected` says what would be accepted. */
export class InvalidOptionError extends NessieError {
  readonly option: string;
  readonly expected: string;
  constructor(option: string, expected: string, got: unknown) {
    super(ErrorCode.INVALID_OPTION, `invalid option ${option}: expected ${expected}, got ${describe(got)}`);
    this.option = option;
    this.expected = expected;
  }
}

/**
 * A call (gen_server:call protocol) failed on the other side: the callee exited,
 * did not exist, or its node went down. `reason` is the Erlang exit reason as a
 * term (`noproc`, `noconnection`, `{badarg, ...}`), so nothing is lost.
 */
export class CallError extends NessieError {
  readonly reason: unknown;
  constructor(message: string, reason: unknown) {
    super(ErrorCode.CALL, message);
    this.reason = reason;
  }
}

/**
 * An rpc into a BEAM node answered `{badrpc, Reason}`: `reason` is that Reason as a
 * term (`nodedown`, `{'EXIT', {undef, Stack}}`, ...).
 */
export class RpcError extends NessieError {
  readonly reason: unknown;
  constructor(message: string, reason: unknown) {
    super(ErrorCode.RPC, message);
    this.reason = reason;
  }
}

/** The node, cluster or process the call was made on has been stopped. */
export class NotRunningError extends NessieError {
  constructor(message: string) {
    super(ErrorCode.NOT_RUNNING, message);
  }
}

/**
 * A send to a registered name that no process holds: `badarg` on BEAM. `global` is
 * true for a name in OTP's `global` (`global:send/2` exits with badarg there too).
 */
export class NotRegisteredError extends NessieError {
  readonly registeredName: string;
  readonly global: boolean;
  constructor(name: string, options: { global?: boolean } = {}) {
    const global = options.global ?? false;
    super(ErrorCode.NOT_REGISTERED, `no process is registered as ${global ? `{global, ${name}}` : name} (badarg)`);
    this.registeredName = name;
    this.global = global;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
