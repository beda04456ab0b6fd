/**
 * nessie-cluster: join Erlang, Elixir and Gleam clusters from Node.js.
 * This file is the whole public surface; everything else is internal.
 */

// Errors
export {
  ErrorCode,
  NessieError,
  DecodeError,
  EncodeError,
  EpmdError,
  HandshakeError,
  DistProtocolError,
  ConnectionClosedError,
  TimeoutError,
  InvalidOptionError,
  NotRunningError,
} from './errors.js';

// Terms: the External Term Format codec and the JavaScript forms of Erlang terms
export { encode } from './term/encode.js';
export { decode } from './term/decode.js';
export {
  Atom,
  atom,
  Tuple,
  tuple,
  isTuple,
  Float,
  float,
  ImproperList,
  BitBinary,
  Pid,
  Port,
  Reference,
  ExternalFun,
  Fun,
  LocalTerm,
} from './term/types.js';

export type { Term } from './term/types.js';
export type { EncodeOptions } from './term/encode.js';
export type { DecodeOptions } from './term/decode.js';
