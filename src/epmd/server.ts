/**
 * An embedded EPMD, bound to exactly the address it is given.
 *
 * Real epmd always binds 127.0.0.1 as well as what `-address` names, so two of them
 * cannot share a port on 127.0.0.2 and 127.0.0.3; this one can, which gives every
 * loopback "host" of a test (or every container sharing a network) its own EPMD.
 *
 * It serves what nodes use, the way erts/epmd/src/epmd_srv.c does: ALIVE2_REQ (answered
 * with ALIVE2_X_RESP when the node speaks version 6, else ALIVE2_RESP), PORT_PLEASE2_REQ
 * and NAMES_REQ. A registration lives as long as its socket. DUMP_REQ, KILL_REQ and
 * STOP_REQ are not served: an embedded EPMD is stopped by its owner, not by a request.
 *
 * One request per connection. A malformed or oversized request, bytes after a request,
 * or a connection that sends no whole request in time closes that socket only.
 *
 * Remote peers (anything but this host) can only look names up, so they get less: a
 * shorter deadline, and never the last `reservedForLocal` connections, which stay free
 * for local nodes to register even while remote sockets that send nothing fill the rest.
 */
import { createServer, isIPv4, type Server, type Socket } from 'node:net';
import { EpmdError, InvalidOptionError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  ChunkAccumulator,
  composeAlive2Resp,
  composeAlive2XResp,
  composeNamesResp,
  composePort2Resp,
  MAX_REQUEST_BYTES,
  parseRequest,
  type EpmdRequest,
  type NodeRegistration,
} from './messages.js';

/** Options of EpmdServer.start. */
export interface EpmdServerOptions {
  /** The one address to bind ('127.0.0.2', '::1'; '0.0.0.0' or '::' for every address). */
  address: string;
  /** Port to listen on; 0 picks a free one (read it from `.port`). */
  port: number;
  /** Where to log (pino-shaped). Default: silent. */
  logger?: Logger;
  /** Most connections open at once, registrations included; more are dropped. Default 1024. */
  maxConnections?: number;
  /**
   * How many of `maxConnections` only local peers may use (the ones that may register),
   * so remote sockets cannot take every slot. Default min(64, maxConnections / 4).
   */
  reservedForLocal?: number;
  /**
   * A connection must deliver one whole request within this many ms of connecting, and
   * a connection that got its answer is closed at the latest then. Registrations are
   * exempt once made. Default 10000 (epmd: 60 s, counted from the last byte).
   */
  requestTimeoutMs?: number;
  /**
   * The same deadline for remote peers, which send their one request (PORT_PLEASE2_REQ
   * or NAMES_REQ) as soon as they connect. Default 2000, and never above requestTimeoutMs.
   */
  remoteRequestTimeoutMs?: number;
  /**
   * Which peers are local: they may register, and may use the reserved connections.
   * Default epmd's rule: a loopback address, or the address the peer connected to.
   */
  isLocalPeer?: (remoteAddress: string, localAddress: string) => boolean;
}

interface Registered {
  reg: NodeRegistration;
  socket: Socket;
  /** epmd's cr_counter, from which the creation is derived. */
  counter: number;
}

/** How many unregistered names keep their creation counter (MAX_UNREG_COUNT in epmd). */
const MAX_FORGOTTEN = 1000;
/** epmd answers a refused ALIVE2_REQ with this creation. */
const REFUSED_CREATION = 99;

/**
 * An EPMD server inside this process. Start it with `EpmdServer.start()`; `stop()`
 * closes the listener and every connection, which unregisters every node.
 */
export class EpmdServer {
  /** Registered nodes by name; Map order is registration order. */
  private readonly nodes = new Map<string, Registered>();
  /** Creation counters of names no longer registered, oldest unregistration first. */
  private readonly forgotten = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private stopping: Promise<void> | undefined;
  private lastDropWarning = 0;
  /** Open connections from remote peers. */
  private remoteCount = 0;

  private constructor(
    private readonly server: Server,
    /** The address bound. */
    readonly address: string,
    /** The port bound (the one picked, when 0 was asked). */
    readonly port: number,
    private readonly logger: Logger,
    private readonly limits: { requestTimeoutMs: number; remoteRequestTimeoutMs: number; maxRemote: number; maxConnections: number },
    private readonly isLocal: (remoteAddress: string, localAddress: string) => boolean,
  ) {}

  /**
   * Binds `address:port` and starts serving.
   * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad option.
   * @throws EpmdError (ERR_EPMD) when the address cannot be bound (in use, not local...).
   */
  static async start(o: EpmdServerOptions): Promise<EpmdServer> {
    if (typeof o.address !== 'string' || o.address === '') throw new InvalidOptionError('address', 'an IP address to bind', o.address);
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 0xffff) throw new InvalidOptionError('port', 'an integer from 0 to 65535', o.port);
    const maxConnections = o.maxConnections ?? 1024;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new InvalidOptionError('maxConnections', 'a positive integer', maxConnections);
    const reservedForLocal = o.reservedForLocal ?? Math.min(64, Math.floor(maxConnections / 4));
    if (!Number.isInteger(reservedForLocal) || reservedForLocal < 0 || reservedForLocal >= maxConnections) {
      throw new InvalidOptionError('reservedForLocal', 'an integer from 0 to maxConnections - 1', reservedForLocal);
    }
    const requestTimeoutMs = o.requestTimeoutMs ?? 10_000;
    if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0 || requestTimeoutMs > 0x7fffffff) throw new InvalidOptionError('requestTimeoutMs', 'a positive number of ms', requestTimeoutMs);
    const remoteRequestTimeoutMs = o.remoteRequestTimeoutMs ?? Math.min(2000, requestTimeoutMs);
    if (!Number.isFinite(remoteRequestTimeoutMs) || remoteRequestTimeoutMs <= 0 || remoteRequestTimeoutMs > requestTimeoutMs) {
      throw new InvalidOptionError('remoteRequestTimeoutMs', 'a positive number of ms, at most requestTimeoutMs', remoteRequestTimeoutMs);
    }
    const logger = o.logger ?? silentLogger;

    const server = createServer();
    server.maxConnections = maxConnections;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new EpmdError(`cannot listen on ${o.address}:${o.port}: ${err.message}`, { host: o.address, port: o.port }, { cause: err }));
      server.once('error', onError);
      // exclusive: never share the port with a cluster worker; it must be this address only.
      server.listen({ host: o.address, port: o.port, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : o.port;
    const limits = { requestTimeoutMs, remoteRequestTimeoutMs, maxRemote: maxConnections - reservedForLocal, maxConnections };
    const epmd = new EpmdServer(server, o.address, port, logger, limits, o.isLocalPeer ?? isLocalAddress);
    server.on('connection', (socket: Socket) => epmd.onConnection(socket));
    server.on('drop', () => epmd.onDrop(`${maxConnections} connections open`));
    server.on('error', (err) => logger.error(`epmd ${o.address}:${port}: listener error: ${err.message}`));
    logger.info(`epmd listening on ${o.address}:${port}`);
    return epmd;
  }

  /** The registered names and ports, newest registration first (the order of NAMES_RESP). */
  names(): Array<{ name: string; port: number }> {
    return [...this.nodes.values()].reverse().map(({ reg }) => ({ name: reg.name, port: reg.port }));
  }

  /** Stops listening and closes every connection (unregistering every node). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.logger.info(`epmd ${this.address}:${this.port} stopped`);
    });
    return this.stopping;
  }

  private onDrop(what: string): void {
    // A flood must not flood the log too: one warning per 10 s at most.
    const now = Date.now();
    if (now - this.lastDropWarning < 10_000) return;
    this.lastDropWarning = now;
    this.logger.warn(`epmd ${this.address}:${this.port}: ${what}, dropping new ones`);
  }

  private onConnection(socket: Socket): void {
    if (this.stopping !== undefined) {
      socket.destroy();
      return;
    }
    const local = this.isLocal(unmapped(socket.remoteAddress ?? ''), unmapped(socket.localAddress ?? ''));
    if (!local) {
      if (this.remoteCount >= this.limits.maxRemote) {
        socket.destroy();
        this.onDrop(`${this.remoteCount} remote connections open (the other ${this.limits.maxConnections - this.limits.maxRemote} are kept for local nodes)`);
        return;
      }
      this.remoteCount++;
    }
    this.sockets.add(socket);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const acc = new ChunkAccumulator(2 + MAX_REQUEST_BYTES);
    let answered = false;
    let registeredAs: string | undefined;
    const timeoutMs = local ? this.limits.requestTimeoutMs : this.limits.remoteRequestTimeoutMs;
    const deadline = setTimeout(() => {
      if (!answered) this.logger.debug(`epmd: no whole request from ${peer} within ${timeoutMs} ms; closing`);
      socket.destroy();
    }, timeoutMs);

    socket.on('data', (chunk: Buffer) => {
      if (registeredAs !== undefined) {
        // As epmd: a node never sends more on its registration socket; if it does, it is gone.
        this.logger.warn(`epmd: unexpected bytes on the registration of ${registeredAs}; unregistering`);
        socket.destroy();
        return;
      }
      if (answered) {
        socket.destroy();
        return;
      }
      let request: EpmdRequest | undefined;
      try {
        acc.push(chunk);
        request = acc.take(parseRequest);
        if (request !== undefined && acc.bytes.length > 0) throw new EpmdError(`${acc.bytes.length} bytes after the request`);
      } catch (err) {
        this.logger.warn(`epmd: closing the connection from ${peer}: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      if (request === undefined) return;
      answered = true;
      registeredAs = this.onRequest(socket, peer, local, request);
      if (registeredAs !== undefined) clearTimeout(deadline);
    });
    socket.on('error', (err) => this.logger.debug(`epmd: connection from ${peer}: ${err.message}`));
    socket.on('close', () => {
      clearTimeout(deadline);
      this.sockets.delete(socket);
      if (!local) this.remoteCount--;
      if (registeredAs !== undefined) this.unregister(registeredAs, socket);
    });
  }

  /** Answers one request; returns the name when the socket now holds a registration. */
  private onRequest(socket: Socket, peer: string, local: boolean, request: EpmdRequest): string | undefined {
    switch (request.type) {
      case 'ALIVE2_REQ': {
        const { type: _type, ...reg } = request;
        return this.onAlive2Req(socket, peer, local, reg);
      }
      case 'PORT_PLEASE2_REQ':
        // epmd closes after PORT2_RESP; erl_epmd waits for that close.
        socket.end(composePort2Resp(this.nodes.get(request.name)?.reg ?? null));
        return undefined;
      case 'NAMES_REQ':
        // One write: erl_epmd:names/1 wants the 4-byte port in its first packet.
        socket.end(composeNamesResp(this.port, this.names()));
        return undefined;
    }
  }

  private onAlive2Req(socket: Socket, peer: string, local: boolean, reg: NodeRegistration): string | undefined {
    // As epmd: only a process on this host may register (loopback, or our own address).
    if (!local) {
      this.logger.warn(`epmd: refusing ALIVE2_REQ for ${reg.name} from non-local ${peer}`);
      socket.destroy();
      return undefined;
    }
    // epmd answers ALIVE2_X_RESP (32-bit creation) to a node that speaks version 6.
    const extended = reg.highestVersion >= 6;
    const reply = (result: number, creation: number) => (extended ? composeAlive2XResp(result, creation) : composeAlive2Resp(result, creation));
    if (this.nodes.has(reg.name)) {
      this.logger.warn(`epmd: refusing ALIVE2_REQ from ${peer}: ${reg.name} is already registered`);
      socket.end(reply(1, REFUSED_CREATION));
      return undefined;
    }
    const counter = bumpCreation(this.forgotten.get(reg.name) ?? nowSeconds());
    this.forgotten.delete(reg.name);
    this.nodes.set(reg.name, { reg, socket, counter });
    // Version 5 nodes get epmd's old 1..3 cycle; the counter serves version 6 directly.
    socket.write(reply(0, extended ? counter : (counter % 3) + 1));
    this.logger.info(`epmd: registered ${reg.name} at port ${reg.port} (creation ${counter})`);
    return reg.name;
  }

  private unregister(name: string, socket: Socket): void {
    const entry = this.nodes.get(name);
    if (entry === undefined || entry.socket !== socket) return;
    this.nodes.delete(name);
    this.forgotten.set(name, entry.counter);
    if (this.forgotten.size > MAX_FORGOTTEN) this.forgotten.delete(this.forgotten.keys().next().value as string);
    this.logger.info(`epmd: unregistered ${name}`);
  }
}

/**
 * epmd's counter: it starts at the clock (seconds) for a new name, so a restarted EPMD
 * does not hand a node the creation its previous incarnation had, and grows by one on
 * every re-registration. Values below 4 are skipped (epmd reserves them for version 5).
 */
function bumpCreation(counter: number): number {
  const next = (counter + 1) >>> 0;
  return next < 4 ? 4 : next;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000) >>> 0;
}

/** epmd's rule for who may register: a loopback peer, or a peer whose address is our own. */
function isLocalAddress(remote: string, local: string): boolean {
  if (remote === '::1' || (isIPv4(remote) && remote.startsWith('127.'))) return true;
  return remote !== '' && remote === local;
}

/** '::ffff:127.0.0.1' → '127.0.0.1' (a dual-stack listener reports IPv4 peers mapped). */
function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}
