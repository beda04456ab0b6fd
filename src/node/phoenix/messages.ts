/**
 * What Phoenix.PubSub's default adapter (`Phoenix.PubSub.PG2`, phoenix_pubsub 2.x; shapes
 * read from 2.2.0) puts on the wire, and the names it uses:
 *
 * - the pubsub `MyApp.PubSub` has the adapter name `'Elixir.MyApp.PubSub.Adapter'`
 *   (`Module.concat(name, "Adapter")`);
 * - with `pool_size` N it runs N workers, registered as `<Adapter>`, `<Adapter>_2` ...
 *   `<Adapter>_N`, each joined to the pg group of its own name in scope
 *   `'Elixir.Phoenix.PubSub'`;
 * - a broadcast sends `{forward_to_local, Topic, Message, Dispatcher}` to every member of
 *   one group on other nodes; the worker receiving it dispatches to its node's
 *   subscribers through `Dispatcher:dispatch/3`.
 */
import { Atom, atom, Tuple, tuple, type Term } from '../../term/types.js';
import { elixirString } from '../elixir.js';

/** The pg scope every Phoenix.PubSub instance of a node shares (Phoenix.PubSub.Application starts it). */
export const PUBSUB_SCOPE = 'Elixir.Phoenix.PubSub';
/** The default dispatcher: `Phoenix.PubSub.dispatch/3` sends the message to each subscriber. */
export const DEFAULT_DISPATCHER: Atom = atom('Elixir.Phoenix.PubSub');
/** The Phoenix channel dispatcher (`Endpoint.broadcast/3`), whose messages are `%Phoenix.Socket.Broadcast{}`. */
export const CHANNEL_DISPATCHER: Atom = atom('Elixir.Phoenix.Channel.Server');
/**
 * The most pool groups we follow. Phoenix pools are a handful of workers; a peer that
 * joins `<Adapter>_100000` must not make us spawn that many processes.
 */
export const MAX_POOL_SIZE = 256;

const FORWARD_TO_LOCAL = atom('forward_to_local');
const ELIXIR_PREFIX = 'Elixir.';

/** The topic, message and dispatcher of a `{forward_to_local, ...}` a worker receives. */
export interface ForwardToLocal {
  topic: string;
  message: Term;
  dispatcher: Atom;
}

/**
 * `'Elixir.MyApp.PubSub.Adapter'` for the pubsub name `MyApp.PubSub` (or
 * `Elixir.MyApp.PubSub`), as `Module.concat(name, "Adapter")` makes it; a plain atom
 * name such as `my_pubsub` gives `'Elixir.my_pubsub.Adapter'`, as it does in Elixir.
 * @throws TypeError for an empty name.
 */
export function adapterName(pubsubName: string): string {
  const bare = pubsubName.startsWith(ELIXIR_PREFIX) ? pubsubName.slice(ELIXIR_PREFIX.length) : pubsubName;
  if (bare === '') throw new TypeError('PubSub: the name must not be empty');
  return `${ELIXIR_PREFIX}${bare}.Adapter`;
}

/** The name of pool group `index` (1-based): the adapter name itself for 1, `<Adapter>_<index>` after. */
export function poolGroupName(adapter: string, index: number): string {
  return index === 1 ? adapter : `${adapter}_${index}`;
}

/** The 1-based pool index of `group` for `adapter`, or undefined when it is not one of its groups (or beyond MAX_POOL_SIZE). */
export function poolGroupIndex(adapter: string, group: Term): number | undefined {
  if (!(group instanceof Atom)) return undefined;
  if (group.name === adapter) return 1;
  if (!group.name.startsWith(`${adapter}_`)) return undefined;
  const suffix = group.name.slice(adapter.length + 1);
  if (!/^[1-9][0-9]{0,5}$/.test(suffix)) return undefined; // Elixir writes the number plainly: no sign, no leading zero
  const index = Number(suffix);
  return index >= 2 && index <= MAX_POOL_SIZE ? index : undefined;
}

/** `{forward_to_local, Topic, Message, Dispatcher}`: the topic is sent as an Elixir string (a binary). */
export function buildForwardToLocal(topic: string, message: Term, dispatcher: Atom): Tuple {
  return tuple(FORWARD_TO_LOCAL, topic, message, dispatcher);
}

/** The parts of a `{forward_to_local, ...}`, or undefined for anything else (a worker ignores it, as PG2Worker does). */
export function parseForwardToLocal(m: Term): ForwardToLocal | undefined {
  if (!(m instanceof Tuple) || m.length !== 4 || m[0] !== FORWARD_TO_LOCAL || !(m[3] instanceof Atom)) return undefined;
  // Topics are Elixir strings; a binary that is not UTF-8 is no topic anyone subscribed to.
  const topic = m[1] instanceof Uint8Array || typeof m[1] === 'string' ? elixirString(m[1]) : undefined;
  if (topic === undefined) return undefined;
  return { topic, message: m[2], dispatcher: m[3] };
}
