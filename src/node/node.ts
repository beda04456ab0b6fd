/**
 * A distributed Erlang node in TypeScript: it registers with EPMD (or runs
 * EPMD-less), accepts and makes connections, and hosts TypeScript processes that
 * exchange messages, links and monitors with BEAM processes.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CallError, EpmdError, NessieError, NotRunningError, RpcError, TimeoutError } from '../errors.js';
import { LOCAL_DIST_FLAGS, DFLAG_PUBLISHED } from '../distribution/flags.js';
import { registerNode, type EpmdRegistration } from '../epmd/client.js';
import { EpmdServer } from '../epmd/server.js';
import { atom, Atom, ImproperList, Pid, Reference, Tuple, tuple, type Term } from '../term/types.js';
import { Connections, type ConnectResult } from './connections.js';
import { GEN_CALL, GEN_CAST, replyFor } from './gen.js';
import { startGlobal } from './global.js';
import { startNetKernel } from './net-kernel.js';
import { resolveNodeOptions, type NodeOptions, type ResolvedNodeOptions } from './options.js';
import { Process, type Destination } from './process.js';
import { badrpcReason, ExposedModules, rexCall, type ExposedFunction } from './rpc.js';
import { isSpawnRequest, serveSpawnRequest, type ErpcOptions } from './services/erpc.js';
import { startRex } from './services/rex.js';
import { Signals } from './signals.js';

/** Events of a node (like net_kernel:monitor_nodes). `hidden` says which kind of connection it was. */
export interface NodeEvents {
  nodeup: [name: string, info: { hidden: boolean }];
  nodedown: [name: string, reason: string, info: { hidden: boolean }];
}


const FRAGMENT_SIZE = 64 * 1024;
const IO_REQUEST = atom('io_request');
const IO_REPLY = atom('io_reply');
const OK = atom('ok');
const DOWN = atom('DOWN');
const ALIAS = atom('alias');

export class Node extends EventEmitter<NodeEvents> {
  readonly name: string;
  /** This incarnation's creation number, from EPMD (or random when EPMD-less). */
  readonly creation: number;
  /** The distribution port this node listens on. */
  readonly port: number;
  private readonly connections: Connections;
  private readonly signals: Signals;
  private readonly system: Process;
  private readonly exposed = new ExposedModules();
  private readonly erpc: ErpcOptions;
  private readonly nodeAtom: Atom;
  private refCounter = 0;
  private readonly refSalt: [number, number];
  private running = true;

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
    const salt = randomBytes(8);
    this.refSalt = [salt.readUInt32BE(0), salt.readUInt32BE(4)];
    this.signals = new Signals({
      nodeAtom: this.nodeAtom,
      creation,
      sendControl: (peer, control, payload) => this.connections.get(peer)?.send(control, payload) ?? false,
      makeRef: () => this.makeRef(),
      ensureConnected: (peer) => void this.connect(peer),
    });
    this.system = this.signals.spawn();
    void this.serveSystem();
    startNetKernel(this.signals);
    if (!o.hidden) startGlobal(this.signals, this.nodeAtom, o.logger);
    startRex({ signals: this.signals, nodeAtom: this.nodeAtom, exposed: this.exposed, logger: o.logger });
    this.erpc = {
      signals: this.signals,
      exposed: this.exposed,
      logger: o.logger,
      sendControl: (peer, control) => {
        this.connections.get(peer)?.send(control);
      },
      running: () => this.running,
    };
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
    const connections = new Connections({
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
      fragmentSize: FRAGMENT_SIZE,
      logger: o.logger,
      events: {
        onControl: (peer, control, payload) => node?.onControl(peer, control, payload),
        onUp: (peer, hidden) => node?.emit('nodeup', peer, { hidden }),
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
    o.logger.info(`node ${o.name.name} started on port ${port}`);
    return node;
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

  /** A new TypeScript process, registered under `name` if given. */
  spawn(options: { name?: string } = {}): Process {
    this.assertRunning();
    return this.signals.spawn(options.name);
  }

  /** The local process registered as `name`, like whereis/1. */
  whereis(name: string): Pid | undefined {
    return this.signals.whereis(name)?.pid;
  }

  /** Sends `message` to `dest`, like `Dest ! Message`. Returns false when that connection is over its busy limit. */
  send(dest: Destination, message: Term): boolean {
    this.assertRunning();
    return this.system.send(dest, message);
  }

  /** Waits until the connection to `node` is below its busy limit. */
  drain(node: string): Promise<void> {
    return this.connections.get(node)?.drain() ?? Promise.resolve();
  }

  /**
   * Calls a gen_server (or a TS process serving `$gen_call`s) like gen_server:call/3.
   * @throws CallError with the exit reason as a term (`noproc`, `noconnection`, ...); TimeoutError after `timeoutMs`.
   */
  async call(dest: Destination, request: Term, timeoutMs = 5000): Promise<Term> {
    this.assertRunning();
    const caller = this.signals.spawn();
    const ref = caller.monitor(dest);
    try {
      // Reply through an alias, as gen:call does since OTP 24: a late reply to an alias
      // that is gone is dropped rather than left in someone's mailbox.
      this.signals.addAlias(ref, caller);
      caller.send(dest, tuple(GEN_CALL, tuple(caller.pid, tagFor(ref)), request));
      const answer = (await caller.receive(
        (m) => m instanceof Tuple && m.length >= 2 && (isTagOf(m[0], ref) || (m[0] === DOWN && m[1] instanceof Reference && m[1].equals(ref))),
        timeoutMs,
      )) as Tuple;
      if (answer[0] === DOWN) throw new CallError(`call to ${describe(dest)} failed: ${String(answer[4])}`, answer[4]);
      return answer[1];
    } catch (err) {
      if (err instanceof TimeoutError) throw new TimeoutError(`call to ${describe(dest)} timed out`, timeoutMs);
      throw err;
    } finally {
      // Exiting drops the monitor (a DEMONITOR_P goes to a remote target) and the alias.
      caller.exit();
    }
  }

  /**
   * Answers a `$gen_call` that a TS process received (`From` is the call's second
   * element), the way gen:reply/2 does: to the caller's alias when it used one.
   */
  reply(from: Term, reply: Term): void {
    if (!(from instanceof Tuple) || from.length !== 2 || !(from[0] instanceof Pid)) throw new TypeError('reply: From must be {Pid, Tag}');
    const { to, message } = replyFor(from, reply);
    this.signals.sendReply(this.system, to, message);
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

  /** Sends a gen_server cast: `{'$gen_cast', Request}`. */
  cast(dest: Destination, request: Term): boolean {
    return this.send(dest, tuple(GEN_CAST, request));
  }

  /** A new reference, unique to this node incarnation. */
  makeRef(): Reference {
    const n = ++this.refCounter;
    return new Reference(this.nodeAtom, this.creation, [n & 0x3ffff, this.refSalt[0], this.refSalt[1]]);
  }

  /** Stops the node: every process exits, connections close, the EPMD registration ends. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.signals.exitAll(atom('shutdown'));
    await this.connections.stop();
    this.epmd.registration?.close();
    await this.epmd.server?.stop();
    this.o.logger.info(`node ${this.name} stopped`);
  }

  private onControl(peer: string, control: Tuple, payload: Term | undefined): void {
    if (this.signals.onControl(peer, control, payload)) return;
    if (isSpawnRequest(control)) {
      serveSpawnRequest(this.erpc, peer, control, payload);
      return;
    }
    this.o.logger.debug(`ignoring control message ${String(control[0])} from ${peer}`);
  }

  /**
   * The node's own process: the sender of `node.send`, and the group leader of our
   * rpc calls. It answers io requests (output of remote code we call) and drops
   * everything else, so nothing piles up in its mailbox.
   */
  private serveSystem(): Promise<void> {
    return this.system.serve((message) => {
      if (message instanceof Tuple && message[0] === IO_REQUEST && message[1] instanceof Pid) {
        this.system.send(message[1], tuple(IO_REPLY, message[2], OK));
      }
    });
  }

  private onDown(peer: string, hidden: boolean, reason: NessieError | undefined): void {
    this.signals.nodeDown(peer);
    this.emit('nodedown', peer, reason === undefined ? 'disconnect' : reason.message, { hidden });
  }

  private assertRunning(): void {
    if (!this.running) throw new NotRunningError(`node ${this.name} is stopped`);
  }
}

/** The call tag: `[alias | Ref]`, as gen.erl makes it. */
function tagFor(ref: Reference): ImproperList {
  return new ImproperList([ALIAS], ref);
}

function isTagOf(t: Term, ref: Reference): boolean {
  return t instanceof ImproperList && t.tail instanceof Reference && t.tail.equals(ref);
}

function describe(dest: Destination): string {
  if (typeof dest === 'string') return dest;
  if (dest instanceof Pid) return dest.toString();
  return `{${dest.name}, ${dest.node}}`;
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

