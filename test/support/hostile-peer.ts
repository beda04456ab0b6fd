// A hand-made peer for attacks on the handshake: it speaks the handshake over a raw
// socket with the pure compose/parse functions, claims any name and creation, and can
// answer a challenge with a wrong cookie or stop answering at any step.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { LOCAL_DIST_FLAGS } from '../../src/distribution/flags.js';
import { frame2, HandshakeReader } from '../../src/distribution/framing.js';
import { composeChallengeReply, composeSendName, composeStatus, genDigest, parseChallenge, parseStatus } from '../../src/distribution/handshake.js';

export interface HostileOptions {
  host: string;
  port: number;
  /** Source address to bind, so the victim sees the attack come from elsewhere. */
  localAddress?: string;
  /** The name claimed in send_name. */
  name: string;
  creation: number;
  /** The cookie the challenge is answered with. */
  cookie: string;
  /** Where to stop: before answering `alive`, before the challenge reply, or after it (the default). */
  stopAt?: 'alive' | 'challenge_reply' | 'end';
  timeoutMs?: number;
}

export interface HostileOutcome {
  /** What the victim answered to send_name. */
  status: string;
  /** The victim sent its challenge. */
  challenged: boolean;
  /** The victim acknowledged our challenge reply: the handshake succeeded. */
  acked: boolean;
  /** The socket, still open when the attempt stopped early (the caller destroys it). */
  socket: Socket;
}

/** Runs one handshake attempt as a hostile initiator. */
export async function hostileHandshake(o: HostileOptions): Promise<HostileOutcome> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const socket = createConnection({ host: o.host, port: o.port, localAddress: o.localAddress });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const reader = new HandshakeReader(2048);
  let closed = false;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    reader.append(chunk);
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  // The next handshake message, or undefined when the socket closes (or the time runs out).
  const next = async (): Promise<Buffer | undefined> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = reader.shift();
      if (frame !== undefined) return frame;
      if (closed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
  const outcome: HostileOutcome = { status: '', challenged: false, acked: false, socket };
  socket.write(frame2(composeSendName(LOCAL_DIST_FLAGS, o.creation, o.name)));
  const status = await next();
  if (status === undefined) return outcome;
  outcome.status = parseStatus(status);
  if (outcome.status === 'alive') {
    if (o.stopAt === 'alive') return outcome;
    socket.write(frame2(composeStatus('true')));
  } else if (outcome.status !== 'ok' && outcome.status !== 'ok_simultaneous') {
    return outcome;
  }
  const challenge = await next();
  if (challenge === undefined) return outcome;
  outcome.challenged = true;
  if (o.stopAt === 'challenge_reply') return outcome;
  const { challenge: theirs } = parseChallenge(challenge);
  socket.write(frame2(composeChallengeReply(12345, genDigest(theirs, o.cookie))));
  outcome.acked = (await next()) !== undefined;
  socket.destroy();
  return outcome;
}

/**
 * After a rogue connection was dropped: its socket is closed, the node is still
 * connected to `erlName` alone, and pings go through both ways.
 */
export async function assertOnlyRogueDropped(
  node: { nodes(): string[]; ping(name: string): Promise<'pong' | 'pang'>; name: string },
  erl: { name: string; eval(expr: string): Promise<string> },
  socket: Socket,
): Promise<void> {
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 3000))]);
  assert.ok(socket.destroyed || socket.readableEnded, 'the rogue connection was closed');
  socket.destroy();
  assert.deepEqual(node.nodes(), [erl.name], 'the other connection lives on');
  assert.equal(await node.ping(erl.name), 'pong');
  assert.equal(await erl.eval(`net_adm:ping('${node.name}').`), 'pong');
}
