/**
 * A tiny authoritative DNS server for the demo, so it runs on a machine with no DNS
 * server installed: answers A and AAAA queries (UDP) from a table the demo changes
 * as it goes. Not part of the library; the tests use a real dnsmasq instead.
 * Wire format: RFC 1035 section 4.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;

export class DemoDnsServer {
  /** name (lower case, no trailing dot) → addresses */
  readonly records = new Map<string, string[]>();
  private constructor(
    private readonly socket: Socket,
    readonly address: string,
    readonly port: number,
  ) {}

  static async start(address = '127.0.0.1', port = 0): Promise<DemoDnsServer> {
    const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => resolve());
    });
    const server = new DemoDnsServer(socket, address, socket.address().port);
    socket.on('message', (msg, rinfo) => {
      const reply = server.answer(msg);
      if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address);
    });
    return server;
  }

  /** `host:port`, as `defaultResolver`'s `servers` option takes it. */
  get server(): string {
    return `${this.address}:${this.port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(query: Buffer): Buffer | undefined {
    if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined; // one question only
    let pos = 12;
    const labels: string[] = [];
    while (pos < query.length && query[pos] !== 0) {
      const len = query[pos];
      if (len > 63 || pos + 1 + len > query.length) return undefined;
      labels.push(query.toString('latin1', pos + 1, pos + 1 + len));
      pos += 1 + len;
    }
    pos += 1;
    if (pos + 4 > query.length) return undefined;
    const qtype = query.readUInt16BE(pos);
    const questionEnd = pos + 4;
    const name = labels.join('.').toLowerCase();
    const known = this.records.get(name);
    const want = (ip: string) => (qtype === TYPE_A ? isIPv4(ip) : qtype === TYPE_AAAA ? isIPv6(ip) : false);
    const ips = (known ?? []).filter(want);
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8400 | (known === undefined ? 3 : 0), 2); // response, authoritative, NXDOMAIN if unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(ips.length, 6);
    const answers = ips.map((ip) => {
      const data = qtype === TYPE_A ? Buffer.from(ip.split('.').map(Number)) : ipv6Bytes(ip);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(CLASS_IN, 4);
      rr.writeUInt32BE(0, 6); // TTL 0: the demo changes records as it runs
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    });
    return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
  }
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
