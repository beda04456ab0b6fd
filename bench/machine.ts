/**
 * One line saying what the figures were measured on, printed at the top of every benchmark
 * (issue 10: "print the machine's load"). Load averages are read at the start and again
 * beside the table, so a run disturbed by other work says so.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';

export function machineLine(): string {
  const otp = spawnSync('erl', ['-noshell', '-eval', 'io:format("~s", [erlang:system_info(otp_release)]), halt().'], {
    encoding: 'utf8',
  }).stdout || 'none';
  return `machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
    `Node ${process.version}, OTP ${otp}; ${loadLine()}`;
}

export function loadLine(): string {
  return `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min)`;
}
