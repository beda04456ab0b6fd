// Child process of dist.bench.ts: hosts one TS node per given address (EPMD-less on
// the given port) until it is killed, so the parent can measure its own memory with
// 100 idle connections.
import { Node, silentLogger } from '../src/index.js';

const [port, cookie, ...hosts] = process.argv.slice(2);
const nodes: Node[] = [];
for (const h of hosts) nodes.push(await Node.start({ name: `peer@${h}`, cookie, epmd: false, port: Number(port), logger: silentLogger }));
process.send?.('ready');
