/**
 * The accepting side of the handshake (dist_util's "B" side), states named after
 * what they wait for: name, (alive answer,) complement, challenge reply.
 */
import type { Socket } from 'node:net';
import { HandshakeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { DFLAGS_MANDATORY_OTP25, DFLAG_HANDSHAKE_23, formatFlags, missingMandatory } from './flags.js';
import { HandshakeChannel } from './handshake-channel.js';
import type { HandshakeLengthBytes } from './framing.js';
import {
  composeChallenge,
  composeChallengeAck,
  composeStatus,
  digestsEqual,
  genChallenge,
  genDigest,
  parseChallengeReply,
  parseComplement,
  parseSendName,
  parseStatus,
  type Status,
} from './handshake.js';
import type { HandshakeResult } from './initiator.js';

/** What the node says of a peer that has just named itself (recv_status). */
export type PeerNameVerdict = Status;

export interface AcceptorOptions {
  localName: string;
  cookie: string;
  localFlags: bigint;
  creation: number;
  timeoutMs: number;
  /** Length prefix of handshake messages: 2 (TCP, the default) or 4 (TLS, as inet_tls_dist). */
  handshakeLengthBytes?: HandshakeLengthBytes;
  /** Decides whether to go on: 'ok', or OTP's answers for simultaneous connects and known nodes. */
  onPeerName: (peerName: string, peerCreation: number | undefined) => PeerNameVerdict;
  logger?: Logger;
}

/**
 * Runs the handshake on an accepted socket.
 * @throws HandshakeError (ERR_HANDSHAKE) naming the stage; TimeoutError after timeoutMs. The socket is destroyed on failure.
 */
export async function acceptHandshake(socket: Socket, o: AcceptorOptions): Promise<HandshakeResult> {
  const ch = new HandshakeChannel(socket, o.timeoutMs, o.handshakeLengthBytes);

  // waiting for name
  const hello = parseSendName(await ch.next('send_name'));
  ch.peer = hello.name;
  const refuse = (message: string, stage: string): never => ch.abort(new HandshakeError(message, stage, hello.name));
  // OTP 23/24 peers that skipped EPMD send the old form but still speak the new handshake.
  if ((hello.flags & DFLAG_HANDSHAKE_23) === 0n) refuse('peer does not speak the OTP 23+ handshake', 'send_name');
  const verdict = o.onPeerName(hello.name, hello.creation);
  ch.write(composeStatus(verdict));
  if (verdict === 'nok' || verdict === 'not_allowed') refuse(`refused: ${verdict}`, 'send_status');
  if (verdict === 'alive') {
    // waiting for the alive answer: 'true' means the peer's old connection is dead.
    const answer = parseStatus(await ch.next('recv_status_alive'));
    if (answer !== 'true') refuse('peer kept its existing connection', 'recv_status_alive');
  }

  const ours = genChallenge();
  ch.write(composeChallenge({ flags: o.localFlags, challenge: ours, creation: o.creation, name: o.localName }));

  let flags = hello.flags;
  let creation = hello.creation;
  if (hello.form === 'n') {
    // waiting for complement: the high flag bits and creation the old send_name could not carry.
    const c = parseComplement(await ch.next('send_complement'));
    flags |= c.flagsHigh;
    creation = c.creation;
  }
  const missing = missingMandatory(flags, DFLAGS_MANDATORY_OTP25);
  if (missing !== 0n) refuse(`peer lacks mandatory flags ${formatFlags(missing)}`, 'send_name');

  // waiting for challenge reply
  const reply = parseChallengeReply(await ch.next('send_challenge_reply'));
  if (!digestsEqual(reply.digest, genDigest(ours, o.cookie))) refuse('peer answered our challenge wrongly: cookies differ', 'send_challenge_reply');
  ch.write(composeChallengeAck(genDigest(reply.challenge, o.cookie)));
  o.logger?.debug(`handshake with ${hello.name} done (flags ${formatFlags(flags)})`);
  return { peerName: hello.name, peerFlags: flags, peerCreation: creation ?? 0, leftover: ch.finish() };
}
