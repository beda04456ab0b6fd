/**
 * The node's connections to other nodes: the listening socket, outgoing connects
 * (EPMD lookup or the fixed EPMD-less port, then the handshake), incoming accepts,
 * OTP's rules for simultaneous connects, and nodeup/nodedown.
 *
 * Nothing a peer says before it has answered our challenge changes what other peers
 * rely on. A send_name is only a claim: an incoming attempt never closes a live
 * connection and never makes us refuse another attempt under the same name. So a
 * node without the cookie cannot cut a connected node off or keep it out, however
 * many attempts it makes; the attempt that authenticates is the one that counts.
 */
import type { Socket } from 'node:net';
import { ConnectionClosedError, HandshakeError, NessieError } from '../errors.js';
import type { Logger } from '../logger.js';
import { acceptHandshake, type PeerNameVerdict } from '../distribution/acceptor.js';
import type { BusyWait } from '../distribution/busy-wait.js';
import { DistConnection, type ConnectionHandler } from '../distribution/connection.js';
import { DFLAG_PUBLISHED } from '../distribution/flags.js';
import { initiateHandshake, type HandshakeResult } from '../distribution/initiator.js';
import { resolveSimultaneous } from '../distribution/handshake.js';
import { tcpTransport, type Listener, type Transport } from '../distribution/transport.js';
import { portPlease2 } from '../epmd/client.js';
import type { Tuple, Term } from '../term/types.js';
import type { Binaries } from './binaries.js';
import { HandshakeFailureLog } from './handshake-failures.js';
import { checkPeerName, hostOf } from './node-name.js';

/** Most incoming handshakes in progress at once from one address; more are closed unanswered. */
export const MAX_HANDSHAKES_PER_ADDRESS = 64;

/** How to find a peer's distribution port. */
export type PortLookup = { kind: 'epmd'; port: number } | { kind: 'fixed'; port: number };

export interface ConnectionsOptions {
  name: string;
  cookie: string;
  creation: number;
  flags: bigint;
  portLookup: PortLookup;
  ticktimeMs: number;
  connectTimeoutMs: number;
  maxMessageSize: number;
  busyLimit: number;
  /** The per-connection limits of ConnectionOptions; DistConnection's defaults where left out. */
  maxQueuedBytes?: number;
  maxTermsPerMessage?: number;
  maxFragmentBytes?: number;
  fragmentTimeoutMs?: number;
  fragmentSize: number;
  /** Keeps the event loop polling after writes (NodeOptions.busyWait); none by default. */
  busyWait?: BusyWait;
  logger: Logger;
  /** TCP or TLS under every connection, both directions. Default plain TCP. */
  transport?: Transport;
  /** What arrives on connections, and when they come and go. */
  events: ConnectionEvents;
}

export interface ConnectionEvents {
  onControl(peer: string, control: Tuple, payload: Term | undefined): void;
  /** How binaries in the payload of `control` are to be decoded (see ConnectionHandler); undefined: Buffers. */
  payloadBinaries?(control: Tuple): Binaries | undefined;
  onUp(peer: string, hidden: boolean): void;
  onDown(peer: string, hidden: boolean, reason: NessieError | undefined): void;
}

/** The outcome of a connect, with the reason when it failed. */
export type ConnectResult = { ok: true } | { ok: false; error: NessieError };

export class Connections implements ConnectionHandler {
  private readonly live = new Map<string, DistConnection>();
  private readonly pending = new Map<string, Promise<ConnectResult>>();
  /** Peers we are dialling, so an incoming attempt from one of them is a simultaneous connect. */
  private readonly dialling = new Set<string>();
  /**
   * Incoming handshakes in progress, by the name they claim (several per name: a claim
   * proves nothing, so one attempt must not shut out another). Each resolves to whether
   * it authenticated; a dial that lost a simultaneous connect waits on them.
   */
  private readonly accepting = new Map<string, Set<Promise<boolean>>>();
  /** Called when an incoming attempt starts or a connection comes up (see awaitIncoming). */
  private readonly changeWaiters = new Set<() => void>();
  private readonly sockets = new Set<Socket>();
  /** Incoming handshakes in progress per remote address. */
  private readonly handshakesFrom = new Map<string, number>();
  private readonly failures: HandshakeFailureLog;
  private server: Listener | undefined;
  private stopped = false;
  private readonly transport: Transport;

  constructor(private readonly o: ConnectionsOptions) {
    this.failures = new HandshakeFailureLog(o.logger);
    this.transport = o.transport ?? tcpTransport;
  }

  /** Starts listening; resolves to the bound port. */
  async listen(address: string, port: number): Promise<number> {
    this.server = await this.transport.listen(address, port, this.o.connectTimeoutMs, {
      onSocket: (socket) => this.onIncoming(socket),
      // A TLS handshake that failed (wrong CA, a plain TCP peer): that socket only.
      onRefused: (source, reason) => this.failures.record({ source, peer: undefined, reason, level: 'warn' }),
      onError: (err) => this.o.logger.error(`listener error: ${err.message}`),
    });
    return this.server.port;
  }

  get(peer: string): DistConnection | undefined {
    return this.live.get(peer);
  }

  /** Names of connected nodes: visible ones, or hidden ones. */
  names(hidden: boolean): string[] {
    const out: string[] = [];
    for (const [name, conn] of this.live) if (this.isHidden(conn) === hidden) out.push(name);
    return out;
  }

  /**
   * Handshakes in progress, for tests and diagnostics: our dials, incoming attempts by
   * the name they claim, and connect() calls waiting. All empty once things settle.
   */
  handshakes(): { dialling: string[]; accepting: string[]; pending: string[] } {
    return { dialling: [...this.dialling], accepting: [...this.accepting.keys()], pending: [...this.pending.keys()] };
  }

  /**
   * Connects to `peer` unless connected already; concurrent calls share one attempt.
   * A name that is not `basename@host` fails at once with InvalidOptionError.
   */
  connect(peer: string): Promise<ConnectResult> {
    if (this.stopped) return Promise.resolve({ ok: false, error: new ConnectionClosedError('node is stopped', peer) });
    try {
      checkPeerName(peer);
    } catch (err) {
      return Promise.resolve({ ok: false, error: err as NessieError });
    }
    if (peer === this.o.name) return Promise.resolve({ ok: true });
    if (this.live.has(peer)) return Promise.resolve({ ok: true });
    const existing = this.pending.get(peer);
    if (existing !== undefined) return existing;
    const attempt = this.dial(peer).finally(() => this.pending.delete(peer));
    this.pending.set(peer, attempt);
    return attempt;
  }

  /** Closes the connection to `peer`; `true` if there was one. */
  disconnect(peer: string): boolean {
    const conn = this.live.get(peer);
    if (conn === undefined) return false;
    conn.close();
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const conn of [...this.live.values()]) conn.close();
    for (const s of this.sockets) s.destroy();
    // Closing flushed what was queued; nothing more will be written to wait after.
    this.o.busyWait?.stop();
    this.failures.flush();
    const server = this.server;
    if (server !== undefined) await server.close();
  }

  // ConnectionHandler, called by each DistConnection.
  onControl(conn: DistConnection, control: Tuple, payload: Term | undefined): void {
    this.o.events.onControl(conn.peerName, control, payload);
  }

  payloadBinaries(_conn: DistConnection, control: Tuple): Binaries | undefined {
    return this.o.events.payloadBinaries?.(control);
  }

  onClose(conn: DistConnection, reason: NessieError | undefined): void {
    if (this.live.get(conn.peerName) !== conn) return;
    this.live.delete(conn.peerName);
    this.o.events.onDown(conn.peerName, this.isHidden(conn), reason);
  }

  private async dial(peer: string): Promise<ConnectResult> {
    this.dialling.add(peer);
    let error: NessieError;
    try {
      const port = await this.lookupPort(peer);
      const socket = await this.transport.connect(hostOf(peer), port, this.o.connectTimeoutMs);
      let result: HandshakeResult;
      try {
        result = await initiateHandshake(socket, {
          localName: this.o.name,
          peerName: peer,
          cookie: this.o.cookie,
          localFlags: this.o.flags,
          creation: this.o.creation,
          timeoutMs: this.o.connectTimeoutMs,
          handshakeLengthBytes: this.transport.handshakeLengthBytes,
          logger: this.o.logger,
        });
      } catch (err) {
        socket.destroy();
        throw err;
      }
      if (this.stopped) {
        socket.destroy();
        throw new ConnectionClosedError('node is stopped', peer);
      }
      this.adopt(socket, result);
      return { ok: true };
    } catch (err) {
      error = err instanceof NessieError ? err : new ConnectionClosedError(`cannot connect: ${(err as Error).message}`, peer, { cause: err });
    } finally {
      this.dialling.delete(peer);
    }
    // `nok`: the peer is dialling us too and its name sorts higher, so its attempt is
    // the one that lives (OTP's initiator waits to be told the same). Any other failure
    // may still be overtaken by an incoming attempt already under way.
    const lostSimultaneous = error instanceof HandshakeError && error.stage === 'recv_status' && /\bnok\b/.test(error.message);
    if (await this.awaitIncoming(peer, lostSimultaneous)) return { ok: true };
    this.o.logger.debug(`connect to ${peer} failed: ${error.message}`);
    return { ok: false, error };
  }

  /**
   * After a failed dial: whether an incoming connection from `peer` comes up instead.
   * Waits on the incoming attempts under way (each ends within its handshake timeout);
   * with `expectOne`, also for one that has not arrived yet, up to connectTimeoutMs.
   * The wait is bounded even when a flood of fake attempts claims the name.
   */
  private async awaitIncoming(peer: string, expectOne: boolean): Promise<boolean> {
    const deadline = Date.now() + this.o.connectTimeoutMs;
    let sawAttempt = false;
    while (!this.live.has(peer) && !this.stopped) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const attempts = this.accepting.get(peer);
      if (attempts !== undefined) {
        sawAttempt = true;
        // Until one of these authenticates (adopt() wakes untilChange), all of them
        // fail, another arrives, or the deadline.
        await this.untilChange(left, anyTrue([...attempts]));
      } else if (expectOne && !sawAttempt) {
        await this.untilChange(left);
      } else {
        break;
      }
    }
    return this.live.has(peer);
  }

  /** Resolves on the next incoming attempt or connection up, when `also` settles, or after `ms`. */
  private untilChange(ms: number, also?: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.changeWaiters.add(done);
      // cannot reject: `also` is anyTrue() of attempts that only ever resolve.
      void also?.then(done);
    });
  }

  private changed(): void {
    for (const wake of [...this.changeWaiters]) wake();
  }

  private async lookupPort(peer: string): Promise<number> {
    const lookup = this.o.portLookup;
    if (lookup.kind === 'fixed') return lookup.port;
    const alive = peer.slice(0, peer.indexOf('@'));
    const answer = await portPlease2({ host: hostOf(peer), port: lookup.port, name: alive, timeoutMs: this.o.connectTimeoutMs });
    if (answer === null) throw new ConnectionClosedError(`${alive} is not registered with EPMD on ${hostOf(peer)}`, peer);
    return answer.port;
  }

  private onIncoming(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    socket.on('error', () => undefined); // the handshake reports it
    const address = socket.remoteAddress ?? '';
    const source = socket.remoteFamily === 'IPv6' ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
    // Each handshake holds a socket for up to connectTimeoutMs; one address cannot hold
    // more than a few at once, so a flood from one host leaves room for every other.
    const inProgress = this.handshakesFrom.get(address) ?? 0;
    if (inProgress >= MAX_HANDSHAKES_PER_ADDRESS) {
      socket.destroy();
      this.failures.record({ source, peer: undefined, reason: `${inProgress} handshakes from this address in progress already`, level: 'warn' });
      return;
    }
    this.handshakesFrom.set(address, inProgress + 1);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const uncount = () => {
      const n = (this.handshakesFrom.get(address) ?? 1) - 1;
      if (n === 0) this.handshakesFrom.delete(address);
      else this.handshakesFrom.set(address, n);
    };
    let peerSeen: string | undefined;
    let verdict: PeerNameVerdict | undefined;
    // The attempt is taken out of `accepting` before it settles, so whoever waits on it
    // never sees a settled attempt still listed.
    let finish: (ok: boolean) => void = () => undefined;
    acceptHandshake(socket, {
      localName: this.o.name,
      cookie: this.o.cookie,
      localFlags: this.o.flags,
      creation: this.o.creation,
      timeoutMs: this.o.connectTimeoutMs,
      handshakeLengthBytes: this.transport.handshakeLengthBytes,
      logger: this.o.logger,
      onPeerName: (peer) => {
        peerSeen = peer;
        verdict = this.verdictFor(peer);
        if (verdict === 'ok' || verdict === 'ok_simultaneous' || verdict === 'alive') finish = this.trackAttempt(peer);
        return verdict;
      },
    }).then(
      (result) => {
        uncount();
        this.sockets.delete(socket);
        if (this.stopped) {
          socket.destroy();
          finish(false);
          return;
        }
        this.adopt(socket, result);
        finish(true);
      },
      (err: unknown) => {
        uncount();
        this.sockets.delete(socket);
        socket.destroy();
        finish(false);
        this.onRefused(source, peerSeen, verdict, err);
      },
    );
  }

  /** Lists an incoming attempt under the name it claims; the function returned ends it. */
  private trackAttempt(peer: string): (ok: boolean) => void {
    let settle: (ok: boolean) => void = () => undefined;
    const attempt = new Promise<boolean>((resolve) => (settle = resolve));
    let attempts = this.accepting.get(peer);
    if (attempts === undefined) this.accepting.set(peer, (attempts = new Set()));
    attempts.add(attempt);
    this.changed();
    return (ok) => {
      attempts.delete(attempt);
      if (attempts.size === 0 && this.accepting.get(peer) === attempts) this.accepting.delete(peer);
      settle(ok);
    };
  }

  /**
   * OTP's answer to an incoming send_name (dist_util / net_kernel accept_pending). It
   * changes nothing: the peer has proved nothing yet.
   * - Connected already: `alive`, as net_kernel answers for a connection that is up,
   *   whatever creation the newcomer claims. Should the newcomer then pass the
   *   challenge, it is a new incarnation (or a reconnect we have not seen the old side
   *   of) and replaces the old connection; until then the old one stays untouched.
   * - Dialling it: OTP's simultaneous-connect rule. Our dial goes on either way; a
   *   dial that the peer answers `nok` waits for the peer's incoming attempt.
   * - Otherwise `ok`, even while other attempts claim the same name: one that does not
   *   authenticate must not shut out one that does.
   */
  private verdictFor(peer: string): PeerNameVerdict {
    if (this.stopped) return 'not_allowed';
    if (this.live.has(peer)) return 'alive';
    if (this.dialling.has(peer)) return resolveSimultaneous(this.o.name, peer);
    return 'ok';
  }

  private onRefused(source: string, peer: string | undefined, verdict: PeerNameVerdict | undefined, err: unknown): void {
    const reason = err instanceof HandshakeError ? `${err.message} (${err.stage})` : (err as Error).message;
    if (verdict === 'nok' || verdict === 'not_allowed') {
      // Our own answer: a simultaneous connect we win, or a node that is stopping.
      this.o.logger.debug(`answered ${verdict} to ${peer} from ${source}`);
      return;
    }
    // A peer that failed the challenge is worth a warning: a wrong cookie, or an attacker.
    const level = err instanceof HandshakeError && err.stage === 'send_challenge_reply' ? 'warn' : 'info';
    this.failures.record({ source, peer, reason, level });
  }

  /** A connection is hidden when either side is (OTP: a hidden node's connections are all hidden). */
  private isHidden(conn: DistConnection): boolean {
    return (conn.peerFlags & DFLAG_PUBLISHED) === 0n || (this.o.flags & DFLAG_PUBLISHED) === 0n;
  }

  private adopt(socket: Socket, result: HandshakeResult): void {
    const peer = result.peerName;
    const old = this.live.get(peer);
    if (old !== undefined) old.close(new ConnectionClosedError('replaced by a new connection', peer));
    const conn = new DistConnection(socket, {
      localName: this.o.name,
      peerName: peer,
      peerFlags: result.peerFlags,
      peerCreation: result.peerCreation,
      ticktimeMs: this.o.ticktimeMs,
      maxMessageSize: this.o.maxMessageSize,
      busyLimit: this.o.busyLimit,
      maxQueuedBytes: this.o.maxQueuedBytes,
      maxTermsPerMessage: this.o.maxTermsPerMessage,
      maxFragmentBytes: this.o.maxFragmentBytes,
      fragmentTimeoutMs: this.o.fragmentTimeoutMs,
      fragmentSize: this.o.fragmentSize,
      ...(this.o.busyWait === undefined ? {} : { busyWait: this.o.busyWait }),
      handler: this,
      logger: this.o.logger,
    });
    this.live.set(peer, conn);
    this.o.logger.info(`connected to ${peer}`);
    this.o.events.onUp(peer, this.isHidden(conn));
    conn.start(result.leftover);
    this.changed();
  }
}

/** True as soon as one of `attempts` resolves true; false once all resolved false. */
function anyTrue(attempts: Promise<boolean>[]): Promise<boolean> {
  return new Promise((resolve) => {
    let left = attempts.length;
    if (left === 0) resolve(false);
    for (const a of attempts) {
      // cannot reject: an attempt's promise is only ever resolved (see onIncoming).
      void a.then((ok) => {
        if (ok) resolve(true);
        else if (--left === 0) resolve(false);
      });
    }
  });
}

