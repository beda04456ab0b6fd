/**
 * The initiating side of the handshake (dist_util's "A" side), states named after
 * what they wait for: status, challenge, challenge ack.
 */
import type { Socket } from 'node:net';
import { HandshakeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { DFLAGS_MANDATORY_OTP25, formatFlags, missingMandatory } from './flags.js';
import { HandshakeChannel } from './handshake-channel.js';
import type { HandshakeLengthBytes } from './framing.js';
import {
  composeChallengeReply,
  composeSendName,
  composeStatus,
  digestsEqual,
  genChallenge,
  genDigest,
  parseChallenge,
  parseChallengeAck,
  parseStatus,
} from './handshake.js';

export interface InitiatorOptions {
  localName: string;
  peerName: string;
  cookie: string;
  localFlags: bigint;
  creation: number;
  timeoutMs: number;
  /** Length prefix of handshake messages: 2 (TCP, the default) or 4 (TLS, as inet_tls_dist). */
  handshakeLengthBytes?: HandshakeLengthBytes;
  logger?: Logger;
}

/** A finished handshake. `leftover` holds bytes that arrived after it, for the connection. */
export interface HandshakeResult {
  peerName: string;
  peerFlags: bigint;
  peerCreation: number;
  leftover: Buffer;
}

/**
 * Runs the handshake on a connected socket as the initiator.
 * @throws HandshakeError (ERR_HANDSHAKE) naming the stage; TimeoutError after timeoutMs. The socket is destroyed on failure.
 */
export async function initiateHandshake(socket: Socket, o: InitiatorOptions): Promise<HandshakeResult> {
  const ch = new HandshakeChannel(socket, o.timeoutMs, o.handshakeLengthBytes);
  ch.peer = o.peerName;
  const refuse = (message: string, stage: string): never => ch.abort(new HandshakeError(message, stage, o.peerName));

  ch.write(composeSendName(o.localFlags, o.creation, o.localName));

  // waiting for status
  const status = parseStatus(await ch.next('recv_status'));
  if (status === 'alive') {
    // The peer still has a connection from an earlier us; we are dialling, so ours is the live one.
    ch.write(composeStatus('true'));
  } else if (status !== 'ok' && status !== 'ok_simultaneous') {
    refuse(`peer answered ${status}`, 'recv_status');
  }

  // waiting for challenge
  const challenge = parseChallenge(await ch.next('recv_challenge'));
  if (challenge.name !== o.peerName) refuse(`peer says it is ${challenge.name}`, 'recv_challenge');
  const missing = missingMandatory(challenge.flags, DFLAGS_MANDATORY_OTP25);
  if (missing !== 0n) refuse(`peer lacks mandatory flags ${formatFlags(missing)}`, 'recv_challenge');
  const ours = genChallenge();
  ch.write(composeChallengeReply(ours, genDigest(challenge.challenge, o.cookie)));

  // waiting for challenge ack
  const ack = parseChallengeAck(await ch.next('recv_challenge_ack'));
  if (!digestsEqual(ack, genDigest(ours, o.cookie))) refuse('peer answered our challenge wrongly: cookies differ', 'recv_challenge_ack');
  o.logger?.debug(`handshake with ${o.peerName} done (flags ${formatFlags(challenge.flags)})`);
  return { peerName: challenge.name, peerFlags: challenge.flags, peerCreation: challenge.creation, leftover: ch.finish() };
}
