// Runs a benchmark on the JavaScript that tsc makes, with plain node: the code users
// run. Under tsx every function expression also gets esbuild's keepNames wrapper
// (`__name(fn, "name")`, an Object.defineProperty each time a closure is made), which
// cost the TS side of calls.bench.ts about a third of its CPU: that is tsx's price, not
// the library's.
//
//   node compiled.mjs calls.bench.ts          (NESSIE_SRC=/other/src: that checkout's src)
//
// The project's src and test/support and the benchmark are compiled into a temp dir
// (with the .erl files beside the benchmark), NESSIE_SRC's src into another, and the
// compiled benchmark runs with NESSIE_SRC pointing at the compiled src. The temp dir is
// removed afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repo = resolve(benchDir, '..');
const bench = process.argv[2];
if (bench === undefined || !bench.endsWith('.bench.ts')) {
  console.error('usage: node compiled.mjs <name>.bench.ts');
  process.exit(2);
}
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
const tmp = mkdtempSync(join(tmpdir(), 'nessie-bench-js-'));

/** Compiles `include` (paths under `root`) into `out` with the project's compiler options. */
function compile(root, include, out) {
  const config = join(tmp, `tsconfig-${basename(out)}.json`);
  writeFileSync(config, JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    compilerOptions: { rootDir: root, outDir: out, typeRoots: [join(repo, 'node_modules', '@types')], noEmit: false, declaration: false, declarationMap: false, sourceMap: false },
    include: include.map((p) => join(root, p)),
  }));
  execFileSync(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
}

let status = 1;
try {
  const out = join(tmp, 'this');
  // Besides src and test/support, what benchmarks import: dist's child processes and the demo's DNS server.
  compile(repo, ['src', 'test/support', `bench/${bench}`, 'bench/machine.ts', 'bench/dist-peers.ts', 'examples/demo/dns-server.ts'], out);
  for (const f of readdirSync(benchDir)) if (f.endsWith('.erl')) copyFileSync(join(benchDir, f), join(out, 'bench', f));
  // What test/support finds beside itself: the sources some benchmarks load into their
  // peers (pubsub's stand-in) and the script that runs OTP 27 and Elixir.
  cpSync(join(repo, 'test', 'fixtures'), join(out, 'test', 'fixtures'), { recursive: true });
  cpSync(join(repo, 'scripts', 'otp-peers'), join(out, 'scripts', 'otp-peers'));
  let src = join(out, 'src');
  if (process.env.NESSIE_SRC !== undefined) {
    const otherRoot = resolve(process.env.NESSIE_SRC, '..');
    compile(otherRoot, ['src'], join(tmp, 'other'));
    src = join(tmp, 'other', 'src');
  }
  const run = spawnSync(process.execPath, [join(out, 'bench', bench.replace(/\.ts$/, '.js'))], {
    stdio: 'inherit',
    env: { ...process.env, NESSIE_SRC: src, NESSIE_BENCH_DIR: benchDir, NESSIE_SRC_LABEL: `${process.env.NESSIE_SRC ?? join(repo, 'src')} (compiled by tsc)` },
  });
  status = run.status ?? 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(status);
