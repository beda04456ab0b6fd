// The refused-handshake log on a clock the test moves: one full line per interval, the
// rest summed up per source address, and nothing lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeFailureLog, type HandshakeFailure } from '../../src/node/handshake-failures.js';

function setup(intervalMs = 10_000) {
  const lines: string[] = [];
  const logger = { debug: () => undefined, info: (m: string) => void lines.push(`info ${m}`), warn: (m: string) => void lines.push(`warn ${m}`), error: () => undefined };
  let now = 1_000_000;
  const log = new HandshakeFailureLog(logger, intervalMs, () => now);
  return { lines, log, advance: (ms: number) => void (now += ms) };
}

const failure = (source: string, level: HandshakeFailure['level'] = 'warn'): HandshakeFailure => ({ source, peer: 'x@h', reason: 'cookies differ', level });

test('the first failure is written in full with its source; the rest of the interval in one summary', () => {
  const { lines, log, advance } = setup();
  log.record(failure('10.0.0.7:40001'));
  for (let i = 0; i < 99; i++) {
    advance(50); // 100 failures over ~5 s
    log.record(failure(i % 3 === 0 ? '[fd00::9]:40002' : `10.0.0.7:${40002 + i}`, i % 2 === 0 ? 'warn' : 'info'));
  }
  assert.deepEqual(lines, ['warn refused incoming connection from 10.0.0.7:40001 (claiming to be x@h): cookies differ']);
  log.flush();
  assert.equal(lines.length, 2);
  assert.equal(lines[1], 'warn 99 more failed handshakes in the last 5 s, from 10.0.0.7 (x66), fd00::9 (x33); last: cookies differ');
});

test('a flood that lasts writes one summary per interval, and a quiet spell resets it', () => {
  const { lines, log, advance } = setup(1000);
  for (let i = 0; i < 50; i++) {
    log.record(failure(`10.0.0.${1 + (i % 20)}:5000`, 'info'));
    advance(100); // 5 s of flood
  }
  log.flush();
  const summaries = lines.filter((l) => / more failed handshakes /.test(l));
  const full = lines.filter((l) => /refused incoming/.test(l));
  assert.ok(lines.length <= 7, lines.join('\n'));
  const counted = full.length + summaries.reduce((n, l) => n + Number(/(\d+) more/.exec(l)![1]), 0);
  assert.equal(counted, 50);
  // At most 8 addresses by name, the others counted together.
  assert.ok(summaries.every((l) => (l.match(/\(x\d+\)/g) ?? []).length <= 8), summaries.join('\n'));
  assert.ok(summaries.some((l) => /from other addresses/.test(l)), summaries.join('\n'));

  lines.length = 0;
  advance(60_000);
  log.record(failure('10.0.0.99:1'));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^warn refused incoming connection from 10\.0\.0\.99:1 /);
});
