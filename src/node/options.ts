/**
 * Node options: what a user may pass, their defaults, and the checks that refuse
 * bad ones at start with a message that says what to fix.
 */
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors.js';
import { consoleLogger, toLogger, type Logger, type LoggerOption } from '../logger.js';
import { checkBinaries, type Binaries } from './binaries.js';
import { resolveCookie } from './cookie.js';
import { parseNodeName, type NodeName } from './node-name.js';
import { resolveTlsOptions, type NodeTlsOptions } from './tls-options.js';
import type { TlsSettings } from '../distribution/transport.js';

/**
 * Options of `Node.start`. Every optional field also takes `undefined`, meaning "not
 * given" (its default), so that `{ cookie: process.env.COOKIE }` type-checks under
 * `exactOptionalPropertyTypes`.
 */
export interface NodeOptions {
  /** `basename@host`; the host is a hostname or an IP address (IPv6 bare: `app@fdaa:0:1::2`). */
  name: string;
  /** The shared secret. Default: NESSIE_COOKIE, RELEASE_COOKIE, else ~/.erlang.cookie (created when absent). */
  cookie?: string | undefined;
  /**
   * How peers are found. Default `true`: register with the EPMD on this node's host at
   * port 4369 (or ERL_EPMD_PORT), starting an embedded EPMD when none listens, as erl does.
   * `{ port }` picks the EPMD port. `false`: EPMD-less, like `-start_epmd false -erl_epmd_port P`:
   * this node listens on `port` and assumes every peer listens on that same port.
   */
  epmd?: boolean | { port?: number | undefined } | undefined;
  /** The distribution port. Default: any free port; required (and shared by all peers) when `epmd` is false. */
  port?: number | undefined;
  /** A hidden node: not in other nodes' `nodes()`, and left out of `global`. Default false. */
  hidden?: boolean | undefined;
  /** net_ticktime in seconds. Default 60. */
  ticktime?: number | undefined;
  /** net_setuptime: how long a connect and handshake may take, in ms. Default 7000. */
  connectTimeout?: number | undefined;
  /** The address to listen on. Default: the host part of the name when it is an IP address, else all addresses. */
  listenAddress?: string | undefined;
  /** Largest message accepted from a peer, in bytes. Default 256 MiB. */
  maxMessageSize?: number | undefined;
  /** Queued bytes above which `send` reports busy, per connection. Default 1 MiB (OTP's dist_buf_busy_limit). */
  busyLimit?: number | undefined;
  /**
   * Hard cap on the bytes queued for one peer: a connection whose peer stops reading is
   * closed (ERR_SEND_QUEUE_OVERFLOW) once its queue passes it. Default the larger of
   * 64 MiB and 4 * busyLimit.
   */
  maxQueuedBytes?: number | undefined;
  /**
   * Decode budget: most terms one incoming message may hold (each costs up to ~150
   * bytes of heap to decode). Over it the connection closes (ERR_TERM_DECODE_BUDGET).
   * Default 2^20.
   */
  maxTermsPerMessage?: number | undefined;
  /** Most bytes all incomplete fragmented messages of one connection may hold together. Default maxMessageSize. */
  maxFragmentBytes?: number | undefined;
  /** A fragmented message that gets no fragment for this long (ms) closes its connection. Default the ticktime. */
  fragmentTimeout?: number | undefined;
  /**
   * Busy waiting, in µs, like erl's `+sbwt`: after each write to a peer the event loop
   * keeps polling for this long instead of sleeping, so an answer that comes back in
   * the window is read at once. On virtual machines, where waking a sleeping thread
   * goes through the hypervisor, this cuts round trips and sequential calls to a
   * fraction (see README, Performance); it costs up to that much CPU after each burst
   * of writes. Default 0 (off); 0 to 10000.
   */
  busyWait?: number | undefined;
  /** Where log lines go: a Logger object (pino, console...) or a `(level, message)` function. Default: warnings and errors on the console. */
  logger?: LoggerOption | undefined;
  /**
   * Distribution over TLS, like erl's `-proto_dist inet_tls`: every connection, both ways,
   * is TLS (mutual, against `ca`, by default) and a plain TCP peer is refused. EPMD stays
   * plain TCP. Default: plain TCP.
   */
  tls?: NodeTlsOptions | undefined;
  /**
   * How binaries in messages from other nodes arrive at this node's processes (those
   * of `node.spawn` and `node.serve`, unless they choose otherwise), in `node.call`
   * replies, and in the arguments of exposed functions called by rpc or erpc:
   *
   * - `'buffer'` (the default): every binary is a Buffer. Lossless and typed.
   * - `'utf8-keys'`: a map key that is valid UTF-8 is a string, so an Elixir map with
   *   binary keys (`%{"id" => 1}`, Phoenix payloads, JSON) reads `m.get('id')`; values
   *   stay Buffers. Repeated keys cost no allocation, so it is also the fastest.
   * - `'utf8'`: every binary that is valid UTF-8 is a string.
   *
   * Binaries that are not valid UTF-8 stay Buffers, and a string encodes back to the
   * same bytes, so nothing is lost but the JavaScript type (`<<"a">>` and `"a"` are the
   * same Erlang term). The node's own services (rex, net_kernel, global, pg scopes) keep
   * Buffers whatever this says, and so do exit reasons (DOWN and `'EXIT'` messages);
   * a message from a process on this node arrives as it was sent, not decoded at all.
   */
  binaries?: Binaries | undefined;
}

export interface ResolvedNodeOptions {
  name: NodeName;
  cookie: string;
  epmd: { port: number } | false;
  port: number;
  hidden: boolean;
  ticktimeMs: number;
  connectTimeoutMs: number;
  listenAddress: string;
  maxMessageSize: number;
  busyLimit: number;
  maxQueuedBytes: number;
  maxTermsPerMessage: number;
  maxFragmentBytes: number;
  fragmentTimeoutMs: number;
  busyWaitUs: number;
  logger: Logger;
  tls: TlsSettings | undefined;
  binaries: Binaries;
}

export const DEFAULT_EPMD_PORT = 4369;
/** 10 ms: a longer window would be a CPU spent polling rather than a wait for an answer. */
const MAX_BUSY_WAIT_US = 10_000;

export function resolveNodeOptions(o: NodeOptions, env: NodeJS.ProcessEnv = process.env): ResolvedNodeOptions {
  if (o === null || typeof o !== 'object') throw new InvalidOptionError('options', 'an object with at least { name }', o);
  const name = parseNodeName(o.name);
  const envEpmdPort = env.ERL_EPMD_PORT === undefined ? undefined : Number(env.ERL_EPMD_PORT);
  let epmd: { port: number } | false;
  if (o.epmd === false) {
    epmd = false;
    if (o.port === undefined) throw new InvalidOptionError('port', 'a port number when epmd is false (every peer listens on it)', undefined);
  } else if (o.epmd === undefined || o.epmd === true) {
    epmd = { port: checkPort('ERL_EPMD_PORT', envEpmdPort ?? DEFAULT_EPMD_PORT, false) };
  } else if (typeof o.epmd === 'object') {
    epmd = { port: checkPort('epmd.port', o.epmd.port ?? envEpmdPort ?? DEFAULT_EPMD_PORT, false) };
  } else {
    throw new InvalidOptionError('epmd', 'true, false or { port }', o.epmd);
  }
  const port = o.port === undefined ? 0 : checkPort('port', o.port, epmd !== false);
  const ticktime = o.ticktime ?? 60;
  if (typeof ticktime !== 'number' || !(ticktime >= 1) || !Number.isFinite(ticktime)) {
    throw new InvalidOptionError('ticktime', 'a number of seconds, at least 1', o.ticktime);
  }
  const connectTimeoutMs = positive('connectTimeout', o.connectTimeout ?? 7000);
  const listenAddress = o.listenAddress ?? (name.ipVersion === 6 ? name.host : name.ipVersion === 4 ? name.host : '::');
  if (isIP(listenAddress) === 0) throw new InvalidOptionError('listenAddress', 'an IPv4 or IPv6 address', listenAddress);
  const maxMessageSize = positive('maxMessageSize', o.maxMessageSize ?? 256 * 1024 * 1024);
  const busyLimit = positive('busyLimit', o.busyLimit ?? 1024 * 1024);
  if (o.hidden !== undefined && typeof o.hidden !== 'boolean') throw new InvalidOptionError('hidden', 'a boolean', o.hidden);
  return {
    name,
    cookie: resolveCookie(o.cookie, env),
    epmd,
    port,
    hidden: o.hidden ?? false,
    ticktimeMs: ticktime * 1000,
    connectTimeoutMs,
    listenAddress,
    maxMessageSize,
    busyLimit,
    maxQueuedBytes: positive('maxQueuedBytes', o.maxQueuedBytes ?? Math.max(64 * 1024 * 1024, 4 * busyLimit)),
    maxTermsPerMessage: positive('maxTermsPerMessage', o.maxTermsPerMessage ?? 1 << 20),
    maxFragmentBytes: positive('maxFragmentBytes', o.maxFragmentBytes ?? maxMessageSize),
    fragmentTimeoutMs: positive('fragmentTimeout', o.fragmentTimeout ?? ticktime * 1000),
    busyWaitUs: busyWait(o.busyWait ?? 0),
    logger: o.logger === undefined ? consoleLogger(`[nessie ${name.name}]`) : toLogger(o.logger),
    tls: resolveTlsOptions(o.tls),
    binaries: o.binaries === undefined ? 'buffer' : checkBinaries('binaries', o.binaries),
  };
}

function checkPort(option: string, v: unknown, allowZero: boolean): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1) || v > 65535) {
    throw new InvalidOptionError(option, `an integer port from ${allowZero ? 0 : 1} to 65535`, v);
  }
  return v;
}

function busyWait(v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= MAX_BUSY_WAIT_US)) {
    throw new InvalidOptionError('busyWait', `microseconds from 0 (off) to ${MAX_BUSY_WAIT_US}`, v);
  }
  return v;
}

function positive(option: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new InvalidOptionError(option, 'a positive number', v);
  return v;
}
