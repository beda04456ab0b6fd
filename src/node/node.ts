/**
 * A distributed Erlang node in TypeScript: it registers with EPMD (or runs
 * EPMD-less), accepts and makes connections, and hosts TypeScript processes that
 * exchange messages, links and monitors with BEAM processes.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CallError, EpmdError, ErrorCode, InvalidOptionError, NessieError, NotRunningError, RpcError } from '../errors.js';
import { BusyWait } from '../distribution/busy-wait.js';
import type { ConnectionStats } from '../distribution/connection.js';
import { parseControl } from '../distribution/control.js';
import { LOCAL_DIST_FLAGS, DFLAG_PUBLISHED } from '../distribution/flags.js';
import { registerNode, type EpmdRegistration } from '../epmd/client.js';
import { EpmdServer } from '../epmd/server.js';
import { atom, Atom, Pid, Reference, Tuple, tuple, type Term } from '../term/types.js';
import { Connections, type ConnectResult } from './connections.js';
import { TlsTransport } from '../distribution/transport.js';
import { resolveTlsOptions, type NodeTlsOptions } from './tls-options.js';
import { checkBinaries, receiverBinaries, type Binaries } from './binaries.js';
import { aliasOfTag, GEN_CALL, GEN_CAST, PendingCall, replyFor } from './gen.js';
import { PgScope } from './pg/scope.js';
import { startGenServer, type GenServer, type GenServerHandlers } from './gen-server.js';
import { GleamSubjects } from './gleam-subject.js';
import { Router } from './router.js';
import { Outbox } from './outbox.js';
import { RefMaker } from './refs.js';
import { Registry } from './registry.js';
import { Relations } from './relations.js';
import { serveSpawnRequest, type ErpcOptions } from './services/erpc.js';
import { startGlobal } from './services/global.js';
import { answerIoRequest } from './services/io-server.js';
import { startNetKernel } from './services/net-kernel.js';
import { startRex } from './services/rex.js';
import { resolveNodeOptions, type NodeOptions, type ResolvedNodeOptions } from './options.js';
import { isGlobalName, Process, type Destination, type GlobalName } from './process.js';
import { badrpcReason, ExposedModules, rexCall, type ExposedFunction } from './rpc.js';

/**
 * Why a connection went down, in the words of net_kernel:monitor_nodes/2's
 * `nodedown_reason`: `connection_setup_failed` never happens here (a failed connect
 * was never up), the others as on BEAM.
 */
export type NodedownReason = 'connection_closed' | 'disconnect' | 'net_tick_timeout' | 'net_kernel_terminated';

/**
 * Events of a node (like net_kernel:monitor_nodes). `hidden` says which kind of
 * connection it was; `error` is the error that ended the connection, when one did.
 */
export interface NodeEvents {
  nodeup: [name: string, info: { hidden: boolean }];
  nodedown: [name: string, reason: NodedownReason, info: { hidden: boolean; error: NessieError | undefined }];
}


const FRAGMENT_SIZE = 64 * 1024;
const NOPROC = atom('noproc');
const WHEREIS = atom('whereis');
/** Signals held per node while its connection is set up (see outbox.ts). */
const MAX_HELD_SIGNALS = 65536;

/** Options of `node.spawn`. */
export interface SpawnOptions {
  /** A name to register the process under, like register/2. */
  name?: string | undefined;
  /** How binaries in messages from other nodes arrive in its mailbox; default the node's `binaries` option (NodeOptions.binaries). */
  binaries?: Binaries | undefined;
}

/** Options of `node.serve`. */
export interface ServeOptions {
  /** How binaries in calls and messages from other nodes arrive; default the node's `binaries` option (NodeOptions.binaries). */
  binaries?: Binaries | undefined;
}

/** What `node.stats()` answers: traffic counters of the distribution connections. */
export interface NodeStats {
  /** All connections since the node started, closed ones included (counters that only grow). */
  total: ConnectionStats;
  /** The connections up now, by peer name, each counted since it came up. */
  peers: Record<string, ConnectionStats>;
}

export class Node extends EventEmitter<NodeEvents> {
  readonly name: string;
  /** This incarnation's creation number, from EPMD (or random when EPMD-less). */
  readonly creation: number;
  /** The distribution port this node listens on. */
  readonly port: number;
  /** Gleam `Subject`s (gleam_erlang 1.x): make, receive on, send to and call them. */
  readonly gleam: GleamSubjects = new GleamSubjects(this);
  private readonly connections: Connections;
  private readonly router: Router;
  private readonly refs: RefMaker;
  private readonly outbox: Outbox;
  private readonly system: Process;
  private readonly exposed = new ExposedModules();
  private readonly pgScopes = new Map<string, PgScope>();
  private readonly nodeAtom: Atom;
  private running = true;
  /** Set by start() when the node runs distribution over TLS. */
  private tls: TlsTransport | undefined;
  /** The counters of the connections up now (kept from nodeup, so nodedown can add them to closedStats). */
  private readonly upStats = new Map<string, ConnectionStats>();
  private readonly closedStats: ConnectionStats = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, busyEvents: 0 };

  private constructor(
    private readonly o: ResolvedNodeOptions,
    creation: number,
    port: number,
    connections: Connections,
    private readonly epmd: { registration?: EpmdRegistration; server?: EpmdServer },
  ) {
    super();
    this.name = o.name.name;
    this.nodeAtom = atom(this.name);
    this.creation = creation;
    this.port = port;
    this.connections = connections;
    this.refs = new RefMaker(this.nodeAtom, creation);
    this.outbox = new Outbox(connections, {
      maxHeld: MAX_HELD_SIGNALS,
      logger: o.logger,
      onConnectFailed: (peer) => this.router.nodeDown(peer),
    });
    this.router = new Router(new Registry(this.nodeAtom, creation), new Relations(this.name), this.outbox, this.refs, o.logger);
    this.router.globalLookup = (name) => this.globalWhereis(name);
    this.router.stringsWanted = o.binaries !== 'buffer';
    const erpc: ErpcOptions = {
      router: this.router,
      exposed: this.exposed,
      logger: o.logger,
      // Answers go to the node that asked; one that has gone needs no new connection.
      sendControl: (peer, control) => {
        this.outbox.send(peer, control, undefined, false);
      },
      running: () => this.running,
    };
    this.router.onSpawnRequest = (peer, request) => serveSpawnRequest(erpc, peer, request);
    this.system = this.router.spawnSystem();
    // serve() cannot reject: it resolves when the process exits, and handler errors are skipped.
    void this.serveSystem();
    startNetKernel(this.router, o.logger);
    if (!o.hidden) startGlobal(this.router, this.nodeAtom, o.logger);
    startRex({ router: this.router, nodeAtom: this.nodeAtom, exposed: this.exposed, logger: o.logger, binaries: o.binaries });
  }

  /**
   * Starts a node: checks the options, listens, registers with EPMD (starting an
   * embedded one when none answers), and is then ready to connect and be connected.
   * @throws InvalidOptionError (ERR_INVALID_OPTION) for bad options; EpmdError when EPMD refuses the name.
   */
  static async start(options: NodeOptions): Promise<Node> {
    const o = resolveNodeOptions(options);
    const flags = o.hidden ? LOCAL_DIST_FLAGS & ~DFLAG_PUBLISHED : LOCAL_DIST_FLAGS;
    let node: Node | undefined;
    // Creation is needed by the handshake before EPMD has told us ours, so the
    // listener reads it through this box.
    const box = { creation: randomCreation() };
    const tls = o.tls === undefined ? undefined : new TlsTransport(o.tls);
    const connections = new Connections({
      transport: tls,
      name: o.name.name,
      cookie: o.cookie,
      get creation() {
        return box.creation;
      },
      flags,
      portLookup: o.epmd === false ? { kind: 'fixed', port: o.port } : { kind: 'epmd', port: o.epmd.port },
      ticktimeMs: o.ticktimeMs,
      connectTimeoutMs: o.connectTimeoutMs,
      maxMessageSize: o.maxMessageSize,
      busyLimit: o.busyLimit,
      maxQueuedBytes: o.maxQueuedBytes,
      maxTermsPerMessage: o.maxTermsPerMessage,
      maxFragmentBytes: o.maxFragmentBytes,
      fragmentTimeoutMs: o.fragmentTimeoutMs,
      fragmentSize: FRAGMENT_SIZE,
      ...(o.busyWaitUs > 0 ? { busyWait: new BusyWait(o.busyWaitUs) } : {}),
      logger: o.logger,
      events: {
        onControl: (peer, control, payload) => node?.onControl(peer, control, payload),
        payloadBinaries: (control) => node?.payloadBinaries(control),
        onUp: (peer, hidden) => node?.onUp(peer, hidden),
        onDown: (peer, hidden, reason) => node?.onDown(peer, hidden, reason),
      },
    });
    const port = await connections.listen(o.listenAddress, o.port);
    const epmd: { registration?: EpmdRegistration; server?: EpmdServer } = {};
    try {
      if (o.epmd !== false) {
        Object.assign(epmd, await registerWithEpmd(o, port, flags));
        box.creation = epmd.registration!.creation;
      }
    } catch (err) {
      await connections.stop();
      throw err;
    }
    node = new Node(o, box.creation, port, connections, epmd);
    node.tls = tls;
    o.logger.info(`node ${o.name.name} started on port ${port}`);
    return node;
  }

  /**
   * Swaps the TLS certificates (cert-manager rotated them): connections made from now on,
   * both ways, use `options`; live connections stay up. Checked like the start option.
   * @throws InvalidOptionError for bad options (the old certificates stay in use), or when the node was started without `tls`.
   */
  reloadTls(options: NodeTlsOptions): void {
    if (this.tls === undefined) throw new InvalidOptionError('tls', 'a node started with the tls option', undefined);
    const settings = resolveTlsOptions(options);
    if (settings === undefined) throw new InvalidOptionError('tls', 'an object { cert, key, ca, ... }', options);
    this.tls.reload(settings);
    this.o.logger.info('TLS certificates reloaded');
  }

  /** net_setuptime: how long a connect and handshake may take, in ms. */
  get connectTimeout(): number {
    return this.o.connectTimeoutMs;
  }

  /** Names of the connected visible nodes, like `nodes()`; `'hidden'` for hidden ones, `'connected'` for both. */
  nodes(which: 'visible' | 'hidden' | 'connected' = 'visible'): string[] {
    if (which === 'connected') return [...this.connections.names(false), ...this.connections.names(true)];
    return this.connections.names(which === 'hidden');
  }

  /**
   * Traffic of the distribution connections: bytes and messages each way, and sends
   * that found a connection over its busy limit; in total and per connected peer.
   * A snapshot: later traffic does not change it.
   */
  stats(): NodeStats {
    const total = { ...this.closedStats };
    const peers: Record<string, ConnectionStats> = {};
    for (const [peer, s] of this.upStats) {
      peers[peer] = { ...s };
      addStats(total, s);
    }
    return { total, peers };
  }

  /** Connects to `name` like net_kernel:connect_node/1: true once connected, false if that failed. */
  async connect(name: string): Promise<boolean> {
    return (await this.tryConnect(name)).ok;
  }

  /** Like `connect`, with the reason of a failure: `{ ok: false, error }`. */
  tryConnect(name: string): Promise<ConnectResult> {
    if (!this.running) return Promise.resolve({ ok: false, error: new NotRunningError('node is stopped') });
    return this.connections.connect(name);
  }

  /** `'pong'` when `name` answers net_kernel's is_auth call, like net_adm:ping/1; `'pang'` otherwise. */
  async ping(name: string, timeoutMs = this.o.connectTimeoutMs): Promise<'pong' | 'pang'> {
    if (name === this.name) return 'pong';
    if (!(await this.connect(name))) return 'pang';
    try {
      const answer = await this.call({ name: 'net_kernel', node: name }, tuple(atom('is_auth'), this.nodeAtom), timeoutMs);
      if (answer === atom('yes')) return 'pong';
    } catch {
      // fall through
    }
    this.connections.disconnect(name);
    return 'pang';
  }

  /** Drops the connection to `name`, like erlang:disconnect_node/1. */
  async disconnect(name: string): Promise<boolean> {
    return this.connections.disconnect(name);
  }

  /**
   * A new TypeScript process, registered under `name` if given. `binaries` says how
   * binaries in messages from other nodes arrive in its mailbox (default: the node's
   * `binaries` option; see NodeOptions.binaries).
   * @throws InvalidOptionError for a bad `binaries`; Error when `name` is already registered.
   */
  spawn(options: SpawnOptions = {}): Process {
    this.assertRunning();
    return this.router.spawn(options.name, this.binariesOf(options));
  }

  /** The local process registered as `name`, like whereis/1. */
  whereis(name: string): Pid | undefined {
    return this.router.registry.whereis(name)?.pid;
  }

  /**
   * Sends `message` to `dest`, like `Dest ! Message`. A node not yet connected is
   * connected first, and the message waits for it, in order. Returns false when that
   * connection is over its busy limit (the message is queued anyway; wait for
   * `drain()`), or too many signals already wait for it to come up.
   * @throws NotRegisteredError (ERR_NOT_REGISTERED) for a local name nobody holds, as `Name ! Msg` is badarg on BEAM.
   */
  send(dest: Destination, message: Term): boolean;
  /**
   * Sends to the process registered as `dest.global` in OTP's `global`, like
   * global:send/2: the name is looked up (`globalWhereis`) and the message sent to the
   * pid found, which the promise resolves to. Rejects with NotRegisteredError (`global`
   * true) when no connected visible node knows the name, as global:send/2 exits with
   * badarg. Global sends go out in the order they were made.
   */
  send(dest: GlobalName, message: Term): Promise<Pid>;
  send(dest: Destination | GlobalName, message: Term): boolean | Promise<Pid> {
    this.assertRunning();
    // Two calls, one per overload: the system process sends either kind.
    if (isGlobalName(dest)) return this.system.send(dest, message);
    return this.system.send(dest, message);
  }

  /** Waits until the connection to `node` is below its busy limit. */
  drain(node: string): Promise<void> {
    return this.connections.get(node)?.drain() ?? Promise.resolve();
  }

  /**
   * Calls a gen_server (or a TS process serving `$gen_call`s) like gen_server:call/3.
   * A node not yet connected is connected first; one that cannot be reached fails the
   * call at once, as gen does. `{ global: name }` calls the process registered in OTP's
   * `global` (resolved with `globalWhereis`, then called: each step may take `timeoutMs`).
   * @throws CallError with the exit reason as a term (`noproc`, `{nodedown, Node}`, ...); TimeoutError after `timeoutMs`.
   */
  call(dest: Destination | GlobalName, request: Term, timeoutMs = 5000): Promise<Term> {
    this.assertRunning();
    if (isGlobalName(dest)) return this.callGlobal(dest.global, request, timeoutMs);
    return this.request(dest, (from) => tuple(GEN_CALL, from, request), timeoutMs);
  }

  /**
   * The pid registered under `name` in OTP's `global`, like global:whereis_name/1, or
   * undefined. Asked of every connected visible node's `global_name_server` (the
   * message its handle_info({whereis, Name, From}) answers); the first pid wins, and
   * nodes that do not answer within `timeoutMs` count as not knowing the name.
   */
  async globalWhereis(name: string, timeoutMs = 5000): Promise<Pid | undefined> {
    this.assertRunning();
    const asks = this.nodes('visible').map((peer) =>
      this.request({ name: 'global_name_server', node: peer }, (from) => tuple(WHEREIS, atom(name), from), timeoutMs).then(
        (answer) => (answer instanceof Pid ? answer : undefined),
        () => undefined,
      ),
    );
    return new Promise((resolve) => {
      let left = asks.length;
      if (left === 0) resolve(undefined);
      for (const ask of asks) {
        // cannot reject: each ask turns its failure into undefined above.
        void ask.then((pid) => {
          if (pid !== undefined) resolve(pid);
          else if (--left === 0) resolve(undefined);
        });
      }
    });
  }

  /** gen:call's `{global, Name}`: the name is resolved first; no such name is `noproc`, as there. */
  private async callGlobal(name: string, request: Term, timeoutMs: number): Promise<Term> {
    const pid = await this.globalWhereis(name, timeoutMs);
    if (pid === undefined) throw new CallError(`call to {global, ${name}} failed: noproc`, NOPROC);
    return this.call(pid, request, timeoutMs);
  }

  /** Sends `build(From)` to `dest` and waits for `{Tag, Reply}` the way gen:call does (see PendingCall). */
  private request(dest: Destination, build: (from: Tuple) => Term, timeoutMs: number): Promise<Term> {
    return PendingCall.start(this.router, this.system.pid, this.refs.make(), dest, build, timeoutMs, this.o.binaries);
  }

  /**
   * Answers a `$gen_call` that a TS process received (`From` is the call's second
   * element), the way gen:reply/2 does: to the caller's alias when it used one.
   */
  reply(from: Term, reply: Term): void {
    if (!(from instanceof Tuple) || from.length !== 2 || !(from[0] instanceof Pid)) throw new TypeError('reply: From must be {Pid, Tag}');
    const { to, message } = replyFor(from, reply);
    this.router.sendReply(this.system.pid, to, message);
  }

  /**
   * Starts a gen_server-style process (see `GenServerHandlers`), registered as `name`
   * when one is given, that answers `gen_server:call`/`cast`, Elixir's `GenServer.call`/`cast`
   * and `node.call` one message at a time. A handler that throws ends only that server,
   * with `{js_exception, Message}`, which its callers get as their exit reason.
   * Resolves once `init` has run; rejects with init's error (the process exits).
   * `options.binaries` as for `spawn` (default: the node's `binaries` option).
   * Rejects with an Error when `name` is already registered, NotRunningError when the node is stopped,
   * InvalidOptionError for a bad `binaries`.
   */
  serve<State>(handlers: GenServerHandlers<State>, options?: ServeOptions): Promise<GenServer>;
  serve<State>(name: string, handlers: GenServerHandlers<State>, options?: ServeOptions): Promise<GenServer>;
  async serve<State>(a: string | GenServerHandlers<State>, b?: GenServerHandlers<State> | ServeOptions, c?: ServeOptions): Promise<GenServer> {
    const [name, handlers, options] =
      typeof a === 'string' ? [a, (b ?? {}) as GenServerHandlers<State>, c ?? {}] : [undefined, a, (b ?? {}) as ServeOptions];
    const host = { sendReply: this.router.sendCheckedReply.bind(this.router), logger: this.o.logger };
    return startGenServer(this.spawn({ name, binaries: options.binaries }), handlers, host);
  }

  /**
   * Makes `functions` callable from BEAM nodes as `rpc:call(Node, module, name, Args)`
   * and `erpc:call(...)`. Nothing else can be called: other calls get `undef`, and so
   * do calls with another arity (a key `'name/N'` gives the arity; a plain `'name'`
   * takes `fn.length`). A function that throws, rejects or returns a value with no
   * Erlang form fails only that call, as an Erlang `error` (`{js_exception, Message}`,
   * `{js_throw, Value}`, `{js_bad_return, Why}`).
   * @throws TypeError for a value that is not a function, a bad name or arity, or a name/arity given twice.
   */
  expose(module: string, functions: Record<string, ExposedFunction>): void {
    this.exposed.expose(module, functions);
  }

  /**
   * Calls `module:fn(args...)` on a BEAM node like rpc:call/5 (through its rex server).
   * @throws RpcError with the `{badrpc, Reason}` reason as a term; TimeoutError after `timeoutMs`.
   */
  async rpc(node: string, module: string, fn: string, args: Term[], timeoutMs = 5000): Promise<Term> {
    const answer = await this.call({ name: 'rex', node }, rexCall(module, fn, args, this.system.pid), timeoutMs).catch((err: unknown) => {
      if (err instanceof CallError) throw new RpcError(`rpc to ${node} failed: ${String(err.reason)}`, err.reason);
      throw err;
    });
    const reason = badrpcReason(answer);
    if (reason !== undefined) throw new RpcError(`rpc ${module}:${fn} on ${node} failed`, reason);
    return answer;
  }

  /**
   * The pg scope `scope` (default `pg`, the scope kernel's `start_pg` runs), started on
   * first use and registered under its name as pg:start/1 does. BEAM nodes whose pg
   * scope of the same name runs take it for one of theirs (OTP 23+ pg).
   * @throws NotRunningError once the node stopped; Error when another process holds the name.
   */
  pg(scope = 'pg'): PgScope {
    this.assertRunning();
    let s = this.pgScopes.get(scope);
    if (s === undefined) {
      s = PgScope.start(scope, {
        router: this.router,
        logger: this.o.logger,
        visibleNodes: () => this.nodes(),
        connected: (node) => this.connections.get(node) !== undefined,
      });
      this.pgScopes.set(scope, s);
    }
    return s;
  }

  /** Sends a gen_server cast: `{'$gen_cast', Request}`. */
  cast(dest: Destination, request: Term): boolean;
  /**
   * gen_server:cast({global, Name}, Request): sent once the name is looked up. As
   * there, a name nobody holds is no error (gen_server catches global:send's badarg),
   * so the promise always resolves.
   */
  cast(dest: GlobalName, request: Term): Promise<void>;
  cast(dest: Destination | GlobalName, request: Term): boolean | Promise<void> {
    if (!isGlobalName(dest)) return this.send(dest, tuple(GEN_CAST, request));
    return this.send(dest, tuple(GEN_CAST, request)).then(
      () => undefined,
      () => undefined,
    );
  }

  /** A new reference, unique to this node incarnation. */
  makeRef(): Reference {
    return this.refs.make();
  }

  /** Stops the node: every process exits, connections close, the EPMD registration ends. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.router.exitAll(atom('shutdown'));
    await this.connections.stop();
    this.epmd.registration?.close();
    await this.epmd.server?.stop();
    this.o.logger.info(`node ${this.name} stopped`);
  }

  /** How the payload of a control message from a peer is to be decoded: as its receiver asked (binaries.ts). */
  private payloadBinaries(control: Tuple): Binaries | undefined {
    return this.router.stringsWanted ? receiverBinaries(control, this.router.registry, this.o.binaries) : undefined;
  }

  private binariesOf(options: { binaries?: Binaries | undefined }): Binaries {
    return options.binaries === undefined ? this.o.binaries : checkBinaries('binaries', options.binaries);
  }

  /** A control message from a peer; a malformed one throws, which drops that connection only. */
  private onControl(peer: string, control: Tuple, payload: Term | undefined): void {
    const message = parseControl(control, payload, peer);
    if (message === undefined) {
      this.o.logger.debug(`ignoring control message ${String(control[0])} from ${peer}`);
      return;
    }
    this.router.onControl(peer, message);
  }

  /**
   * The node's own process: the sender of `node.send`, and the group leader of our
   * rpc calls. It answers io requests (the output of remote code we call goes to the
   * logger) and drops everything else, so nothing piles up in its mailbox.
   */
  private serveSystem(): Promise<void> {
    return this.system.serve((message) => {
      // A call's reply sent to our pid rather than to the call's alias (net_kernel's
      // async_reply does that) goes to the call, as it would reach the caller on BEAM.
      const alias = message instanceof Tuple && message.length === 2 ? aliasOfTag(message[0]) : undefined;
      if (alias !== undefined) {
        this.router.registry.aliasOwner(alias)?.deliver(message);
        return;
      }
      const io = answerIoRequest(message, (text) => this.o.logger.info(`output of remote code: ${text.trimEnd()}`));
      if (io !== undefined) this.system.send(io.to, io.reply);
    });
  }

  private onUp(peer: string, hidden: boolean): void {
    // What waited for this connection goes out before anything sent from here on.
    this.outbox.connected(peer);
    const conn = this.connections.get(peer);
    if (conn !== undefined) this.upStats.set(peer, conn.stats);
    // pg scopes look for their peers on every visible nodeup (net_kernel:monitor_nodes(true)).
    if (!hidden) for (const scope of this.pgScopes.values()) scope.nodeup(peer);
    this.tell(() => this.emit('nodeup', peer, { hidden }));
  }

  private onDown(peer: string, hidden: boolean, error: NessieError | undefined): void {
    this.router.nodeDown(peer);
    const stats = this.upStats.get(peer);
    this.upStats.delete(peer);
    if (stats !== undefined) addStats(this.closedStats, stats);
    this.tell(() => this.emit('nodedown', peer, this.running ? nodedownReason(error) : 'net_kernel_terminated', { hidden, error }));
  }

  /**
   * Runs the user's listeners of a node event. They run inside socket and handshake
   * callbacks, so one that throws is logged, not let loose on the connection's state.
   */
  private tell(emit: () => void): void {
    try {
      emit();
    } catch (err) {
      this.o.logger.error(`a nodeup/nodedown listener threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private assertRunning(): void {
    if (!this.running) throw new NotRunningError(`node ${this.name} is stopped`);
  }
}

function addStats(into: ConnectionStats, more: ConnectionStats): void {
  into.bytesIn += more.bytesIn;
  into.bytesOut += more.bytesOut;
  into.messagesIn += more.messagesIn;
  into.messagesOut += more.messagesOut;
  into.busyEvents += more.busyEvents;
}

/** net_kernel's word for why a connection ended. */
function nodedownReason(error: NessieError | undefined): NodedownReason {
  if (error === undefined) return 'disconnect';
  return error.code === ErrorCode.NET_TICK_TIMEOUT ? 'net_tick_timeout' : 'connection_closed';
}

function randomCreation(): number {
  // 0 is reserved; OTP picks creations above 3 so they never clash with old 2-bit ones.
  return randomInt(4, 0xffffffff);
}

/** Registers with the EPMD on this node's host, starting an embedded one when none listens. */
async function registerWithEpmd(
  o: ResolvedNodeOptions,
  distPort: number,
  flags: bigint,
): Promise<{ registration: EpmdRegistration; server?: EpmdServer }> {
  const epmdPort = (o.epmd as { port: number }).port;
  const host = o.listenAddress === '::' || o.listenAddress === '0.0.0.0' ? '127.0.0.1' : o.listenAddress;
  const register = () =>
    registerNode({ host, port: epmdPort, name: o.name.basename, distPort, hidden: (flags & DFLAG_PUBLISHED) === 0n, timeoutMs: o.connectTimeoutMs });
  try {
    return { registration: await register() };
  } catch (err) {
    if (!(err instanceof EpmdError) || !isConnectionRefused(err)) throw err;
    o.logger.info(`no EPMD on ${host}:${epmdPort}; starting an embedded one`);
    const server = await EpmdServer.start({ address: o.listenAddress, port: epmdPort, logger: o.logger });
    try {
      return { registration: await register(), server };
    } catch (e) {
      await server.stop();
      throw e;
    }
  }
}

function isConnectionRefused(err: EpmdError): boolean {
  return (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
}

