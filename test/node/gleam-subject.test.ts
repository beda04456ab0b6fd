// node.gleam between TypeScript processes of one node: the subject shapes of
// gleam_erlang v1.3.0 ({subject, Pid, Tag}, {named_subject, Name}). The same against
// real BEAM nodes is in test/interop/gleam-subject.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, CallError, Node, parseSubject, silentLogger, tuple, type Tuple } from '../../src/index.js';
import { freePort, loopbackAddresses } from '../support/ports.js';

test('parseSubject reads both subject forms and nothing else', () => {
  const ref = tuple(atom('subject'), atom('not_a_pid'), 1);
  assert.equal(parseSubject(ref), undefined);
  assert.deepEqual(parseSubject(tuple(atom('named_subject'), atom('n'))), { kind: 'named', name: atom('n') });
  assert.equal(parseSubject(tuple(atom('named_subject'), 'n')), undefined);
  assert.equal(parseSubject([atom('named_subject'), atom('n')]), undefined, 'a list is not a tuple');
});

test('subjects between TS processes: tags keep messages apart; call gets the reply or the DOWN', async () => {
  const [host] = loopbackAddresses(1);
  const node = await Node.start({ name: `gleam@${host}`, cookie: 'c', epmd: false, port: await freePort(host), logger: silentLogger });
  try {
    const owner = node.spawn({ name: 'owner' });
    const a = node.gleam.newSubject(owner);
    const b = node.gleam.newSubject(owner);
    assert.ok(parseSubject(a)?.kind === 'subject');
    node.gleam.send(a, 1);
    node.gleam.send(b, 2);
    owner.send(owner.pid, tuple(node.makeRef(), 3)); // a look-alike with another tag
    assert.equal(await node.gleam.receive(owner, b, 1000), 2);
    assert.equal(await node.gleam.receive(owner, a, 1000), 1);
    assert.equal(owner.queued, 1, 'the look-alike stays');

    const named = node.gleam.namedSubject('owner');
    node.gleam.send(named, atom('hi'));
    assert.equal(await node.gleam.receive(owner, named, 1000), atom('hi'));

    // call: the owner answers on the reply subject it is given.
    void (async () => {
      const m = (await node.gleam.receive(owner, a).catch(() => undefined)) as Tuple | undefined;
      if (m !== undefined) node.gleam.send(m[1], tuple(atom('doubled'), (m[0] as number) * 2), { from: owner });
    })();
    assert.deepEqual([...((await node.gleam.call(a, (replyTo) => tuple(21, replyTo))) as Tuple)], [atom('doubled'), 42]);
    await assert.rejects(node.gleam.call(node.gleam.namedSubject('nobody_here'), (r) => r), (e: unknown) => e instanceof CallError && e.reason === atom('noproc'));
    const dying = node.gleam.call(b, () => atom('please_exit'));
    owner.exit(atom('bye'));
    await assert.rejects(dying, (e: unknown) => e instanceof CallError && e.reason === atom('bye'));
  } finally {
    await node.stop();
  }
});
