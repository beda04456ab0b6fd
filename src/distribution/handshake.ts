/**
 * The distribution handshake messages (version 6, OTP 23+), as pure compose/parse
 * pairs, and the MD5 challenge digest. Frames here are the payloads inside the
 * 2-byte length prefix (framing.ts adds and removes it).
 * Spec: erts/doc/guides/erl_dist_protocol.md, "Distribution Handshake";
 * behaviour: lib/kernel/src/dist_util.erl.
 *
 * Nothing here logs, and no error carries the cookie or raw bytes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { HandshakeError } from '../errors.js';
import { expandMandatory25Digest } from './flags.js';

/** Statuses the acceptor sends after send_name (recv_status). */
export type Status = 'ok' | 'ok_simultaneous' | 'nok' | 'not_allowed' | 'alive';

export interface SendName {
  /** 'N' (OTP 23+, 64-bit flags and creation) or 'n' (old, version 5, 32-bit flags). */
  form: 'N' | 'n';
  flags: bigint;
  /** Only in the 'N' form. */
  creation: number | undefined;
  name: string;
}

export interface Challenge {
  flags: bigint;
  challenge: number;
  creation: number;
  name: string;
}

const MAX_NAME_BYTES = 255 * 4;

function fail(message: string, stage: string): never {
  throw new HandshakeError(message, stage);
}

function need(buf: Buffer, n: number, stage: string): void {
  if (buf.length < n) fail(`${stage} message truncated: ${buf.length} bytes, at least ${n} needed`, stage);
}

function readName(buf: Buffer, at: number, len: number, stage: string): string {
  if (len === 0 || len > MAX_NAME_BYTES) fail(`node name of ${len} bytes`, stage);
  if (buf.length !== at + len) fail(`${stage} message has ${buf.length - at - len} unexpected bytes`, stage);
  const name = buf.toString('utf8', at, at + len);
  // dist_util:is_node_name/1: exactly one @, with text on both sides ('a@b@c', '@h', 'a@' are refused).
  const at1 = name.indexOf('@');
  if (at1 <= 0 || at1 === name.length - 1 || name.indexOf('@', at1 + 1) !== -1) fail(`node name ${JSON.stringify(name)} is not basename@host`, stage);
  return name;
}

/**
 * send_name, new form:
 * | 1   | 8     | 4        | 2     | Nlen |
 * | 'N' | Flags | Creation | Nlen  | Name |
 */
export function composeSendName(flags: bigint, creation: number, name: string): Buffer {
  const n = Buffer.from(name, 'utf8');
  const out = Buffer.allocUnsafe(15 + n.length);
  out[0] = 0x4e; // 'N'
  out.writeBigUInt64BE(flags, 1);
  out.writeUInt32BE(creation, 9);
  out.writeUInt16BE(n.length, 13);
  n.copy(out, 15);
  return out;
}

/**
 * send_name, either form (flags with DFLAG_MANDATORY_25_DIGEST expanded, as OTP does).
 * The old one (OTP 23/24 peers that skipped EPMD and so do not know our version) is:
 * | 1   | 2         | 4     | rest |
 * | 'n' | Version=5 | Flags | Name |
 */
export function parseSendName(buf: Buffer): SendName {
  const stage = 'send_name';
  need(buf, 1, stage);
  if (buf[0] === 0x4e) {
    need(buf, 15, stage);
    const len = buf.readUInt16BE(13);
    return { form: 'N', flags: expandMandatory25Digest(buf.readBigUInt64BE(1)), creation: buf.readUInt32BE(9), name: readName(buf, 15, len, stage) };
  }
  if (buf[0] === 0x6e) {
    need(buf, 8, stage);
    const version = buf.readUInt16BE(1);
    if (version !== 5 && version !== 6) fail(`unsupported distribution version ${version}`, stage);
    return { form: 'n', flags: expandMandatory25Digest(BigInt(buf.readUInt32BE(3))), creation: undefined, name: readName(buf, 7, buf.length - 7, stage) };
  }
  return fail(`unexpected tag ${buf[0]}`, stage);
}

/** recv_status: | 's' | Status |  ("named:" replies are for dynamic names, which we never ask for). */
export function composeStatus(status: Status | 'true' | 'false'): Buffer {
  return Buffer.concat([Buffer.from('s'), Buffer.from(status, 'latin1')]);
}

export function parseStatus(buf: Buffer): string {
  need(buf, 2, 'recv_status');
  if (buf[0] !== 0x73) fail(`unexpected tag ${buf[0]}`, 'recv_status');
  return buf.toString('latin1', 1);
}

/**
 * The acceptor's challenge, new form:
 * | 1   | 8     | 4         | 4        | 2    | Nlen |
 * | 'N' | Flags | Challenge | Creation | Nlen | Name |
 */
export function composeChallenge(c: Challenge): Buffer {
  const n = Buffer.from(c.name, 'utf8');
  const out = Buffer.allocUnsafe(19 + n.length);
  out[0] = 0x4e;
  out.writeBigUInt64BE(c.flags, 1);
  out.writeUInt32BE(c.challenge, 9);
  out.writeUInt32BE(c.creation, 13);
  out.writeUInt16BE(n.length, 17);
  n.copy(out, 19);
  return out;
}

/** The challenge; its flags with DFLAG_MANDATORY_25_DIGEST expanded, as OTP does. */
export function parseChallenge(buf: Buffer): Challenge {
  const stage = 'recv_challenge';
  need(buf, 19, stage);
  if (buf[0] !== 0x4e) fail(`unexpected tag ${buf[0]} (only the OTP 23+ challenge is supported)`, stage);
  return {
    flags: expandMandatory25Digest(buf.readBigUInt64BE(1)),
    challenge: buf.readUInt32BE(9),
    creation: buf.readUInt32BE(13),
    name: readName(buf, 19, buf.readUInt16BE(17), stage),
  };
}

/**
 * send_complement, from an initiator that sent the old send_name but speaks the new
 * handshake: | 'c' | FlagsHigh (4) | Creation (4) |
 */
export function parseComplement(buf: Buffer): { flagsHigh: bigint; creation: number } {
  const stage = 'send_complement';
  need(buf, 9, stage);
  if (buf[0] !== 0x63 || buf.length !== 9) fail('malformed complement', stage);
  return { flagsHigh: BigInt(buf.readUInt32BE(1)) << 32n, creation: buf.readUInt32BE(5) };
}

/** send_challenge_reply: | 'r' | Challenge (4) | Digest (16) | */
export function composeChallengeReply(challenge: number, digest: Buffer): Buffer {
  const out = Buffer.allocUnsafe(21);
  out[0] = 0x72;
  out.writeUInt32BE(challenge, 1);
  digest.copy(out, 5);
  return out;
}

export function parseChallengeReply(buf: Buffer): { challenge: number; digest: Buffer } {
  const stage = 'send_challenge_reply';
  if (buf.length !== 21 || buf[0] !== 0x72) fail('malformed challenge reply', stage);
  return { challenge: buf.readUInt32BE(1), digest: buf.subarray(5, 21) };
}

/** recv_challenge_ack: | 'a' | Digest (16) | */
export function composeChallengeAck(digest: Buffer): Buffer {
  return Buffer.concat([Buffer.from('a'), digest]);
}

export function parseChallengeAck(buf: Buffer): Buffer {
  if (buf.length !== 17 || buf[0] !== 0x61) fail('malformed challenge ack', 'recv_challenge_ack');
  return buf.subarray(1);
}

/** A random 32-bit challenge from the system's CSPRNG. */
export function genChallenge(): number {
  return randomBytes(4).readUInt32BE(0);
}

/** MD5 of the cookie followed by the challenge as unsigned decimal text (dist_util:gen_digest/2). */
export function genDigest(challenge: number, cookie: string): Buffer {
  return createHash('md5').update(cookie, 'latin1').update(String(challenge >>> 0)).digest();
}

/** Constant-time digest comparison. */
export function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * OTP's rule for two nodes connecting to each other at once (dist_util/net_kernel):
 * the node whose name sorts higher keeps its own outgoing attempt, so it answers the
 * other's attempt `nok`; the lower one gives its own up and answers `ok_simultaneous`.
 */
export function resolveSimultaneous(localName: string, peerName: string): 'nok' | 'ok_simultaneous' {
  // Erlang compares the node atoms by their text.
  return Buffer.compare(Buffer.from(localName, 'utf8'), Buffer.from(peerName, 'utf8')) > 0 ? 'nok' : 'ok_simultaneous';
}
