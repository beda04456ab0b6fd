/**
 * EPMD requests and responses, as pure compose/parse functions named after the
 * messages. Every request goes in a 2-byte length prefix; responses have none.
 * Spec: erts/doc/guides/erl_dist_protocol.md, "EPMD Protocol"; behaviour that the
 * document leaves out follows erts/epmd/src/epmd_srv.c.
 */
import { EpmdError } from '../errors.js';

export const ALIVE2_REQ = 120;
export const ALIVE2_RESP = 121;
export const ALIVE2_X_RESP = 118;
export const PORT_PLEASE2_REQ = 122;
export const PORT2_RESP = 119;
export const NAMES_REQ = 110;

/** Node type in ALIVE2_REQ: 77 ('M') normal Erlang node, 72 ('H') hidden. */
export const NODE_TYPE_NORMAL = 77;
export const NODE_TYPE_HIDDEN = 72;
export const PROTOCOL_TCP_IPV4 = 0;
export const MAX_NAME_BYTES = 255;

export interface NodeRegistration {
  port: number;
  nodeType: number;
  protocol: number;
  highestVersion: number;
  lowestVersion: number;
  name: string;
  extra: Buffer;
}

/** Prefixes a request with its 2-byte length. */
function request(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + body.length);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, 2);
  return out;
}

function checkName(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES) throw new EpmdError(`node name of ${bytes.length} bytes (1 to 255 allowed)`);
  return bytes;
}

/**
 * | 1   | 2        | 1        | 1        | 2               | 2              | 2    | Nlen  | 2    | Elen  |
 * | 120 | PortNo   | NodeType | Protocol | HighestVersion  | LowestVersion  | Nlen | Name  | Elen | Extra |
 */
export function composeAlive2Req(r: Omit<NodeRegistration, 'extra'> & { extra?: Buffer }): Buffer {
  const name = checkName(r.name);
  const extra = r.extra ?? Buffer.alloc(0);
  const body = Buffer.allocUnsafe(13 + name.length + extra.length);
  body[0] = ALIVE2_REQ;
  body.writeUInt16BE(r.port, 1);
  body[3] = r.nodeType;
  body[4] = r.protocol;
  body.writeUInt16BE(r.highestVersion, 5);
  body.writeUInt16BE(r.lowestVersion, 7);
  body.writeUInt16BE(name.length, 9);
  name.copy(body, 11);
  body.writeUInt16BE(extra.length, 11 + name.length);
  extra.copy(body, 13 + name.length);
  return request(body);
}

/** The body of an ALIVE2_REQ (after the length prefix, tag included). */
export function parseAlive2Req(body: Buffer): NodeRegistration {
  if (body.length < 13 || body[0] !== ALIVE2_REQ) throw new EpmdError('malformed ALIVE2_REQ');
  const nlen = body.readUInt16BE(9);
  if (nlen === 0 || nlen > MAX_NAME_BYTES || 13 + nlen > body.length) throw new EpmdError('malformed ALIVE2_REQ name');
  const elen = body.readUInt16BE(11 + nlen);
  if (13 + nlen + elen !== body.length) throw new EpmdError('malformed ALIVE2_REQ extra');
  return {
    port: body.readUInt16BE(1),
    nodeType: body[3],
    protocol: body[4],
    highestVersion: body.readUInt16BE(5),
    lowestVersion: body.readUInt16BE(7),
    name: body.toString('utf8', 11, 11 + nlen),
    extra: Buffer.from(body.subarray(13 + nlen)),
  };
}

/**
 * ALIVE2_X_RESP (32-bit creation, OTP 23+): | 118 | Result | Creation (4) |
 * ALIVE2_RESP (old, 16-bit creation):        | 121 | Result | Creation (2) |
 */
export function composeAlive2XResp(result: number, creation: number): Buffer {
  const out = Buffer.allocUnsafe(6);
  out[0] = ALIVE2_X_RESP;
  out[1] = result;
  out.writeUInt32BE(creation, 2);
  return out;
}

/** Parses either ALIVE2 response; `undefined` while incomplete. */
export function parseAlive2Resp(buf: Buffer): { result: number; creation: number; size: number } | undefined {
  if (buf.length < 1) return undefined;
  if (buf[0] === ALIVE2_X_RESP) return buf.length < 6 ? undefined : { result: buf[1], creation: buf.readUInt32BE(2), size: 6 };
  if (buf[0] === ALIVE2_RESP) return buf.length < 4 ? undefined : { result: buf[1], creation: buf.readUInt16BE(2), size: 4 };
  throw new EpmdError(`unexpected ALIVE2 response tag ${buf[0]}`);
}

/** | 122 | NodeName | */
export function composePortPlease2Req(name: string): Buffer {
  return request(Buffer.concat([Buffer.from([PORT_PLEASE2_REQ]), checkName(name)]));
}

/**
 * PORT2_RESP: | 119 | Result (0 = found) | then, when found, the registration:
 * | PortNo (2) | NodeType | Protocol | HighestVersion (2) | LowestVersion (2) | Nlen (2) | Name | Elen (2) | Extra |
 */
export function composePort2Resp(r: NodeRegistration | undefined): Buffer {
  if (r === undefined) return Buffer.from([PORT2_RESP, 1]);
  const name = Buffer.from(r.name, 'utf8');
  const out = Buffer.allocUnsafe(14 + name.length + r.extra.length);
  out[0] = PORT2_RESP;
  out[1] = 0;
  out.writeUInt16BE(r.port, 2);
  out[4] = r.nodeType;
  out[5] = r.protocol;
  out.writeUInt16BE(r.highestVersion, 6);
  out.writeUInt16BE(r.lowestVersion, 8);
  out.writeUInt16BE(name.length, 10);
  name.copy(out, 12);
  out.writeUInt16BE(r.extra.length, 12 + name.length);
  r.extra.copy(out, 14 + name.length);
  return out;
}

/** A whole PORT2_RESP (EPMD closes the socket after it): the registration, or null when not registered. */
export function parsePort2Resp(buf: Buffer): NodeRegistration | null {
  if (buf.length < 2 || buf[0] !== PORT2_RESP) throw new EpmdError('malformed PORT2_RESP');
  if (buf[1] !== 0) return null;
  if (buf.length < 14) throw new EpmdError('truncated PORT2_RESP');
  const nlen = buf.readUInt16BE(10);
  if (14 + nlen > buf.length) throw new EpmdError('truncated PORT2_RESP name');
  const elen = buf.readUInt16BE(12 + nlen);
  if (14 + nlen + elen > buf.length) throw new EpmdError('truncated PORT2_RESP extra');
  return {
    port: buf.readUInt16BE(2),
    nodeType: buf[4],
    protocol: buf[5],
    highestVersion: buf.readUInt16BE(6),
    lowestVersion: buf.readUInt16BE(8),
    name: buf.toString('utf8', 12, 12 + nlen),
    extra: Buffer.from(buf.subarray(14 + nlen, 14 + nlen + elen)),
  };
}

/** | 110 | */
export function composeNamesReq(): Buffer {
  return request(Buffer.from([NAMES_REQ]));
}

/**
 * NAMES response: | EPMDPortNo (4) | NodeInfo |, NodeInfo being one line per node
 * written as epmd_srv.c does: "name NAME at port PORT\n" (erl_epmd:names/1 parses it).
 */
export function composeNamesResp(epmdPort: number, nodes: Array<{ name: string; port: number }>): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(epmdPort, 0);
  return Buffer.concat([head, Buffer.from(nodes.map((n) => `name ${n.name} at port ${n.port}\n`).join(''), 'utf8')]);
}

export function parseNamesResp(buf: Buffer): { epmdPort: number; nodes: Array<{ name: string; port: number }> } {
  if (buf.length < 4) throw new EpmdError('truncated NAMES response');
  const nodes: Array<{ name: string; port: number }> = [];
  for (const line of buf.toString('utf8', 4).split('\n')) {
    const m = /^name (\S+) at port (\d+)$/.exec(line);
    if (m !== null) nodes.push({ name: m[1], port: Number(m[2]) });
  }
  return { epmdPort: buf.readUInt32BE(0), nodes };
}
