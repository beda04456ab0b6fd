/**
 * The way out to other nodes. A signal for a node we are not connected to starts a
 * connect, as BEAM's auto-connect does, and waits here, in order, until the
 * connection is up; it is then sent before anything newer. If the connect fails, the
 * held signals are dropped and the node is told, so that monitors and links to that
 * node fire with `noconnection` and calls fail at once, as on BEAM.
 *
 * What is held is bounded per node: past `maxHeld` signals, new ones are refused
 * (`send` returns false) and that is logged once per connect attempt.
 *
 * A held payload is a copy taken when it was sent, as BEAM copies a message at `!`:
 * encoding it then tells the caller at once when a value has no Erlang form (the
 * EncodeError a live connection throws, with the same path), instead of failing in
 * the middle of nodeup, and a change the caller makes to the object afterwards does
 * not travel.
 */
import type { Logger } from '../logger.js';
import { decode } from '../term/decode.js';
import { writeTerm } from '../term/encode.js';
import { VERSION_MAGIC } from '../term/tags.js';
import type { Term, Tuple } from '../term/types.js';
import { Writer } from '../term/writer.js';

/** The part of a connection the outbox uses. */
export interface OutboundConnection {
  send(control: Tuple, payload?: Term): boolean;
}

/** The part of the connection table the outbox uses. */
export interface OutboundConnections {
  get(peer: string): OutboundConnection | undefined;
  connect(peer: string): Promise<{ ok: boolean }>;
}

interface Held {
  control: Tuple;
  payload: Term | undefined;
}

export class Outbox {
  private readonly held = new Map<string, Held[]>();
  private readonly overflowLogged = new Set<string>();

  constructor(
    private readonly connections: OutboundConnections,
    private readonly o: {
      maxHeld: number;
      logger: Logger;
      /** A connect made for held signals failed: fire what waits on that node. */
      onConnectFailed: (peer: string) => void;
    },
  ) {}

  /**
   * Sends a control message to `peer`, connecting first when needed (`connect:
   * false` drops it instead: answers to a node that is gone need no new connection).
   * Returns false when the connection is over its busy limit, or the signal could not
   * be held.
   */
  send(peer: string, control: Tuple, payload?: Term, connect = true): boolean {
    const waiting = this.held.get(peer);
    if (waiting === undefined) {
      const conn = this.connections.get(peer);
      if (conn !== undefined) return conn.send(control, payload);
      if (!connect) return false;
      return this.holdWhileConnecting(peer, control, payload);
    }
    if (waiting.length >= this.o.maxHeld) {
      if (!this.overflowLogged.has(peer)) {
        this.overflowLogged.add(peer);
        this.o.logger.warn(`more than ${this.o.maxHeld} signals wait for the connection to ${peer}; refusing more until it is up`);
      }
      return false;
    }
    waiting.push({ control, payload: heldCopy(payload) });
    return true;
  }

  /** The connection to `peer` is up: what waited goes out first. Called before anything else can send to it. */
  connected(peer: string): void {
    const waiting = this.held.get(peer);
    if (waiting === undefined) return;
    this.held.delete(peer);
    this.overflowLogged.delete(peer);
    const conn = this.connections.get(peer);
    for (const h of waiting) conn?.send(h.control, h.payload);
  }

  /** Signals waiting for `peer`. */
  heldFor(peer: string): number {
    return this.held.get(peer)?.length ?? 0;
  }

  private holdWhileConnecting(peer: string, control: Tuple, payload: Term | undefined): boolean {
    this.held.set(peer, [{ control, payload: heldCopy(payload) }]);
    // On success nodeup has usually flushed already (connected() runs from it).
    this.connections
      .connect(peer)
      .then(({ ok }) => {
        if (!this.held.has(peer)) return;
        if (ok && this.connections.get(peer) !== undefined) {
          this.connected(peer);
          return;
        }
        this.held.delete(peer);
        this.overflowLogged.delete(peer);
        this.o.onConnectFailed(peer);
      })
      .catch((err: unknown) => this.o.logger.error(`signals for ${peer}: ${(err as Error).message}`));
    return true;
  }
}

/**
 * The payload as it is now: encoded (throwing the EncodeError a connection would) and
 * decoded again, which encodes to the same bytes later. Only signals that wait for a
 * connection pay for it.
 */
function heldCopy(payload: Term | undefined): Term | undefined {
  if (payload === undefined) return undefined;
  const w = new Writer(256);
  w.uint8(VERSION_MAGIC);
  writeTerm(w, payload, 'payload');
  return decode(w.buf.subarray(0, w.pos));
}
