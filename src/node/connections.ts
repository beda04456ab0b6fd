/**
 * The node's connections to other nodes: the listening socket, outgoing connects
 * (EPMD lookup or the fixed EPMD-less port, then the handshake), incoming accepts,
 * OTP's rules for simultaneous connects, and nodeup/nodedown.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { ConnectionClosedError, HandshakeError, NessieError, TimeoutError } from '../errors.js';
import type { Logger } from '../logger.js';
import { acceptHandshake, type PeerNameVerdict } from '../distribution/acceptor.js';
import { DistConnection, type ConnectionHandler } from '../distribution/connection.js';
import { DFLAG_PUBLISHED } from '../distribution/flags.js';
import { initiateHandshake, type HandshakeResult } from '../distribution/initiator.js';
import { resolveSimultaneous } from '../distribution/handshake.js';
import { portPlease2 } from '../epmd/client.js';
import type { Tuple, Term } from '../term/types.js';
import { hostOf } from './node-name.js';

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
  fragmentSize: number;
  logger: Logger;
  /** What arrives on connections, and when they come and go. */
  events: ConnectionEvents;
}

export interface ConnectionEvents {
  onControl(peer: string, control: Tuple, payload: Term | undefined): void;
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
  /** Incoming handshakes in progress, by peer, so a dial that lost a simultaneous connect can wait for them. */
  private readonly accepting = new Map<string, Promise<boolean>>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private stopped = false;

  constructor(private readonly o: ConnectionsOptions) {}

  /** Starts listening; resolves to the bound port. */
  listen(address: string, port: number): Promise<number> {
    const server = createServer((socket) => this.onIncoming(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.o.logger.error(`listener error: ${err.message}`));
        const bound = server.address();
        resolve(typeof bound === 'object' && bound !== null ? bound.port : port);
      });
    });
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

  /** Connects to `peer` unless connected already; concurrent calls share one attempt. */
  connect(peer: string): Promise<ConnectResult> {
    if (this.stopped) return Promise.resolve({ ok: false, error: new ConnectionClosedError('node is stopped', peer) });
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
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ConnectionHandler, called by each DistConnection.
  onControl(conn: DistConnection, control: Tuple, payload: Term | undefined): void {
    this.o.events.onControl(conn.peerName, control, payload);
  }

  onClose(conn: DistConnection, reason: NessieError | undefined): void {
    if (this.live.get(conn.peerName) !== conn) return;
    this.live.delete(conn.peerName);
    this.o.events.onDown(conn.peerName, this.isHidden(conn), reason);
  }

  private async dial(peer: string): Promise<ConnectResult> {
    this.dialling.add(peer);
    try {
      const port = await this.lookupPort(peer);
      const socket = await this.openSocket(hostOf(peer), port);
      let result: HandshakeResult;
      try {
        result = await initiateHandshake(socket, {
          localName: this.o.name,
          peerName: peer,
          cookie: this.o.cookie,
          localFlags: this.o.flags,
          creation: this.o.creation,
          timeoutMs: this.o.connectTimeoutMs,
          logger: this.o.logger,
        });
      } catch (err) {
        socket.destroy();
        throw err;
      }
      this.adopt(socket, result);
      return { ok: true };
    } catch (err) {
      // Lost a simultaneous connect: the peer's own attempt is the one that lives.
      const incoming = this.accepting.get(peer);
      if (incoming !== undefined && (await incoming)) return { ok: true };
      if (this.live.has(peer)) return { ok: true };
      const error = err instanceof NessieError ? err : new ConnectionClosedError(`cannot connect: ${(err as Error).message}`, peer, { cause: err });
      this.o.logger.debug(`connect to ${peer} failed: ${error.message}`);
      return { ok: false, error };
    } finally {
      this.dialling.delete(peer);
    }
  }

  private async lookupPort(peer: string): Promise<number> {
    const lookup = this.o.portLookup;
    if (lookup.kind === 'fixed') return lookup.port;
    const alive = peer.slice(0, peer.indexOf('@'));
    const answer = await portPlease2({ host: hostOf(peer), port: lookup.port, name: alive, timeoutMs: this.o.connectTimeoutMs });
    if (answer === null) throw new ConnectionClosedError(`${alive} is not registered with EPMD on ${hostOf(peer)}`, peer);
    return answer.port;
  }

  private openSocket(host: string, port: number): Promise<Socket> {
    const timeoutMs = this.o.connectTimeoutMs;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`TCP connect to ${host}:${port} timed out`, timeoutMs));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new ConnectionClosedError(`TCP connect to ${host}:${port} failed: ${err.message}`, undefined, { cause: err }));
      });
    });
  }

  private onIncoming(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined); // the handshake reports it
    let peerSeen: string | undefined;
    let settle: (ok: boolean) => void = () => undefined;
    acceptHandshake(socket, {
      localName: this.o.name,
      cookie: this.o.cookie,
      localFlags: this.o.flags,
      creation: this.o.creation,
      timeoutMs: this.o.connectTimeoutMs,
      logger: this.o.logger,
      onPeerName: (peer, creation) => {
        const verdict = this.verdictFor(peer, creation);
        if (verdict === 'ok' || verdict === 'ok_simultaneous' || verdict === 'alive') {
          peerSeen = peer;
          this.accepting.set(peer, new Promise<boolean>((resolve) => (settle = resolve)));
        }
        return verdict;
      },
    }).then(
      (result) => {
        this.sockets.delete(socket);
        this.adopt(socket, result);
        settle(true);
      },
      (err: unknown) => {
        this.sockets.delete(socket);
        socket.destroy();
        settle(false);
        const reason = err instanceof HandshakeError ? `${err.message} (${err.stage})` : (err as Error).message;
        this.o.logger.info(`refused incoming connection${peerSeen === undefined ? '' : ` from ${peerSeen}`}: ${reason}`);
      },
    ).finally(() => {
      if (peerSeen !== undefined) this.accepting.delete(peerSeen);
    });
  }

  /** OTP's answer to an incoming send_name (dist_util / net_kernel). */
  private verdictFor(peer: string, creation: number | undefined): PeerNameVerdict {
    if (this.stopped) return 'not_allowed';
    const existing = this.live.get(peer);
    if (existing !== undefined) {
      // A new incarnation of a node whose old connection we have not seen die yet.
      if (creation !== undefined && existing.peerCreation !== creation) {
        existing.close(new ConnectionClosedError('peer restarted with a new creation', peer));
        return 'ok';
      }
      return 'alive';
    }
    if (this.accepting.has(peer)) return 'nok';
    if (this.dialling.has(peer)) return resolveSimultaneous(this.o.name, peer);
    return 'ok';
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
      fragmentSize: this.o.fragmentSize,
      handler: this,
      logger: this.o.logger,
    });
    this.live.set(peer, conn);
    this.o.logger.info(`connected to ${peer}`);
    this.o.events.onUp(peer, this.isHidden(conn));
    conn.start(result.leftover);
  }
}

