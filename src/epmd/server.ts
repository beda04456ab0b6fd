/**
 * An embedded EPMD, bound to exactly the address it is given (real epmd always binds
 * 127.0.0.1 too, so several hosts on 127.0.0.x cannot each have one). It answers
 * ALIVE2_REQ (with ALIVE2_X_RESP: 32-bit creation), PORT_PLEASE2_REQ and NAMES_REQ;
 * a registration lives as long as its socket. Malformed or oversized requests close
 * that socket only; idle sockets are closed after a while.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { EpmdError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  ALIVE2_REQ,
  composeAlive2XResp,
  composeNamesResp,
  composePort2Resp,
  NAMES_REQ,
  parseAlive2Req,
  PORT_PLEASE2_REQ,
  type NodeRegistration,
} from './messages.js';

export interface EpmdServerOptions {
  address: string;
  /** 0 picks a free port (see `.port`). */
  port: number;
  logger?: Logger;
  /** Most sockets open at once. Default 1024. */
  maxConnections?: number;
  /** A socket that sends no whole request within this many ms is closed. Default 10000. */
  idleTimeoutMs?: number;
}

/** Requests are short: a name of at most 255 bytes and a few fields. */
const MAX_REQUEST = 1024;

export class EpmdServer {
  private readonly registered = new Map<string, { reg: NodeRegistration; socket: Socket }>();
  private readonly sockets = new Set<Socket>();
  /** EPMD hands out creations 1, 2, 3... per name, as epmd_srv.c does; never 0. */
  private readonly creations = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly address: string,
    readonly port: number,
    private readonly logger: Logger,
  ) {}

  static async start(o: EpmdServerOptions): Promise<EpmdServer> {
    const logger = o.logger ?? silentLogger;
    const server = createServer();
    server.maxConnections = o.maxConnections ?? 1024;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new EpmdError(`cannot listen on ${o.address}:${o.port}: ${err.message}`, { host: o.address, port: o.port }, { cause: err })));
      server.listen({ host: o.address, port: o.port, exclusive: true }, () => resolve());
    });
    const bound = server.address();
    const port = typeof bound === 'object' && bound !== null ? bound.port : o.port;
    const epmd = new EpmdServer(server, o.address, port, logger);
    server.on('connection', (s) => epmd.onConnection(s, o.idleTimeoutMs ?? 10_000));
    server.on('error', (err) => logger.error(`epmd listener error: ${err.message}`));
    return epmd;
  }

  /** Registered names and ports. */
  names(): Array<{ name: string; port: number }> {
    return [...this.registered.values()].map(({ reg }) => ({ name: reg.name, port: reg.port }));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: Socket, idleTimeoutMs: number): void {
    this.sockets.add(socket);
    let buf = Buffer.alloc(0);
    let registeredAs: string | undefined;
    socket.setTimeout(idleTimeoutMs, () => {
      if (registeredAs === undefined) socket.destroy();
    });
    const drop = (why: string) => {
      this.logger.warn(`epmd: closing a connection from ${socket.remoteAddress}: ${why}`);
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      if (registeredAs !== undefined) return; // a registration socket carries nothing more
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (len === 0 || len > MAX_REQUEST) return drop(`request length ${len}`);
      if (buf.length < 2 + len) return;
      if (buf.length > 2 + len) return drop('bytes after the request');
      try {
        registeredAs = this.onRequest(socket, buf.subarray(2));
      } catch (err) {
        drop((err as Error).message);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (registeredAs !== undefined && this.registered.get(registeredAs)?.socket === socket) {
        this.registered.delete(registeredAs);
        this.logger.debug(`epmd: ${registeredAs} unregistered`);
      }
    });
  }

  /** Handles one request; returns the name when the socket became a registration. */
  private onRequest(socket: Socket, body: Buffer): string | undefined {
    switch (body[0]) {
      case ALIVE2_REQ: {
        const reg = parseAlive2Req(body);
        if (this.registered.has(reg.name)) {
          socket.end(composeAlive2XResp(1, 0));
          return undefined;
        }
        const creation = ((this.creations.get(reg.name) ?? 0) % 0xffffffff) + 1;
        this.creations.set(reg.name, creation);
        this.registered.set(reg.name, { reg, socket });
        socket.setTimeout(0);
        socket.write(composeAlive2XResp(0, creation));
        this.logger.debug(`epmd: ${reg.name} registered at port ${reg.port}`);
        return reg.name;
      }
      case PORT_PLEASE2_REQ: {
        const name = body.toString('utf8', 1);
        socket.end(composePort2Resp(this.registered.get(name)?.reg));
        return undefined;
      }
      case NAMES_REQ:
        if (body.length !== 1) throw new EpmdError('malformed NAMES_REQ');
        socket.end(composeNamesResp(this.port, this.names()));
        return undefined;
      default:
        throw new EpmdError(`unknown request ${body[0]}`);
    }
  }
}
