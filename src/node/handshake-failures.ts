/**
 * The log of refused incoming handshakes. Each refusal names where it came from
 * (address:port) so an operator can find a misconfigured node or an attacker; a flood
 * of them must not flood the log, so within one interval only the first is written in
 * full and the rest are counted, then summed up in one line when the interval ends:
 * "37 more failed handshakes in the last 10 s, from 10.0.0.7 (x35), 10.0.0.9 (x2); last: ...".
 */
import type { Logger } from '../logger.js';

export interface HandshakeFailure {
  /** `address:port` of the socket. */
  source: string;
  /** The node name the peer claimed, once it sent one. */
  peer: string | undefined;
  reason: string;
  /** 'warn' for a peer that failed authentication, 'info' for the rest (scanners, timeouts). */
  level: 'warn' | 'info';
}

/** How many distinct source addresses a summary names; the rest are counted together. */
const MAX_ADDRESSES = 8;

export class HandshakeFailureLog {
  private windowStart = -Infinity;
  private suppressed = 0;
  private suppressedWarn = false;
  private lastReason = '';
  /** Suppressed failures per source address (without the port, which changes every try). */
  private readonly byAddress = new Map<string, number>();
  private otherAddresses = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  record(f: HandshakeFailure): void {
    const line = `refused incoming connection from ${f.source}${f.peer === undefined ? '' : ` (claiming to be ${f.peer})`}: ${f.reason}`;
    if (this.now() - this.windowStart >= this.intervalMs) {
      if (this.suppressed > 0) {
        // The flood goes on: the summary closes the interval and this one opens the next.
        this.flush();
      } else {
        this.windowStart = this.now();
        this.logger[f.level](line);
        return;
      }
    }
    this.suppressed++;
    this.suppressedWarn ||= f.level === 'warn';
    this.lastReason = f.reason;
    const address = addressOf(f.source);
    const seen = this.byAddress.get(address);
    if (seen !== undefined) this.byAddress.set(address, seen + 1);
    else if (this.byAddress.size < MAX_ADDRESSES) this.byAddress.set(address, 1);
    else this.otherAddresses++;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.windowStart + this.intervalMs - this.now()));
      this.timer.unref();
    }
  }

  /** Writes the summary of the failures counted since the last line, if any. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed === 0) return;
    const from = [...this.byAddress].sort((a, b) => b[1] - a[1]).map(([address, n]) => `${address} (x${n})`);
    if (this.otherAddresses > 0) from.push(`${this.otherAddresses} from other addresses`);
    const seconds = Math.max(1, Math.round((this.now() - this.windowStart) / 1000));
    const line = `${this.suppressed} more failed handshakes in the last ${seconds} s, from ${from.join(', ')}; last: ${this.lastReason}`;
    this.logger[this.suppressedWarn ? 'warn' : 'info'](line);
    this.suppressed = 0;
    this.suppressedWarn = false;
    this.byAddress.clear();
    this.otherAddresses = 0;
    // The summary starts a new interval: the next failure is counted, not written in full.
    this.windowStart = this.now();
  }
}

/** '10.0.0.7:51234' → '10.0.0.7'; '[::1]:51234' → '::1'. */
function addressOf(source: string): string {
  const colon = source.lastIndexOf(':');
  const address = colon < 0 ? source : source.slice(0, colon);
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}
