/**
 * Phoenix channel events through PubSub. `MyAppWeb.Endpoint.broadcast(topic, event,
 * payload)` broadcasts `%Phoenix.Socket.Broadcast{topic, event, payload}` with the
 * dispatcher `Phoenix.Channel.Server`, whose dispatch/3 writes it to each browser socket
 * joined to the topic (phoenix 1.7/1.8). Broadcasting the same from TS reaches those
 * browsers; the payload is serialized by the socket's serializer (JSON by default), so
 * give it binary keys with `jsonTerm`.
 */
import type { Term } from '../../term/types.js';
import { elixirString, elixirStruct, parseElixirStruct } from '../elixir.js';
import { CHANNEL_DISPATCHER } from './messages.js';
import type { PubSub } from './pubsub.js';

const BROADCAST_STRUCT = 'Phoenix.Socket.Broadcast';

/** A channel event as JS reads it. */
export interface ChannelEvent {
  topic: string;
  event: string;
  payload: Term;
}

/** `%Phoenix.Socket.Broadcast{topic: topic, event: event, payload: payload}`. */
export function channelBroadcast(topic: string, event: string, payload: Term): Map<Term, Term> {
  if (typeof topic !== 'string' || typeof event !== 'string') throw new TypeError('channelBroadcast: topic and event are strings');
  return elixirStruct(BROADCAST_STRUCT, { topic, event, payload });
}

/** The parts of a `%Phoenix.Socket.Broadcast{}` a subscriber received, or undefined for any other message. */
export function parseChannelBroadcast(message: Term): ChannelEvent | undefined {
  const s = parseElixirStruct(message, BROADCAST_STRUCT);
  if (s === undefined) return undefined;
  const topic = elixirString(s.fields.topic);
  const event = elixirString(s.fields.event);
  if (topic === undefined || event === undefined || !('payload' in s.fields)) return undefined;
  return { topic, event, payload: s.fields.payload };
}

/**
 * Broadcasts a channel event, as `MyAppWeb.Endpoint.broadcast(topic, event, payload)`
 * does: browsers joined to `topic` on any Phoenix node receive `event` with `payload`,
 * and TS subscribers of `topic` get the struct (see `parseChannelBroadcast`).
 */
export function broadcastChannelEvent(pubsub: PubSub, topic: string, event: string, payload: Term): Promise<void> {
  return pubsub.broadcast(topic, channelBroadcast(topic, event, payload), CHANNEL_DISPATCHER);
}
