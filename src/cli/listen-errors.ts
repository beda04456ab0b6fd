/**
 * The system errors of binding a socket, said as what to change: an operator reads
 * "the name's IP 10.0.0.9 is not an address of this host", not a stack trace.
 */
import { networkInterfaces } from 'node:os';

export interface ListenContext {
  /** Where the address came from: the node's name, or a flag (--status-host, --address). */
  addressFrom: 'name' | `--${string}`;
  /** The flag that sets the port: --port, --status-port. */
  portFlag: string;
}

/** A sentence for a listen error, or undefined when it is not one we can explain. */
export function explainListenError(err: unknown, ctx: ListenContext): string | undefined {
  const e = systemError(err);
  if (e === undefined) return undefined;
  const address = e.address ?? '?';
  const port = e.port;
  switch (e.code) {
    case 'EADDRNOTAVAIL':
      return ctx.addressFrom === 'name'
        ? `the name's IP ${address} is not an address of this host (${hostAddresses()}): name the node BASENAME@ONE_OF_THEM with --name or RELEASE_NODE, or set POD_IP (FLY_PRIVATE_IP) to this host's address`
        : `${ctx.addressFrom} ${address} is not an address of this host (${hostAddresses()}): pick one of them`;
    case 'EADDRINUSE':
      return `port ${port} on ${address} is already in use: pick another ${ctx.portFlag}, or stop the program that holds it`;
    case 'EACCES':
      return `binding port ${port} on ${address} needs privileges this process does not have: use a port above 1023 with ${ctx.portFlag}`;
    default:
      return undefined;
  }
}

type SystemError = NodeJS.ErrnoException & { address?: string; port?: number };

/** The system error itself, or the one an error of ours wraps as its cause (EpmdServer's, for one). */
function systemError(err: unknown): SystemError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (typeof (e as SystemError).syscall === 'string' && typeof (e as SystemError).code === 'string') return e as SystemError;
  }
  return undefined;
}

function hostAddresses(): string {
  const all = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => (a.internal && a.family === 'IPv4' ? a.cidr ?? a.address : a.address)));
  return all.length === 0 ? 'it has none' : `its addresses: ${all.join(', ')}`;
}
