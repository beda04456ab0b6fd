/**
 * EPMD client: register this node, look up another node's port, list the names.
 *
 * One TCP connection per request, as erl_epmd does. The registration connection stays
 * open for the node's whole life: EPMD unregisters a name when its socket closes (there
 * is no unregister request). Every exchange has a deadline, and every failure is an
 * EpmdError carrying the EPMD host and port (and the socket error as `cause`, so a
 * caller can tell ECONNREFUSED from the rest).
 */
import { createConnection, isIPv6, type Socket } from 'node:net';
import { EpmdError, InvalidOptionError } from '../errors.js';
import {
  ChunkAccumulator,
  composeAlive2Req,
  composeNamesReq,
  composePortPlease2Req,
  EPMD_PORT,
  MAX_EXTRA_BYTES,
  MAX_NODE_NAME_BYTES,
  NODE_TYPE_HIDDEN,
  NODE_TYPE_NORMAL,
  parseAlive2Resp,
  parseNamesResp,
  parsePort2Resp,
  PROTOCOL_TCP_IPV4,
  type NamesResp,
  type NodeRegistration,
  type Parsed,
} from './messages.js';

/** Where EPMD is, and how long an exchange with it may take. */
export interface EpmdTarget {
  /** Host name or IP address (IPv6 literals without brackets: '::1'). */
  host: string;
  /** EPMD's port. Default 4369. */
  port?: number;
  /** Deadline for connecting and getting the whole answer, in ms. Default 5000. */
  timeoutMs?: number;
}

/** Options of registerNode. */
export interface RegisterNodeOptions extends EpmdTarget {
  /** The alive part of the node name (before the @), 1 to 255 bytes. */
  name: string;
  /** The port the node accepts distribution connections on. */
  distPort: number;
  /** Register as a hidden node (NodeType 72). Default false. */
  hidden?: boolean;
  /** Highest distribution version. Default 6 (OTP 23+); 6 or more asks EPMD for ALIVE2_X_RESP. */
  highestVersion?: number;
  /** Lowest distribution version. Default 6 (OTP 25+ accepts nothing lower). */
  lowestVersion?: number;
}

/** A live registration: the name stays registered while it is open. */
export interface EpmdRegistration {
  /** The node's creation, from ALIVE2_X_RESP (32 bits) or ALIVE2_RESP (16 bits). */
  creation: number;
  /** Closes the registration socket, which unregisters the name. Idempotent. */
  close(): void;
  /** Resolves once the registration socket has closed, for whatever reason (never rejects). */
  closed: Promise<void>;
}

/** Options of portPlease2. */
export interface PortPlease2Options extends EpmdTarget {
  /** The alive part of the node name (before the @). */
  name: string;
}

/** NAMES_RESP is whole only when EPMD closes; this bounds what we keep of it (about 3,500 long names). */
const MAX_NAMES_RESP_BYTES = 1024 * 1024;
/** The largest PORT2_RESP possible. */
const MAX_PORT2_RESP_BYTES = 14 + MAX_NODE_NAME_BYTES + MAX_EXTRA_BYTES;
const DEFAULT_TIMEOUT_MS = 5000;

interface Target {
  host: string;
  port: number;
  timeoutMs: number;
}

function validateTarget(o: EpmdTarget): Target {
  if (typeof o.host !== 'string' || o.host === '') throw new InvalidOptionError('host', 'a host name or IP address', o.host);
  const port = o.port ?? EPMD_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) throw new InvalidOptionError('port', 'an integer from 1 to 65535', port);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 0x7fffffff) throw new InvalidOptionError('timeoutMs', 'a positive number of ms', timeoutMs);
  return { host: o.host, port, timeoutMs };
}

function where(t: Target): string {
  return isIPv6(t.host) ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

function epmdError(t: Target, message: string, cause?: unknown): EpmdError {
  return new EpmdError(`EPMD at ${where(t)}: ${message}`, { host: t.host, port: t.port }, cause === undefined ? undefined : { cause });
}

/**
 * Connects, sends `request` and reads until `parse` returns a whole answer (it is told
 * when EPMD has closed). Resolves to the answer, the bytes after it and the still-open
 * socket, none of our listeners left on it; rejects with EpmdError and destroys the socket.
 */
function exchange<T>(t: Target, request: Buffer, limit: number, parse: (buf: Buffer, ended: boolean) => Parsed<T>): Promise<{ value: T; rest: Buffer; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: t.host, port: t.port });
    const acc = new ChunkAccumulator(limit);
    let settled = false;
    const settle = (err: EpmdError | undefined, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Only ours: net.Socket keeps listeners of its own that must stay.
      socket.off('connect', onConnect).off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (err !== undefined) {
        // Whatever the dying socket still reports has already been reported.
        socket.on('error', () => undefined).destroy();
        reject(err);
      } else {
        resolve({ value: value as T, rest: acc.bytes, socket });
      }
    };
    const tryParse = (ended: boolean) => {
      let value: T | undefined;
      try {
        value = acc.take((buf) => parse(buf, ended));
      } catch (err) {
        return settle(epmdError(t, (err as Error).message, err));
      }
      if (value !== undefined) settle(undefined, value);
      else if (ended) settle(epmdError(t, `closed the connection after ${acc.bytes.length} bytes, before a whole answer`));
    };
    const timer = setTimeout(() => settle(epmdError(t, `no answer within ${t.timeoutMs} ms`)), t.timeoutMs);
    const onConnect = () => socket.write(request);
    const onData = (chunk: Buffer) => {
      try {
        acc.push(chunk);
      } catch (err) {
        return settle(epmdError(t, (err as Error).message, err));
      }
      tryParse(false);
    };
    const onEnd = () => tryParse(true);
    const onError = (err: Error) => settle(epmdError(t, err.message, err));
    const onClose = () => settle(epmdError(t, 'connection closed before a whole answer'));
    socket.once('connect', onConnect).on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/**
 * Registers a node with EPMD (ALIVE2_REQ) and keeps the connection open; closing it
 * unregisters the name. Asks for ALIVE2_X_RESP (32-bit creation) and accepts an EPMD
 * that answers the old ALIVE2_RESP.
 *
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad option.
 * @throws EpmdError (ERR_EPMD) when EPMD cannot be reached, does not answer in time,
 *   answers garbage, or refuses the name (it is already registered, or EPMD does not
 *   take registrations from a non-local address).
 */
export async function registerNode(o: RegisterNodeOptions): Promise<EpmdRegistration> {
  const t = validateTarget(o);
  if (typeof o.name !== 'string' || o.name.includes('@')) throw new InvalidOptionError('name', 'the alive part of the node name, without @', o.name);
  if (!Number.isInteger(o.distPort) || o.distPort < 1 || o.distPort > 0xffff) throw new InvalidOptionError('distPort', 'an integer from 1 to 65535', o.distPort);
  const highestVersion = o.highestVersion ?? 6;
  const lowestVersion = o.lowestVersion ?? 6;
  if (!Number.isInteger(lowestVersion) || lowestVersion > highestVersion) throw new InvalidOptionError('lowestVersion', `an integer no greater than highestVersion (${highestVersion})`, lowestVersion);
  const request = composeAlive2Req({
    port: o.distPort,
    nodeType: o.hidden === true ? NODE_TYPE_HIDDEN : NODE_TYPE_NORMAL,
    protocol: PROTOCOL_TCP_IPV4,
    highestVersion,
    lowestVersion,
    name: o.name,
  });
  const { value, rest, socket } = await exchange(t, request, 64, (buf) => parseAlive2Resp(buf));
  // A registration socket outlives this call: its errors end up as `closed`, never thrown.
  socket.on('error', () => undefined);
  if (value.result !== 0) {
    socket.destroy();
    throw epmdError(t, `refused to register ${JSON.stringify(o.name)} (result ${value.result}): the name is taken, or this address may not register`);
  }
  // erl_epmd treats anything after the response as garbage too.
  if (rest.length > 0) {
    socket.destroy();
    throw epmdError(t, `sent ${rest.length} unexpected bytes after ${value.extended ? 'ALIVE2_X_RESP' : 'ALIVE2_RESP'}`);
  }
  // EPMD sends nothing more on this socket; the data listener only keeps it flowing.
  socket.on('data', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { creation: value.creation, close: () => {
      socket.destroy();
    }, closed };
}

/**
 * Asks EPMD for a node's distribution port (PORT_PLEASE2_REQ).
 * Resolves to the registration (port, node type, versions, extra), or null when the
 * name is not registered there.
 *
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad option.
 * @throws EpmdError (ERR_EPMD) when EPMD cannot be reached, does not answer in time or answers garbage.
 */
export async function portPlease2(o: PortPlease2Options): Promise<NodeRegistration | null> {
  const t = validateTarget(o);
  const request = composePortPlease2Req(o.name);
  const { value, socket } = await exchange(t, request, MAX_PORT2_RESP_BYTES, (buf) => parsePort2Resp(buf));
  socket.destroy();
  return value;
}

/**
 * Lists the names registered with EPMD (NAMES_REQ), as `net_adm:names/1` does.
 * `epmdPort` is the port EPMD says it listens on (erl_epmd refuses an answer whose
 * port differs from the one it asked).
 *
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad option.
 * @throws EpmdError (ERR_EPMD) when EPMD cannot be reached, does not answer in time or answers garbage.
 */
export async function names(o: EpmdTarget): Promise<NamesResp> {
  const t = validateTarget(o);
  const { value, socket } = await exchange(t, composeNamesReq(), MAX_NAMES_RESP_BYTES, parseNamesResp);
  socket.destroy();
  return value;
}
