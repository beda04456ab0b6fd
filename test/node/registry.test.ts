// Pids: id and serial as BEAM makes them; wrapping skips ids of live processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../src/node/registry.js';
import { Process, type ProcessHost } from '../../src/node/process.js';
import { atom, Pid, Reference } from '../../src/term/types.js';

const NODE = atom('ts@127.0.0.1');
const host = { exited: () => undefined } as unknown as ProcessHost;

function spawn(r: Registry): Process {
  const p = new Process(r.newPid(), host);
  r.add(p);
  return p;
}

test('ids wrap at 2^32 into the next serial and skip ids that live processes hold', () => {
  const r = new Registry(NODE, 3, 1);
  const system = spawn(r); // id 1, like net_kernel
  const wrapping = new Registry(NODE, 3, 0xfffffffe);
  wrapping.add(system);
  const a = spawn(wrapping);
  assert.deepEqual([a.pid.id, a.pid.serial], [0xfffffffe, 0]);
  const b = spawn(wrapping);
  assert.deepEqual([b.pid.id, b.pid.serial], [0xffffffff, 0]);
  const c = spawn(wrapping);
  assert.deepEqual([c.pid.id, c.pid.serial], [0, 1]);
  const d = spawn(wrapping);
  assert.deepEqual([d.pid.id, d.pid.serial], [2, 1], 'id 1 is held by a live process');
  // An old pid with the same id but another serial is not the live process.
  assert.equal(wrapping.local(new Pid(NODE, 0, 0, 3)), undefined);
  assert.equal(wrapping.local(c.pid), c);
  assert.equal(wrapping.local(new Pid(NODE, c.pid.id, c.pid.serial, 4)), undefined, 'another creation');
});

test('names and aliases end with their process', () => {
  const r = new Registry(NODE, 3);
  const p = spawn(r);
  assert.ok(r.register('worker', p));
  assert.equal(r.register('worker', spawn(r)), false);
  const alias = new Reference(NODE, 3, [1, 2, 3]);
  r.addAlias(alias, p);
  assert.equal(r.aliasOwner(alias), p);
  r.remove(p);
  assert.equal(r.whereis('worker'), undefined);
  assert.equal(r.aliasOwner(alias), undefined);
  assert.equal(r.local(p.pid), undefined);
});
