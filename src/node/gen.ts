/**
 * The gen_server call protocol as OTP's gen.erl speaks it, both ways.
 *
 * A call is `{'$gen_call', From, Request}` with `From = {Pid, Tag}`. Since OTP 24 the
 * Tag of a call made with an alias is the improper list `[alias | Ref]`, and the reply
 * must go to that alias (gen:reply/2): `Alias ! {Tag, Reply}`. Older callers use a
 * plain reference and get `Pid ! {Tag, Reply}`.
 */
import { atom, ImproperList, Pid, Reference, Tuple, tuple, type Term } from '../term/types.js';

export const GEN_CALL = atom('$gen_call');
export const GEN_CAST = atom('$gen_cast');
const ALIAS = atom('alias');

/** A received `$gen_call`: who to answer and what was asked. */
export interface GenCall {
  from: Tuple;
  request: Term;
}

/** The parts of a `{'$gen_call', From, Request}` message, or undefined if it is not one. */
export function parseGenCall(message: Term): GenCall | undefined {
  if (!(message instanceof Tuple) || message.length !== 3 || message[0] !== GEN_CALL) return undefined;
  const from = message[1];
  if (!(from instanceof Tuple) || from.length !== 2 || !(from[0] instanceof Pid)) return undefined;
  return { from, request: message[2] };
}

/**
 * Where and what to send to answer a call, as gen:reply/2 decides: to the alias of a
 * `[alias | Alias]` tag, or of a `[[alias | Alias] | _]` tag (OTP 27's multi_call),
 * else to the caller's pid.
 */
export function replyFor(from: Tuple, reply: Term): { to: Pid | Reference; message: Term } {
  const tag = from[1];
  const message = tuple(tag, reply);
  const alias = aliasOf(tag) ?? (tag instanceof ImproperList && tag.elements.length === 1 ? aliasOf(tag.elements[0]) : undefined);
  return { to: alias ?? (from[0] as Pid), message };
}

function aliasOf(tag: Term): Reference | undefined {
  return tag instanceof ImproperList && tag.elements.length === 1 && tag.elements[0] === ALIAS && tag.tail instanceof Reference ? tag.tail : undefined;
}
