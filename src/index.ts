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
  NotRegisteredError,
  CallError,
  RpcError,
} from './errors.js';
export { silentLogger, consoleLogger } from './logger.js';

// Terms: the External Term Format codec and the JavaScript forms of Erlang terms
export { encode, encodeInto } from './term/encode.js';
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

// Node: a distributed Erlang node, its processes and messages
export { Node } from './node/node.js';
export { Process } from './node/process.js';
export { PgScope } from './node/pg/scope.js';
export { GenServer, callReply, noReply } from './node/gen-server.js';
export { GleamSubjects, parseSubject } from './node/gleam-subject.js';
export { PubSub } from './node/phoenix/pubsub.js';
export { Subscription } from './node/phoenix/subscribers.js';
export { broadcastChannelEvent, channelBroadcast, parseChannelBroadcast } from './node/phoenix/channel-broadcast.js';
export { elixirModule, elixirModuleName, elixirStruct, parseElixirStruct, elixirString, charlist, jsonTerm } from './node/elixir.js';

// EPMD: the embedded port mapper, usable on its own
export { EpmdServer } from './epmd/server.js';

// Cluster: the nessie_cluster API (DNS discovery)
export { DnsCluster, DnsQuery, startSpec, discoverNodes, hasRan, stop, defaultLogger } from './cluster/dns-cluster.js';
export { DnsClusterHandle } from './cluster/handle.js';
export { defaultResolver } from './cluster/resolver.js';

export type { Term, DecodedTerm, DecodedImproperList, TupleConstructor } from './term/types.js';
export type { Logger, LoggerOption, LogFunction, LogLevel } from './logger.js';
export type { NodeOptions } from './node/options.js';
export type { NodeTlsOptions } from './node/tls-options.js';
export type { NodeEvents, NodedownReason, NodeStats, SpawnOptions, ServeOptions } from './node/node.js';
export type { Binaries } from './node/binaries.js';
export type { ConnectionStats } from './distribution/connection.js';
export type { ConnectResult } from './node/connections.js';
export type { Destination, GlobalName } from './node/process.js';
export type { Matcher } from './node/mailbox.js';
export type { PgMembers, PgListener, PgScopeMonitor, PgGroupMonitor } from './node/pg/scope.js';
export type { PgEvent } from './node/pg/membership.js';
export type { PgGroupMembers } from './node/pg/messages.js';
export type { PubSubOptions } from './node/phoenix/pubsub.js';
export type { PubSubHandler, PubSubMessage } from './node/phoenix/subscribers.js';
export type { ChannelEvent } from './node/phoenix/channel-broadcast.js';
export type { ExposedFunction } from './node/rpc.js';
export type { GenServerHandlers, CallReturn, CallResult } from './node/gen-server.js';
export type { SubjectParts } from './node/gleam-subject.js';
export type { DnsClusterOptions, OptionalFields, ClusterLogger, LoggerLevel, DnsQueryOptions, NamePattern, EpmdNamesOptions } from './cluster/dns-cluster.js';
export type { DiscoveryResult, DiscoveryEvent, NodeConnectError, ClusterNode } from './cluster/handle.js';
export type { Resolver, ConnectError, ConnectNodeResult, DefaultResolverOptions, ResolverNode } from './cluster/resolver.js';
export type { EncodeOptions } from './term/encode.js';
export type { DecodeOptions } from './term/decode.js';
