// Child processes of dist.bench.ts, so that the memory measured is one process's own.
//   peers PORT COOKIE HOST...   one TS node per address (EPMD-less on PORT) until killed
//   measure PORT COOKIE NAME PEER...   one node NAME that connects to every PEER and
//     reports its resident memory before and after (after a GC, run with --expose-gc)
// NESSIE_SRC=/other/checkout/src measures another checkout's code (before/after).
const src = process.env.NESSIE_SRC ?? new URL('../src/', import.meta.url).pathname;
const ext = import.meta.url.endsWith('.js') ? 'js' : 'ts';
const { Node, silentLogger } = (await import(`${src}/index.${ext}`)) as typeof import('../src/index.js');

const [mode, port, cookie, ...rest] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const start = (name: string) => Node.start({ name, cookie, epmd: false, port: Number(port), logger: silentLogger });

if (mode === 'peers') {
  for (const h of rest) await start(`peer@${h}`);
  process.send?.({ ready: true });
} else {
  const [name, ...peers] = rest;
  const node = await start(name);
  const settle = async () => {
    await sleep(500);
    global.gc?.();
    await sleep(200);
    return process.memoryUsage().rss;
  };
  const before = await settle();
  let connected = 0;
  for (const p of peers) if (await node.connect(p)) connected++;
  await sleep(1000);
  const after = await settle();
  process.send?.({ before, after, connected });
  await node.stop();
  process.exit(0);
}
