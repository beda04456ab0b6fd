// A 64 MiB binary each way between a TS node and an erl peer, checked by MD5 on the
// other side: what fragments, reassembly and back-pressure must carry whole.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { atom, tuple, type Node, type Tuple } from '../../src/index.js';
import type { ErlPeer } from './erl-peer.js';

const SIZE = 64 * 1024 * 1024;

/** Sends 64 MiB to a sink on `erl` and 64 MiB back to a TS process; both arrive intact. */
export async function bigBinaryBothWays(node: Node, erl: ErlPeer): Promise<void> {
  const big = Buffer.alloc(SIZE);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  const md5 = createHash('md5').update(big).digest('hex');
  await erl.eval(`register(big_sink, spawn(fun() -> receive {blob, From, B} -> From ! {got, byte_size(B), binary:encode_hex(erlang:md5(B))} end end)), ok.`);
  const me = node.spawn();
  me.send({ name: 'big_sink', node: erl.name }, tuple(atom('blob'), me.pid, big));
  const got = (await me.receive(60_000)) as Tuple;
  assert.equal(got[1], big.length);
  assert.equal(Buffer.from(got[2] as Buffer).toString().toLowerCase(), md5);
  me.exit();

  const back = node.spawn({ name: 'big_back' });
  await erl.eval(`B = binary:copy(list_to_binary(lists:seq(0, 255)), 262144), {big_back, '${node.name}'} ! {blob, B, erlang:md5(B)}, ok.`, 60_000);
  const m = (await back.receive(60_000)) as Tuple;
  const blob = m[1] as Buffer;
  assert.equal(blob.length, SIZE);
  assert.deepEqual(createHash('md5').update(blob).digest(), Buffer.from(m[2] as Buffer));
  back.exit();
}
