// The default resolver against a real dnsmasq: A and AAAA together, SRV targets
// resolved to addresses, search domains for short names, and failures that reject
// (so the cluster logs them) while "no such name" is an empty answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultResolver, type ResolverNode } from '../../src/cluster/resolver.js';
import { Dnsmasq, requireDnsmasq } from '../support/dnsmasq.js';

const noNode: ResolverNode = { tryConnect: async () => ({ ok: true }), nodes: () => [], disconnect: async () => true };

test('A + AAAA, SRV, search domains, NXDOMAIN and a dead server', { timeout: 30_000 }, async (t) => {
  if (!requireDnsmasq(t)) return;
  const dns = await Dnsmasq.start([
    '--srv-host=_app._tcp.svc.test,n1.test,4370',
    '--srv-host=_app._tcp.svc.test,n2.test,4370',
    '--host-record=n1.test,127.0.0.4',
    '--host-record=n2.test,127.0.0.5,::1',
  ]);
  try {
    await dns.set('both.test', ['127.0.0.2', '::1']);
    const r = defaultResolver(noNode, { servers: [dns.server], searchDomains: ['test'], timeoutMs: 500 });
    assert.deepEqual((await r.lookup('both.test')).sort(), ['127.0.0.2', '::1']);
    assert.deepEqual((await r.lookup('_app._tcp.svc.test')).sort(), ['127.0.0.4', '127.0.0.5', '::1']);
    assert.deepEqual((await r.lookup('both')).sort(), ['127.0.0.2', '::1'], 'a short name is tried with the search domains');
    assert.deepEqual(await r.lookup('missing.test'), []);
    await dns.stop();
    await assert.rejects(r.lookup('both.test'), 'a dead server is an error, not an empty answer');
  } finally {
    await dns.remove();
  }
});
