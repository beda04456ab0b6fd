/**
 * EPMD requests and responses as pure compose/parse functions, named after the messages.
 *
 * Spec: erts/doc/guides/erl_dist_protocol.md, "EPMD Protocol". What the document leaves
 * out follows erts/epmd/src/epmd_srv.c (the server) and lib/kernel/src/erl_epmd.erl (the
 * client inside every erl). Multibyte integers are big-endian. Every request travels
 * behind a 2-byte length; responses have none, so each response parser decides for
 * itself when it holds a whole message (NAMES_RESP is whole only when EPMD closes).
 *
 * Parsers return `{ value, size }` or `undefined` while more bytes are needed, and throw
 * EpmdError on malformed input. Every length is checked before it is used, so a lying
 * length never makes us read past the buffer or wait for bytes beyond the limits below.
 */
import { EpmdError, InvalidOptionError } from '../errors.js';

// Requests (client to EPMD).
export const ALIVE2_REQ = 120;
export const PORT_PLEASE2_REQ = 122;
export const NAMES_REQ = 110;
// Responses (EPMD to client).
/** ALIVE2_X_RESP: 32-bit creation; epmd answers it when the request's HighestVersion >= 6 (OTP 23+). */
export const ALIVE2_X_RESP = 118;
/** ALIVE2_RESP: the old 16-bit creation, for HighestVersion 5. */
export const ALIVE2_RESP = 121;
export const PORT2_RESP = 119;

/** NodeType 77 ('M'): a normal Erlang node. */
export const NODE_TYPE_NORMAL = 77;
/** NodeType 72 ('H'): a hidden node (C node). */
export const NODE_TYPE_HIDDEN = 72;
/** Protocol 0: TCP/IPv4 (erl sends 0 for IPv6 nodes too). */
export const PROTOCOL_TCP_IPV4 = 0;
/** The port EPMD listens on unless told otherwise (ERL_EPMD_PORT). */
export const EPMD_PORT = 4369;

/** Node names (the alive part) are atoms: at most 255 bytes here (epmd allows 255 UTF-8 characters). */
export const MAX_NODE_NAME_BYTES = 255;
/** Largest Extra field epmd stores (MAXSYMLEN in epmd_int.h). */
export const MAX_EXTRA_BYTES = 1020;
/** Largest request body: an ALIVE2_REQ with the longest name and extra. */
export const MAX_REQUEST_BYTES = 13 + MAX_NODE_NAME_BYTES + MAX_EXTRA_BYTES;

/** What a node tells EPMD in ALIVE2_REQ, and what EPMD hands back in PORT2_RESP. */
export interface NodeRegistration {
  /** The node's distribution port. */
  port: number;
  /** NODE_TYPE_NORMAL or NODE_TYPE_HIDDEN. */
  nodeType: number;
  /** PROTOCOL_TCP_IPV4. */
  protocol: number;
  highestVersion: number;
  lowestVersion: number;
  /** The alive part of the node name (before the @). */
  name: string;
  extra: Buffer;
}

/** ALIVE2_X_RESP or ALIVE2_RESP. `extended` tells which (true: 32-bit creation). */
export interface Alive2Resp {
  /** 0 = registered; anything else = refused (epmd sends 1, with creation 99). */
  result: number;
  creation: number;
  extended: boolean;
}

/** NAMES_RESP: the port EPMD says it listens on, and one entry per registered node. */
export interface NamesResp {
  epmdPort: number;
  nodes: Array<{ name: string; port: number }>;
}

/** A request as the server sees it, discriminated on the spec's name. */
export type EpmdRequest =
  | ({ type: 'ALIVE2_REQ' } & NodeRegistration)
  | { type: 'PORT_PLEASE2_REQ'; name: string }
  | { type: 'NAMES_REQ' };

/** A parser's answer: the value and how many bytes it used, or `undefined` while incomplete. */
export type Parsed<T> = { value: T; size: number } | undefined;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Why these bytes cannot be a node name, or undefined when they can. */
function nameProblem(bytes: Buffer): string | undefined {
  if (bytes.length === 0) return 'is empty';
  if (bytes.length > MAX_NODE_NAME_BYTES) return `is ${bytes.length} bytes long (at most ${MAX_NODE_NAME_BYTES})`;
  // epmd refuses NUL: it keeps names as C strings.
  if (bytes.includes(0)) return 'contains a NUL byte';
  try {
    utf8.decode(bytes);
  } catch {
    return 'is not valid UTF-8';
  }
  return undefined;
}

function nameBytes(name: string, option = 'name'): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  // A lone surrogate would silently become U+FFFD and register a different name.
  const problem = bytes.toString('utf8') !== name ? 'is not well-formed Unicode' : nameProblem(bytes);
  if (problem !== undefined) throw new InvalidOptionError(option, `a node name of 1 to ${MAX_NODE_NAME_BYTES} UTF-8 bytes without NUL`, name);
  return bytes;
}

function readName(bytes: Buffer, what: string): string {
  const problem = nameProblem(bytes);
  if (problem !== undefined) throw new EpmdError(`${what}: node name ${problem}`);
  return bytes.toString('utf8');
}

function checkUint(option: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new InvalidOptionError(option, `an integer from 0 to ${max}`, value);
  return value;
}

/** Fills a buffer field by field; the size is known up front, so nothing grows. */
class FieldWriter {
  readonly buf: Buffer;
  private at = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  u8(v: number): this {
    this.at = this.buf.writeUInt8(v, this.at);
    return this;
  }
  u16(v: number): this {
    this.at = this.buf.writeUInt16BE(v, this.at);
    return this;
  }
  u32(v: number): this {
    this.at = this.buf.writeUInt32BE(v, this.at);
    return this;
  }
  bytes(b: Buffer): this {
    this.at += b.copy(this.buf, this.at);
    return this;
  }
}

/** Wraps a request body in its 2-byte length. */
function request(body: Buffer): Buffer {
  return new FieldWriter(2 + body.length).u16(body.length).bytes(body).buf;
}

/*
 * ALIVE2_REQ (after the 2-byte length):
 * | 1   | 2      | 1        | 1        | 2              | 2             | 2    | Nlen     | 2    | Elen  |
 * | 120 | PortNo | NodeType | Protocol | HighestVersion | LowestVersion | Nlen | NodeName | Elen | Extra |
 */

/** The whole ALIVE2_REQ, length prefix included. Throws InvalidOptionError for a field out of range. */
export function composeAlive2Req(r: Omit<NodeRegistration, 'extra'> & { extra?: Buffer }): Buffer {
  const name = nameBytes(r.name);
  const extra = r.extra ?? Buffer.alloc(0);
  if (extra.length > MAX_EXTRA_BYTES) throw new InvalidOptionError('extra', `at most ${MAX_EXTRA_BYTES} bytes`, `${extra.length} bytes`);
  const w = new FieldWriter(13 + name.length + extra.length)
    .u8(ALIVE2_REQ)
    .u16(checkUint('port', r.port, 0xffff))
    .u8(checkUint('nodeType', r.nodeType, 0xff))
    .u8(checkUint('protocol', r.protocol, 0xff))
    .u16(checkUint('highestVersion', r.highestVersion, 0xffff))
    .u16(checkUint('lowestVersion', r.lowestVersion, 0xffff))
    .u16(name.length)
    .bytes(name)
    .u16(extra.length)
    .bytes(extra);
  return request(w.buf);
}

/** Parses an ALIVE2_REQ body (tag included, length prefix removed). */
export function parseAlive2Req(body: Buffer): NodeRegistration {
  if (body.length < 13 || body[0] !== ALIVE2_REQ) throw new EpmdError(`malformed ALIVE2_REQ: ${body.length} bytes`);
  const nlen = body.readUInt16BE(9);
  if (13 + nlen > body.length) throw new EpmdError(`malformed ALIVE2_REQ: name of ${nlen} bytes in a body of ${body.length}`);
  const elen = body.readUInt16BE(11 + nlen);
  if (elen > MAX_EXTRA_BYTES) throw new EpmdError(`malformed ALIVE2_REQ: extra of ${elen} bytes (at most ${MAX_EXTRA_BYTES})`);
  // Stricter than epmd, which ignores bytes after Extra: a mismatch means a broken client.
  if (13 + nlen + elen !== body.length) throw new EpmdError(`malformed ALIVE2_REQ: fields add up to ${13 + nlen + elen} bytes, body has ${body.length}`);
  return {
    port: body.readUInt16BE(1),
    nodeType: body[3],
    protocol: body[4],
    highestVersion: body.readUInt16BE(5),
    lowestVersion: body.readUInt16BE(7),
    name: readName(body.subarray(11, 11 + nlen), 'ALIVE2_REQ'),
    extra: Buffer.from(body.subarray(13 + nlen)),
  };
}

/*
 * ALIVE2_X_RESP:            ALIVE2_RESP:
 * | 1   | 1      | 4        |   | 1   | 1      | 2        |
 * | 118 | Result | Creation |   | 121 | Result | Creation |
 */

/** ALIVE2_X_RESP with a 32-bit creation. */
export function composeAlive2XResp(result: number, creation: number): Buffer {
  return new FieldWriter(6).u8(ALIVE2_X_RESP).u8(checkUint('result', result, 0xff)).u32(checkUint('creation', creation, 0xffffffff)).buf;
}

/** The old ALIVE2_RESP with a 16-bit creation. */
export function composeAlive2Resp(result: number, creation: number): Buffer {
  return new FieldWriter(4).u8(ALIVE2_RESP).u8(checkUint('result', result, 0xff)).u16(checkUint('creation', creation, 0xffff)).buf;
}

/** Parses ALIVE2_X_RESP or ALIVE2_RESP, whichever EPMD chose. */
export function parseAlive2Resp(buf: Buffer): Parsed<Alive2Resp> {
  if (buf.length === 0) return undefined;
  if (buf[0] === ALIVE2_X_RESP) {
    return buf.length < 6 ? undefined : { value: { result: buf[1], creation: buf.readUInt32BE(2), extended: true }, size: 6 };
  }
  if (buf[0] === ALIVE2_RESP) {
    return buf.length < 4 ? undefined : { value: { result: buf[1], creation: buf.readUInt16BE(2), extended: false }, size: 4 };
  }
  throw new EpmdError(`expected ALIVE2_X_RESP (118) or ALIVE2_RESP (121), got tag ${buf[0]}`);
}

/*
 * PORT_PLEASE2_REQ (after the 2-byte length):
 * | 1   | N        |
 * | 122 | NodeName |     N = Length - 1
 */

/** The whole PORT_PLEASE2_REQ, length prefix included. */
export function composePortPlease2Req(name: string): Buffer {
  const bytes = nameBytes(name);
  return request(new FieldWriter(1 + bytes.length).u8(PORT_PLEASE2_REQ).bytes(bytes).buf);
}

/** Parses a PORT_PLEASE2_REQ body to the node name asked for. */
export function parsePortPlease2Req(body: Buffer): string {
  if (body.length < 1 || body[0] !== PORT_PLEASE2_REQ) throw new EpmdError('malformed PORT_PLEASE2_REQ');
  // epmd drops one trailing NUL: clients older than R3A sent C strings.
  const end = body.length > 1 && body[body.length - 1] === 0 ? body.length - 1 : body.length;
  return readName(body.subarray(1, end), 'PORT_PLEASE2_REQ');
}

/*
 * PORT2_RESP, not registered:  | 119 | Result > 0 |
 * PORT2_RESP, registered:
 * | 1   | 1          | 2      | 1        | 1        | 2              | 2             | 2    | Nlen     | 2    | Elen  |
 * | 119 | Result = 0 | PortNo | NodeType | Protocol | HighestVersion | LowestVersion | Nlen | NodeName | Elen | Extra |
 */

/** PORT2_RESP for a registration, or the two-byte "not registered" form for null. */
export function composePort2Resp(r: NodeRegistration | null): Buffer {
  if (r === null) return Buffer.from([PORT2_RESP, 1]);
  const name = nameBytes(r.name);
  if (r.extra.length > MAX_EXTRA_BYTES) throw new InvalidOptionError('extra', `at most ${MAX_EXTRA_BYTES} bytes`, `${r.extra.length} bytes`);
  return new FieldWriter(14 + name.length + r.extra.length)
    .u8(PORT2_RESP)
    .u8(0)
    .u16(checkUint('port', r.port, 0xffff))
    .u8(checkUint('nodeType', r.nodeType, 0xff))
    .u8(checkUint('protocol', r.protocol, 0xff))
    .u16(checkUint('highestVersion', r.highestVersion, 0xffff))
    .u16(checkUint('lowestVersion', r.lowestVersion, 0xffff))
    .u16(name.length)
    .bytes(name)
    .u16(r.extra.length)
    .bytes(r.extra).buf;
}

/** Parses PORT2_RESP: the registration, or null when the name is not registered. */
export function parsePort2Resp(buf: Buffer): Parsed<NodeRegistration | null> {
  if (buf.length === 0) return undefined;
  if (buf[0] !== PORT2_RESP) throw new EpmdError(`expected PORT2_RESP (119), got tag ${buf[0]}`);
  if (buf.length < 2) return undefined;
  if (buf[1] !== 0) return { value: null, size: 2 };
  if (buf.length < 12) return undefined;
  const nlen = buf.readUInt16BE(10);
  // Judge the lengths as soon as they arrive, not after waiting for that many bytes.
  if (nlen === 0 || nlen > MAX_NODE_NAME_BYTES) throw new EpmdError(`PORT2_RESP: node name of ${nlen} bytes`);
  if (buf.length < 14 + nlen) return undefined;
  const elen = buf.readUInt16BE(12 + nlen);
  if (elen > MAX_EXTRA_BYTES) throw new EpmdError(`PORT2_RESP: extra of ${elen} bytes (at most ${MAX_EXTRA_BYTES})`);
  const size = 14 + nlen + elen;
  if (buf.length < size) return undefined;
  const value: NodeRegistration = {
    port: buf.readUInt16BE(2),
    nodeType: buf[4],
    protocol: buf[5],
    highestVersion: buf.readUInt16BE(6),
    lowestVersion: buf.readUInt16BE(8),
    name: readName(buf.subarray(12, 12 + nlen), 'PORT2_RESP'),
    extra: Buffer.from(buf.subarray(14 + nlen, size)),
  };
  return { value, size };
}

/*
 * NAMES_REQ (after the 2-byte length):  | 110 |
 */

/** The whole NAMES_REQ, length prefix included. */
export function composeNamesReq(): Buffer {
  return request(Buffer.from([NAMES_REQ]));
}

/** Checks a NAMES_REQ body: the tag and nothing else. */
export function parseNamesReq(body: Buffer): void {
  if (body.length !== 1 || body[0] !== NAMES_REQ) throw new EpmdError(`malformed NAMES_REQ: ${body.length} bytes`);
}

/*
 * NAMES_RESP:
 * | 4          | ...                                              |
 * | EPMDPortNo | NodeInfo*, each "name ~ts at port ~p\n" in UTF-8 |
 * epmd writes newest registration first; erl_epmd:names/1 splits each line at its first
 * space after "name ", so a name with a space in it is invisible to erl.
 */

/** NAMES_RESP, lines in the order given. */
export function composeNamesResp(epmdPort: number, nodes: ReadonlyArray<{ name: string; port: number }>): Buffer {
  const lines = nodes.map((n) => `name ${n.name} at port ${checkUint('port', n.port, 0xffff)}\n`).join('');
  const text = Buffer.from(lines, 'utf8');
  return new FieldWriter(4 + text.length).u32(checkUint('epmdPort', epmdPort, 0xffffffff)).bytes(text).buf;
}

const NAMES_LINE = /^name (.+) at port (\d{1,5})$/s;

/**
 * Parses NAMES_RESP. EPMD marks its end by closing the socket, so this answers
 * `undefined` until `ended` is true.
 */
export function parseNamesResp(buf: Buffer, ended = true): Parsed<NamesResp> {
  if (!ended) return undefined;
  if (buf.length < 4) throw new EpmdError(`NAMES_RESP of ${buf.length} bytes (at least 4)`);
  let text: string;
  try {
    text = utf8.decode(buf.subarray(4));
  } catch {
    throw new EpmdError('NAMES_RESP is not valid UTF-8');
  }
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new EpmdError('NAMES_RESP ends inside a line');
  const nodes = lines.map((line, i) => {
    const m = NAMES_LINE.exec(line);
    const port = m === null ? NaN : Number(m[2]);
    if (m === null || port > 0xffff) throw new EpmdError(`NAMES_RESP line ${i + 1} is not "name N at port P": ${JSON.stringify(line.slice(0, 80))}`);
    return { name: m[1], port };
  });
  return { value: { epmdPort: buf.readUInt32BE(0), nodes }, size: buf.length };
}

/**
 * Server side: one whole request from the front of `buf` (2-byte length, then the body).
 * Refuses an empty request, a length over MAX_REQUEST_BYTES and an unknown tag as soon
 * as it sees them, without waiting for the bytes the length announces.
 */
export function parseRequest(buf: Buffer): Parsed<EpmdRequest> {
  if (buf.length < 2) return undefined;
  const len = buf.readUInt16BE(0);
  if (len === 0) throw new EpmdError('empty EPMD request');
  if (len > MAX_REQUEST_BYTES) throw new EpmdError(`EPMD request of ${len} bytes (at most ${MAX_REQUEST_BYTES})`);
  if (buf.length < 3) return undefined;
  const tag = buf[2];
  if (tag !== ALIVE2_REQ && tag !== PORT_PLEASE2_REQ && tag !== NAMES_REQ) throw new EpmdError(`unsupported EPMD request ${tag}`);
  if (buf.length < 2 + len) return undefined;
  const body = buf.subarray(2, 2 + len);
  const size = 2 + len;
  if (tag === ALIVE2_REQ) return { value: { type: 'ALIVE2_REQ', ...parseAlive2Req(body) }, size };
  if (tag === PORT_PLEASE2_REQ) return { value: { type: 'PORT_PLEASE2_REQ', name: parsePortPlease2Req(body) }, size };
  parseNamesReq(body);
  return { value: { type: 'NAMES_REQ' }, size };
}

/**
 * Collects socket chunks until a parser finds a whole message. It never holds more than
 * `limit` bytes: a peer that keeps sending gets an EpmdError, not our memory.
 */
export class ChunkAccumulator {
  private buf: Buffer = Buffer.alloc(0);

  constructor(readonly limit: number) {}

  /** The bytes held so far. */
  get bytes(): Buffer {
    return this.buf;
  }

  /** Adds a chunk; throws EpmdError when the total would pass `limit`. */
  push(chunk: Buffer): void {
    if (this.buf.length + chunk.length > this.limit) throw new EpmdError(`more than ${this.limit} bytes without a whole message`);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** Runs `parse` on the held bytes; on success drops the bytes it used and returns the value. */
  take<T>(parse: (buf: Buffer) => Parsed<T>): T | undefined {
    const parsed = parse(this.buf);
    if (parsed === undefined) return undefined;
    this.buf = this.buf.subarray(parsed.size);
    return parsed.value;
  }
}
