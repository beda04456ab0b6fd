/**
 * Reads 2-byte (4-byte under TLS) framed handshake messages from a socket, one at a time, with a
 * deadline for the whole handshake. When the handshake is over, `finish` pauses the
 * socket and hands back whatever arrived after the last handshake message, so the
 * connection that takes over loses nothing.
 */
import type { Socket } from 'node:net';
import { HandshakeError, TimeoutError } from '../errors.js';
import { frame2, frame4, HandshakeReader, type HandshakeLengthBytes } from './framing.js';

/** Handshake messages are small: names of at most 255 characters and a few numbers. */
const MAX_HANDSHAKE_FRAME = 2048;

export class HandshakeChannel {
  private waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly reader: HandshakeReader;
  private readonly timer: NodeJS.Timeout;
  private readonly onData = (chunk: Buffer) => {
    this.reader.append(chunk);
    const w = this.waiting;
    if (w === undefined) return;
    const frame = this.take();
    if (frame === undefined) return;
    this.waiting = undefined;
    w.resolve(frame);
  };
  private readonly onClose = () => this.fail(new HandshakeError('connection closed during the handshake', this.stage, this.peer));
  private readonly onError = (err: Error) => this.fail(new HandshakeError(`socket error: ${err.message}`, this.stage, this.peer, { cause: err }));
  /** The step we are at, for error messages. */
  stage = 'send_name';
  peer: string | undefined;

  constructor(
    private readonly socket: Socket,
    timeoutMs: number,
    private readonly lengthBytes: HandshakeLengthBytes = 2,
  ) {
    this.reader = new HandshakeReader(MAX_HANDSHAKE_FRAME, lengthBytes);
    this.timer = setTimeout(() => this.fail(new TimeoutError(`handshake did not finish within ${timeoutMs} ms (at ${this.stage})`, timeoutMs)), timeoutMs);
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  /** The next handshake message. */
  next(stage: string): Promise<Buffer> {
    this.stage = stage;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const f = this.take();
    if (f !== undefined) return Promise.resolve(f);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** One message from what has arrived, or undefined; a bad length fails the handshake. */
  private take(): Buffer | undefined {
    try {
      return this.reader.shift();
    } catch (err) {
      this.fail(new HandshakeError(`bad handshake framing: ${(err as Error).message}`, this.stage, this.peer));
      return undefined;
    }
  }

  write(message: Buffer): void {
    this.socket.write(this.lengthBytes === 2 ? frame2(message) : frame4(message));
  }

  /** Detaches from the socket (paused) and returns the bytes that followed the handshake. */
  finish(): Buffer {
    this.detach();
    this.socket.pause();
    return this.reader.rest();
  }

  /** Ends the handshake with `error`, destroying the socket. */
  abort(error: Error): never {
    this.fail(error);
    throw error;
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.detach();
    this.socket.destroy();
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(error);
  }

  private detach(): void {
    clearTimeout(this.timer);
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    this.socket.off('error', this.onError);
  }
}
