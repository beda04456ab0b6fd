/**
 * How the binaries of a message from another node arrive at the process it is for:
 * as Buffers (the default, lossless and typed), or, where a process asks for it (the
 * node's `binaries` option, or `spawn({ binaries })`), as strings when they are valid
 * UTF-8, all of them (`'utf8'`) or map keys only (`'utf8-keys'`), as
 * `decode(bytes, { binaries })` gives them.
 *
 * The payload of a message is decoded once, by its connection, before it is routed, so
 * the connection asks which way first (receiverBinaries, from the control message
 * alone). The node's own services (rex, net_kernel, global, pg scopes, the node's
 * system process) never ask: they keep Buffers. Exit reasons (in DOWN and `'EXIT'`
 * messages) stay Buffers too: they are BEAM's words about a process, not user data.
 */
import { DOP } from '../distribution/control.js';
import { InvalidOptionError } from '../errors.js';
import { decode } from '../term/decode.js';
import { encode } from '../term/encode.js';
import { Atom, Pid, Reference, type Term, type Tuple } from '../term/types.js';
import type { Registry } from './registry.js';

/** How binaries in messages from other nodes arrive: see `NodeOptions.binaries`. */
export type Binaries = 'buffer' | 'utf8' | 'utf8-keys';

/** `v` as a Binaries option, or InvalidOptionError naming `option`. */
export function checkBinaries(option: string, v: unknown): Binaries {
  if (v === 'buffer' || v === 'utf8' || v === 'utf8-keys') return v;
  throw new InvalidOptionError(option, "'buffer', 'utf8' or 'utf8-keys'", v);
}

/**
 * The binaries mode of whoever gets the payload of `control`: the local process (or
 * call) a SEND, REG_SEND or ALIAS_SEND is for, and for a SPAWN_REQUEST (erpc's call
 * into an exposed function, whose payload is the arguments) `spawnRequests`. Undefined,
 * Buffers, for anything else (exit reasons) and for nobody (the message is dropped).
 */
export function receiverBinaries(control: Tuple, registry: Registry, spawnRequests: Binaries): Binaries | undefined {
  switch (control[0]) {
    case DOP.SEND:
    case DOP.SEND_TT:
    case DOP.SEND_SENDER:
    case DOP.SEND_SENDER_TT: {
      const to = control[2];
      return to instanceof Pid ? registry.local(to)?.binaries : undefined;
    }
    case DOP.REG_SEND:
    case DOP.REG_SEND_TT: {
      const name = control[3];
      return name instanceof Atom ? registry.whereis(name.name)?.binaries : undefined;
    }
    case DOP.ALIAS_SEND:
    case DOP.ALIAS_SEND_TT: {
      const alias = control[2];
      return alias instanceof Reference ? registry.aliasOwner(alias)?.binaries : undefined;
    }
    case DOP.SPAWN_REQUEST:
    case DOP.SPAWN_REQUEST_TT:
      return spawnRequests;
    default:
      return undefined;
  }
}

/**
 * A term decoded with Buffers, as a receiver in `mode` would have had it: for what
 * reaches user code through a service that decodes with Buffers (the arguments of a
 * call served by rex, a message rex relays). Encoded and decoded again, so it costs a
 * copy (on those rare paths only) and is as deep-safe as the codec.
 */
export function asReceived(term: Term, mode: Binaries | undefined): Term {
  if (mode === undefined || mode === 'buffer') return term;
  return decode(encode(term), { binaries: mode });
}
