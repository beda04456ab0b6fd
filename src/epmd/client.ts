/**
 * EPMD client: register this node (the socket stays open for the node's life;
 * closing it unregisters), look up a node's port, list the registered names.
 * Every socket has a deadline; failures are EpmdError with host and port.
 */
import { createConnection, type Socket } from 'node:net';
import { EpmdError } from '../errors.js';
import {
  composeAlive2Req,
  composeNamesReq,
  composePortPlease2Req,
  NODE_TYPE_HIDDEN,
  NODE_TYPE_NORMAL,
  parseAlive2Resp,
  parseNamesResp,
  parsePort2Resp,
  PROTOCOL_TCP_IPV4,
  type NodeRegistration,
} from './messages.js';

export interface EpmdAddress {
  host: string;
  port: number;
  timeoutMs: number;
}

/** A live registration. `close()` unregisters; `closed` settles when EPMD drops it. */
export interface EpmdRegistration {
  creation: number;
  close(): void;
  closed: Promise<void>;
}

/** Largest response we accept from EPMD (NAMES lists many nodes; a port reply is small). */
const MAX_RESPONSE = 1024 * 1024;

function connect(a: EpmdAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: a.host, port: a.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new EpmdError(`EPMD at ${a.host}:${a.port} did not answer within ${a.timeoutMs} ms`, a));
    }, a.timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new EpmdError(`cannot reach EPMD at ${a.host}:${a.port}: ${err.message}`, a, { cause: err }));
    });
  });
}

/** Sends `req` and collects the reply until `complete` says it is whole (or EPMD closes the socket). */
async function ask<T>(a: EpmdAddress, req: Buffer, complete: (buf: Buffer, ended: boolean) => T | undefined, keepOpen = false): Promise<{ value: T; socket: Socket }> {
  const socket = await connect(a);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | undefined, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      if (err !== undefined || !keepOpen) socket.destroy();
      if (err !== undefined) reject(err);
      else resolve({ value: value as T, socket });
    };
    const check = (ended: boolean) => {
      try {
        const v = complete(buf, ended);
        if (v !== undefined) finish(undefined, v);
        else if (ended) finish(new EpmdError(`EPMD at ${a.host}:${a.port} closed the connection early`, a));
      } catch (err) {
        finish(err instanceof EpmdError ? err : new EpmdError(String(err), a));
      }
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_RESPONSE) finish(new EpmdError('EPMD response too large', a));
      else check(false);
    };
    const timer = setTimeout(() => finish(new EpmdError(`EPMD at ${a.host}:${a.port} timed out`, a)), a.timeoutMs);
    socket.on('data', onData);
    socket.once('end', () => check(true));
    socket.once('error', (err) => finish(new EpmdError(`EPMD connection failed: ${err.message}`, a, { cause: err })));
    socket.write(req);
  });
}

/**
 * Registers `name` (the part before @) with the distribution port `distPort`.
 * @throws EpmdError when EPMD is unreachable or refuses (the name is taken).
 */
export async function registerNode(o: EpmdAddress & { name: string; distPort: number; hidden?: boolean }): Promise<EpmdRegistration> {
  const req = composeAlive2Req({
    port: o.distPort,
    nodeType: o.hidden ? NODE_TYPE_HIDDEN : NODE_TYPE_NORMAL,
    protocol: PROTOCOL_TCP_IPV4,
    highestVersion: 6,
    lowestVersion: 6,
    name: o.name,
  });
  const { value, socket } = await ask(o, req, (buf) => parseAlive2Resp(buf), true);
  if (value.result !== 0) {
    socket.destroy();
    throw new EpmdError(`EPMD refused to register ${o.name} (result ${value.result}): is the name taken?`, o);
  }
  // Nothing more should come; anything that does is ignored, but the socket must be read.
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { creation: value.creation, close: () => socket.destroy(), closed };
}

/** The distribution port of `name` on the EPMD at host:port, or null when it is not registered. */
export async function portPlease2(o: EpmdAddress & { name: string }): Promise<NodeRegistration | null> {
  const { value } = await ask(o, composePortPlease2Req(o.name), (buf, ended) => {
    if (buf.length >= 2 && buf[1] !== 0) return { found: null };
    return ended || isWholePort2(buf) ? { found: parsePort2Resp(buf) } : undefined;
  });
  return value.found;
}

function isWholePort2(buf: Buffer): boolean {
  if (buf.length < 14) return false;
  const nlen = buf.readUInt16BE(10);
  if (buf.length < 14 + nlen) return false;
  return buf.length >= 14 + nlen + buf.readUInt16BE(12 + nlen);
}

/** The names registered with the EPMD at host:port. */
export async function names(o: EpmdAddress): Promise<{ epmdPort: number; nodes: Array<{ name: string; port: number }> }> {
  const { value } = await ask(o, composeNamesReq(), (buf, ended) => (ended ? parseNamesResp(buf) : undefined));
  return value;
}
