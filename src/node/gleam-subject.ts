/**
 * Gleam's `Subject`s, as gleam_erlang 1.x (checked against v1.3.0,
 * src/gleam/erlang/process.gleam and src/gleam_erlang_ffi.erl) makes them at run time:
 *
 * | Gleam                          | Erlang term                  | a message sent with it          |
 * |--------------------------------|------------------------------|---------------------------------|
 * | `process.new_subject()`        | `{subject, OwnerPid, Tag}`   | `OwnerPid ! {Tag, Message}`     |
 * | `process.named_subject(name)`  | `{named_subject, Name}`      | `whereis(Name) ! {Name, Message}` |
 *
 * Tag is a fresh reference (since v1.3.0 it may be any term; `new_subject` still makes
 * a reference), Name an atom. `process.receive` is a selective receive of `{Tag, M}`
 * (of `{Name, M}` for a named subject); `process.call` makes a reply subject, monitors
 * the callee, sends `make_request(reply_subject)` and waits for the reply or the DOWN.
 * A Gleam custom type value `Get(reply_to)` is the tuple `{get, ReplyTo}`.
 */
import { CallError, TimeoutError } from '../errors.js';
import { encode } from '../term/encode.js';
import { Atom, atom, isTuple, Pid, Reference, tuple, type Term, type Tuple } from '../term/types.js';
import type { Destination, Process } from './process.js';

const SUBJECT = atom('subject');
const NAMED_SUBJECT = atom('named_subject');
const DOWN = atom('DOWN');

/** What the helpers need from the node (the public Node API). */
export interface SubjectHost {
  readonly name: string;
  spawn(): Process;
  makeRef(): Reference;
  send(dest: Destination, message: Term): boolean;
  whereis(name: string): Pid | undefined;
}

/** A subject's parts: owned by a process (`{subject, Pid, Tag}`) or named (`{named_subject, Name}`). */
export type SubjectParts = { kind: 'subject'; owner: Pid; tag: Term } | { kind: 'named'; name: Atom };

/** The parts of a Gleam subject, or undefined when `term` is not one. */
export function parseSubject(term: Term): SubjectParts | undefined {
  if (!isTuple(term)) return undefined;
  if (term.length === 3 && term[0] === SUBJECT && term[1] instanceof Pid) return { kind: 'subject', owner: term[1], tag: term[2] };
  if (term.length === 2 && term[0] === NAMED_SUBJECT && term[1] instanceof Atom) return { kind: 'named', name: term[1] };
  return undefined;
}

/**
 * Gleam subjects from TypeScript (`node.gleam`). Subjects are plain terms, so they go
 * inside messages as they are: `tuple(atom('subscribe'), subject)`.
 */
export class GleamSubjects {
  /** Made by the node: use `node.gleam`. */
  constructor(private readonly host: SubjectHost) {}

  /** A new subject owned by `owner`, as `process.new_subject()` in that process: `{subject, Pid, Ref}`. */
  newSubject(owner: Process): Tuple {
    return tuple(SUBJECT, owner.pid, this.host.makeRef());
  }

  /** `process.named_subject(name)`: `{named_subject, name}`. Names are atoms: make them once, never from untrusted input. */
  namedSubject(name: string): Tuple {
    return tuple(NAMED_SUBJECT, atom(name));
  }

  /**
   * The next message sent on `subject` to `owner`, as `process.receive(subject, within: timeoutMs)`:
   * a selective receive of `{Tag, Message}` (`{Name, Message}` for a named subject); other
   * messages stay in the mailbox, in order.
   * @throws TypeError when `subject` is not a subject, or is owned by another process (Gleam panics there too).
   * Rejects with TimeoutError after `timeoutMs`, NotRunningError once `owner` has exited.
   */
  async receive(owner: Process, subject: Term, timeoutMs?: number): Promise<Term> {
    const s = parseSubject(subject);
    if (s === undefined) throw new TypeError('receive: not a Gleam subject');
    if (s.kind === 'subject' && !s.owner.equals(owner.pid)) throw new TypeError('receive: the subject is owned by another process');
    const tag = s.kind === 'subject' ? s.tag : s.name;
    const m = await owner.receive((message) => isTuple(message) && message.length === 2 && sameTerm(message[0], tag), timeoutMs);
    return (m as Tuple)[1];
  }

  /**
   * Sends `message` on `subject`, as `process.send(subject, message)`: `{Tag, message}` to
   * its owner. A named subject names a process on one node: `{Name, message}` goes to
   * `Name` on `options.node` (this node by default). `options.from` is the sending
   * process (default: the node's own). Returns false when the connection is busy.
   * @throws TypeError when `subject` is not a subject; NotRegisteredError for a named subject on this node that nobody holds (Gleam panics there).
   */
  send(subject: Term, message: Term, options: { node?: string; from?: Process } = {}): boolean {
    const s = parseSubject(subject);
    if (s === undefined) throw new TypeError('send: not a Gleam subject');
    const sender = options.from ?? this.host;
    if (s.kind === 'subject') return sender.send(s.owner, tuple(s.tag, message));
    const node = options.node ?? this.host.name;
    return sender.send(node === this.host.name ? s.name.name : { name: s.name.name, node }, tuple(s.name, message));
  }

  /**
   * `process.call(subject, waiting: timeoutMs, sending: makeRequest)`: monitors the
   * subject's owner, sends `makeRequest(replySubject)` on `subject`, and resolves to
   * what comes back on the reply subject. For a named subject, `options.node` says
   * where the name lives (this node by default).
   * @throws CallError with the owner's exit reason when it exits first (Gleam panics "callee exited"),
   * `noproc` when it does not exist; TimeoutError after `timeoutMs` (default 5000).
   */
  async call(subject: Term, makeRequest: (replyTo: Tuple) => Term, options: { timeoutMs?: number; node?: string } = {}): Promise<Term> {
    const s = parseSubject(subject);
    if (s === undefined) throw new TypeError('call: not a Gleam subject');
    const timeoutMs = options.timeoutMs ?? 5000;
    const node = options.node ?? this.host.name;
    // Gleam panics "Callee subject had no owner" here; sending would throw NotRegisteredError.
    if (s.kind === 'named' && node === this.host.name && this.host.whereis(s.name.name) === undefined) {
      throw new CallError(`Gleam call failed: no process is registered as ${s.name.name}`, atom('noproc'));
    }
    // A process of its own per call, like the calling Gleam process: its mailbox holds
    // only this call's reply and DOWN, and exiting it ends the monitor and drops late replies.
    const caller = this.host.spawn();
    try {
      const replyTo = this.newSubject(caller);
      const ref = caller.monitor(s.kind === 'subject' ? s.owner : { name: s.name.name, node });
      this.send(subject, makeRequest(replyTo), { node, from: caller });
      const replyTag = replyTo[2];
      const isReply = (m: Term) => isTuple(m) && m.length === 2 && sameTerm(m[0], replyTag);
      const isDown = (m: Term) => isTuple(m) && m.length === 5 && m[0] === DOWN && ref.equals(m[1]);
      let m: Term;
      try {
        m = await caller.receive((x) => isReply(x) || isDown(x), timeoutMs);
      } catch (err) {
        if (err instanceof TimeoutError) throw new TimeoutError(`Gleam call got no reply within ${timeoutMs} ms`, timeoutMs);
        throw err;
      }
      if (isDown(m)) {
        const reason = (m as Tuple)[4];
        throw new CallError(`Gleam call failed: callee exited: ${String(reason)}`, reason);
      }
      return (m as Tuple)[1];
    } finally {
      caller.exit();
    }
  }
}

/**
 * Exact equality (=:=) for a subject tag: references and pids by value, atoms and
 * numbers by identity, any other term by its encoding.
 */
function sameTerm(a: Term, b: Term): boolean {
  if (a === b) return true;
  if (b instanceof Reference || b instanceof Pid) return b.equals(a);
  if (typeof a !== 'object' || typeof b !== 'object' || a instanceof Atom || b instanceof Atom) return false;
  try {
    return encode(a).equals(encode(b));
  } catch {
    return false;
  }
}
