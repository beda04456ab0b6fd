// One logger shape for the node and the cluster: a Logger object (pino-shaped: methods
// that need their `this`) or the seed's (level, message) function, each accepted by both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsCluster, InvalidOptionError, Node, type Logger } from '../src/index.js';
import { freePort, loopbackAddresses } from './support/ports.js';

// Like pino: the level methods write through the instance (`this`), so calling one
// detached from its object would throw.
class InstanceLogger implements Logger {
  readonly #lines: string[] = [];
  get lines(): readonly string[] {
    return this.#lines;
  }
  debug(message: string): void {
    this.#lines.push(`debug ${message}`);
  }
  info(message: string): void {
    this.#lines.push(`info ${message}`);
  }
  warn(message: string): void {
    this.#lines.push(`warn ${message}`);
  }
  error(message: string): void {
    this.#lines.push(`error ${message}`);
  }
}

test('Node.start takes a Logger object and the seed\'s (level, message) function', async () => {
  const [host] = loopbackAddresses(1);
  const object = new InstanceLogger();
  const a = await Node.start({ name: `obj@${host}`, cookie: 'c', epmd: false, port: await freePort(host), logger: object });
  await a.stop();
  assert.ok(object.lines.includes(`info node obj@${host} started on port ${a.port}`), object.lines.join('\n'));

  const calls: string[] = [];
  const b = await Node.start({ name: `fn@${host}`, cookie: 'c', epmd: false, port: await freePort(host), logger: (level, message) => calls.push(`${level} ${message}`) });
  await b.stop();
  assert.ok(calls.includes(`info node fn@${host} started on port ${b.port}`), calls.join('\n'));
});

test('DnsCluster.withLogger takes a Logger object too, and the seed\'s function as before', async () => {
  const [host] = loopbackAddresses(1);
  const node = await Node.start({ name: `cl@${host}`, cookie: 'c', epmd: false, port: await freePort(host), logger: new InstanceLogger() });
  try {
    const object = new InstanceLogger();
    const one = await DnsCluster.new().withName('with_object').withLogger(object).start(node);
    await one.stop();
    assert.ok(object.lines.includes('warn DNS cluster stopped.'), object.lines.join('\n'));
    const calls: string[] = [];
    const two = await DnsCluster.new().withName('with_function').withLogger((level, message) => calls.push(`${level} ${message}`)).start(node);
    await two.stop();
    assert.ok(calls.includes('warn DNS cluster stopped.'), calls.join('\n'));
  } finally {
    await node.stop();
  }
});

test('anything else is refused with ERR_INVALID_OPTION', async () => {
  const [host] = loopbackAddresses(1);
  const partial = { info: () => undefined } as unknown as Logger;
  await assert.rejects(Node.start({ name: `bad@${host}`, cookie: 'c', epmd: false, port: await freePort(host), logger: partial }), (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError);
    assert.equal(err.code, 'ERR_INVALID_OPTION');
    assert.match(err.message, /invalid option logger: expected an object with debug, info, warn and error methods/);
    return true;
  });
  assert.throws(() => DnsCluster.new().withLogger('loud' as unknown as Logger), InvalidOptionError);
});
