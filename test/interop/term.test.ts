// The codec against real OTP: erl encodes a wide seeded corpus (every tag, random
// nesting, compressed and minor_version 0/1/2, deterministic, local on OTP 26+);
// TypeScript decodes and re-encodes each case (every other one compressed); erl
// checks binary_to_term(TsBytes) =:= Original for every one. Each case is also
// mutated at random bytes: the result must be a term or a DecodeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { decode, DecodeError, encode } from '../../src/index.js';

/** Real OTP bytes with a few bytes changed must decode to something or fail with DecodeError: nothing else. */
function mutationsDecodeOrRefuse(bytes: Buffer, seed: number): void {
  let x = seed || 1;
  const next = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff), x);
  for (let round = 0; round < 4; round++) {
    const m = Buffer.from(bytes);
    for (let k = 0; k < 1 + (next() % 3); k++) m[next() % m.length] = next() & 0xff;
    try {
      decode(m);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw new Error(`mutated case ${seed} threw ${String(err)}`);
    }
  }
}
import { erlCommand, otpAvailability, type OtpRelease } from '../support/erl-peer.js';

const script = readFileSync(new URL('../support/erl/etf-corpus.erl.txt', import.meta.url), 'utf8');

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: binary_to_term(encode(decode(term_to_binary(T)))) =:= T for the whole corpus`, { timeout: 180_000 }, async (t) => {
    const availability = otpAvailability(otp);
    if (!availability.ok) {
      if (process.env.CI) assert.fail(`OTP ${otp} is required in CI: ${availability.reason}`);
      t.skip(`OTP ${otp} unavailable: ${availability.reason}`);
      return;
    }
    const [cmd, ...args] = erlCommand(otp);
    const erl = spawn(cmd, [...args, '-noshell', '-eval', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    erl.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => erl.on('exit', (code) => resolve(code)));
    const timer = setTimeout(() => erl.kill('SIGKILL'), 170_000);
    try {
      const lines = createInterface({ input: erl.stdout });
      let phase: 'corpus' | 'result' = 'corpus';
      let cases = 0;
      const options = new Set<string>();
      const report: string[] = [];
      for await (const line of lines) {
        if (phase === 'result') {
          report.push(line);
          continue;
        }
        if (line === 'END') {
          phase = 'result';
          erl.stdin.end();
          continue;
        }
        const [opts, hex] = line.split('\t');
        options.add(opts);
        const original = Buffer.from(hex, 'hex');
        const term = decode(original);
        if (original.length < 100_000) mutationsDecodeOrRefuse(original, cases);
        const back = encode(term, cases % 2 === 1 ? { compressed: true } : {});
        erl.stdin.write(back.toString('hex') + '\n');
        cases++;
      }
      const code = await exited;
      const mismatches = report.filter((l) => l.startsWith('MISMATCH'));
      assert.deepEqual(mismatches, [], `erl disagreed:\n${mismatches.slice(0, 10).join('\n')}`);
      assert.ok(report.includes(`checked ${cases}`), `erl checked every case: ${report.join(' | ')} ${stderr.slice(0, 2000)}`);
      assert.equal(code, 0);
      assert.ok(cases > 1500, `corpus has ${cases} cases`);
      for (const o of ['[]', '[compressed]', '[{minor_version,0}]', '[deterministic]']) assert.ok(options.has(o), `corpus covers ${o}`);
      if (otp >= 26) assert.ok(options.has('[local]'), 'corpus covers [local]');
    } finally {
      clearTimeout(timer);
      if (erl.exitCode === null) erl.kill('SIGKILL');
    }
  });
}
