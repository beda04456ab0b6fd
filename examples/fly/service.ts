/**
 * The Fly recipe as library code, for a TypeScript service of your own (what
 * `nessie start` does with the env of fly.toml). In your project, import from
 * 'nessie-cluster' instead of '../../src/index.js'.
 *
 *   RELEASE_NODE=nessie  FLY_PRIVATE_IP=fdaa:…  RELEASE_COOKIE=…  node service.js
 */
import { DnsCluster, DnsQuery, Node } from '../../src/index.js';

const ip = process.env.FLY_PRIVATE_IP;
if (ip === undefined) throw new Error('FLY_PRIVATE_IP is not set: run this on a Fly machine');

// nessie@fdaa:…: an IPv6 name; the embedded EPMD binds that address if none answers.
const node = await Node.start({ name: `nessie@${ip}`, cookie: process.env.RELEASE_COOKIE });

const cluster = await DnsCluster.new()
  .withQuery([
    // This app's other machines: basename nessie, like ours.
    DnsQuery.query('my-app-nessie.internal'),
    // The Elixir app: its basename is my-app-<image ref>, different per deploy, so ask
    // each machine's EPMD which names it has and take those that start with "my-app-".
    DnsQuery.query('my-app.internal', { names: 'my-app-' }),
  ])
  .withEpmdNames({ timeoutMs: 1000 })
  .start(node);

node.on('nodeup', (name) => console.log(`nodeup ${name}`));
process.once('SIGTERM', async () => {
  await cluster.stop();
  await node.stop();
});
