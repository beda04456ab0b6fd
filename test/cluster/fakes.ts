// Stand-ins for the cluster's unit tests: a node whose only real part is the process
// registry, and a resolver over a fixed DNS table that records every call.
import type { ClusterNode } from '../../src/cluster/handle.js';
import type { ConnectNodeResult, Resolver } from '../../src/cluster/resolver.js';
import { basenameOf } from '../../src/node/node-name.js';
import { silentLogger } from '../../src/logger.js';
import { Outbox } from '../../src/node/outbox.js';
import { RefMaker } from '../../src/node/refs.js';
import { Registry } from '../../src/node/registry.js';
import { Relations } from '../../src/node/relations.js';
import { Router } from '../../src/node/router.js';
import { atom } from '../../src/term/types.js';

/** A node stand-in whose only real part is the process registry (for the cluster's name). */
export function fakeNode(name = 'app@10.0.0.1'): ClusterNode {
  const outbox = new Outbox(
    { get: () => undefined, connect: async () => ({ ok: false }) },
    { maxHeld: 1, logger: silentLogger, onConnectFailed: () => undefined },
  );
  const router = new Router(new Registry(atom(name), 1), new Relations(name), outbox, new RefMaker(atom(name), 1), silentLogger);
  return {
    name,
    connectTimeout: 1000,
    spawn: (o) => router.spawn(o.name),
    tryConnect: async () => ({ ok: true }),
    nodes: () => [],
    disconnect: async () => true,
  };
}

/** A resolver over a fixed DNS table; it records lookups and connects and "connects" to the hosts in `up`. */
export function fakeResolver(dns: Record<string, string[] | Error>, up: Set<string>, delayMs = 0) {
  const connected = new Set<string>();
  const calls = { lookups: [] as string[], connects: [] as string[], disconnects: [] as string[] };
  const resolver: Resolver = {
    basename: basenameOf,
    async connectNode(node): Promise<ConnectNodeResult> {
      calls.connects.push(node);
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (!up.has(node)) return { ok: false, error: { type: 'FailedToConnect' } };
      connected.add(node);
      return { ok: true, node };
    },
    listNodes: () => [...connected],
    async lookup(q) {
      calls.lookups.push(q);
      const answer = dns[q];
      if (answer instanceof Error) throw answer;
      return answer ?? [];
    },
    async disconnectNode(node) {
      calls.disconnects.push(node);
      connected.delete(node);
    },
  };
  return { resolver, calls, connected };
}

