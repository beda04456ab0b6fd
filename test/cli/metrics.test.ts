// /metrics' traffic families from node.stats(): node-wide counters and per-peer ones,
// in the Prometheus text format, nothing of them before the node has started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/cli/metrics.js';

const connected = { visible: 1, hidden: 0 };

test('traffic: totals and per-peer series, with the peer as an escaped label; none before the node starts', () => {
  const m = new Metrics({ version: '1', node: 'a@127.0.0.1' }, []);
  assert.ok(!m.render({ connected, ready: false, traffic: undefined }).includes('nessie_dist_'));
  const page = m.render({
    connected,
    ready: true,
    traffic: {
      total: { bytesIn: 100, bytesOut: 200, messagesIn: 3, messagesOut: 4, busyEvents: 5 },
      peers: { 'b@127.0.0.2': { bytesIn: 10, bytesOut: 20, messagesIn: 1, messagesOut: 2, busyEvents: 0 }, 'q"\\@h': { bytesIn: 1, bytesOut: 1, messagesIn: 1, messagesOut: 1, busyEvents: 1 } },
    },
  });
  const lines = page.split('\n');
  for (const line of [
    '# TYPE nessie_dist_received_bytes_total counter',
    'nessie_dist_received_bytes_total 100',
    'nessie_dist_sent_bytes_total 200',
    'nessie_dist_received_messages_total 3',
    'nessie_dist_sent_messages_total 4',
    'nessie_dist_busy_total 5',
    '# TYPE nessie_dist_peer_sent_bytes_total counter',
    'nessie_dist_peer_sent_bytes_total{peer="b@127.0.0.2"} 20',
    'nessie_dist_peer_received_messages_total{peer="b@127.0.0.2"} 1',
    'nessie_dist_peer_busy_total{peer="q\\"\\\\@h"} 1',
  ]) {
    assert.ok(lines.includes(line), `${line}\nnot in\n${page}`);
  }
});
