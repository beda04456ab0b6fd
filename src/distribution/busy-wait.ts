/**
 * Busy waiting after a write, as BEAM's schedulers do (erl's `+sbwt`): for a short
 * window after the node writes to a connection, the event loop keeps polling its
 * sockets instead of sleeping in the kernel, so an answer that comes back within the
 * window is read without waking a sleeping thread.
 *
 * Why it matters: on a virtual machine a thread that sleeps lets its vCPU halt, and the
 * peer's write that wakes it pays for an inter-processor interrupt through the
 * hypervisor. Measured on a 2-vCPU microVM: a round trip with a BEAM node that is
 * otherwise idle took 90-120 µs where BEAM <-> BEAM took 13 µs, because BEAM's
 * schedulers spin a while before they sleep; the same round trip with both processes
 * pinned to one CPU took 34-36 µs.
 *
 * The window is polled by a chain of ref'd setImmediate callbacks: while one is
 * pending, libuv polls for I/O with a zero timeout. It costs the CPU of the window
 * after each burst of writes (at most `windowUs` µs of one core per write that finds
 * it idle), and nothing while traffic is continuous, when the loop has work anyway.
 */
export class BusyWait {
  private until = 0;
  private pending: NodeJS.Immediate | undefined;
  private readonly windowMs: number;

  constructor(windowUs: number) {
    this.windowMs = windowUs / 1000;
  }

  /** Keeps the event loop awake until the window after now has passed. */
  afterWrite(): void {
    this.until = performance.now() + this.windowMs;
    this.pending ??= setImmediate(this.poll);
  }

  /** Stops polling at once (the node is stopping). */
  stop(): void {
    if (this.pending !== undefined) clearImmediate(this.pending);
    this.pending = undefined;
    this.until = 0;
  }

  private readonly poll = (): void => {
    this.pending = performance.now() < this.until ? setImmediate(this.poll) : undefined;
  };
}
