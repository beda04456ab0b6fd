// The package as npm users get it: `npm pack` from a copy of the checkout with no dist/
// (what a clean clone has), installed offline into a temporary consumer project, then
// used from ESM (a strict, type-checked TypeScript file) and from CommonJS (require),
// each starting a node that pings a live peer: a real erl when OTP 25 is here, else a
// TypeScript node from the repo's source. The README's TypeScript examples are
// type-checked in the same consumer, under `strict` and `exactOptionalPropertyTypes`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Node, silentLogger } from '../../src/index.js';
import { ErlPeer, otpAvailability } from '../support/erl-peer.js';
import { freeSharedPort, loopbackAddresses } from '../support/ports.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    // The parent `npm test` exports npm_config_* and npm_lifecycle_*: they must not steer the npm run here.
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    execFile(cmd, args, { cwd, env: { ...clean, ...env }, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      done({ code, stdout, stderr });
    });
  });
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The files a clean clone has: tracked ones and new ones not ignored, as they are in the working tree. */
async function copyCheckout(to: string, linkModules: boolean): Promise<void> {
  const listed = ok(await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], REPO), 'git ls-files');
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || !existsSync(join(REPO, file))) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(REPO, file), join(to, file));
  }
  // The devDependencies a git install would get (typescript for `prepare`), without a network.
  if (linkModules) symlinkSync(join(REPO, 'node_modules'), join(to, 'node_modules'));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

// The consumer's ESM file: type-checked strictly, then run. Atom's constructor must stay
// private in the published types (stripInternal must not turn it into a public one).
const CONSUMER_ESM = `
import { Atom, Node, Process, atom, decode, encode, isTuple, silentLogger, tuple, type NodeOptions } from 'nessie-cluster';

// @ts-expect-error atoms come from atom(), which interns them
export const notAnAtom = () => new Atom();
// @ts-expect-error processes come from node.spawn()
export const notAProcess = () => new Process();

const env = (key: string): string => {
  const value = process.env[key];
  if (value === undefined) throw new Error(\`\${key} is not set\`);
  return value;
};

const options: NodeOptions = { name: env('SELF'), cookie: env('COOKIE'), epmd: false, port: Number(env('PORT')), logger: silentLogger };
const node = await Node.start(options);
try {
  const back = decode(encode(tuple(atom('ok'), 1)));
  const pong = await node.ping(env('PEER'));
  console.log(JSON.stringify({ pong, nodes: node.nodes(), tuple: isTuple(back) && back[0] === atom('ok') }));
} finally {
  await node.stop();
}
`;

// The consumer's CommonJS file, type-checked too (TypeScript >= 5.8 with module nodenext
// types require() of an ESM package): require() of the package (Node >= 20.19), and the
// same module instance as import() gives, so atoms and classes are shared.
const CONSUMER_CJS = `
import nessie = require('nessie-cluster');

const env = (key: string): string => {
  const value = process.env[key];
  if (value === undefined) throw new Error(\`\${key} is not set\`);
  return value;
};

async function main(): Promise<void> {
  const imported = await import('nessie-cluster');
  const node = await nessie.Node.start({ name: env('SELF'), cookie: env('COOKIE'), epmd: false, port: Number(env('PORT')), logger: nessie.silentLogger });
  try {
    const pong = await node.ping(env('PEER'));
    console.log(JSON.stringify({ pong, sameModule: imported.Node === nessie.Node && imported.atom('ok') === nessie.atom('ok') }));
  } finally {
    await node.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;

function readmeTypeScriptBlocks(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

test('npm pack ships a package that installs, type-checks strictly and runs from ESM and CommonJS', { timeout: 180_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'nessie-pack-'));
  let peerNode: Node | undefined;
  let erl: ErlPeer | undefined;
  try {
    // 1. The tarball, built by `prepare` in a copy with no dist/.
    const clone = join(tmp, 'clone');
    await copyCheckout(clone, true);
    assert.ok(!existsSync(join(clone, 'dist')), 'the copy starts without dist/');
    ok(await run('npm', ['pack', '--pack-destination', tmp], clone), 'npm pack');
    const tarball = join(tmp, `nessie-cluster-${VERSION}.tgz`);
    assert.ok(existsSync(tarball), 'npm pack wrote the tarball');
    const listing = ok(await run('tar', ['tzf', tarball], tmp), 'tar').stdout.split('\n').filter(Boolean);
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'src/index.ts']) {
      assert.ok(listing.includes(`package/${f}`), `the tarball holds ${f}`);
    }
    for (const f of listing) assert.match(f, /^package\/(dist\/|src\/|LICENSE$|README\.md$|package\.json$)/, `${f} does not belong in the package`);

    // 2. A consumer project, installed offline (the package has no dependencies).
    const consumer = join(tmp, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    ok(await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', tarball], consumer), 'npm install of the tarball');
    const installed = join(consumer, 'node_modules/nessie-cluster');

    // 3. What was installed: types without @internal members, source maps that point at shipped files.
    const files = filesUnder(installed);
    for (const d of files.filter((f) => f.endsWith('.d.ts'))) {
      assert.ok(!readFileSync(d, 'utf8').includes('@internal'), `${relative(installed, d)} exposes an @internal member`);
    }
    const maps = files.filter((f) => f.endsWith('.map'));
    assert.ok(maps.length > 0, 'source maps are shipped');
    for (const m of maps) {
      for (const source of (JSON.parse(readFileSync(m, 'utf8')) as { sources: string[] }).sources) {
        const target = resolve(dirname(m), source);
        assert.ok(target.startsWith(installed) && existsSync(target), `${relative(installed, m)} points at ${source}, which is not shipped`);
      }
    }

    // 4. Type-check the consumer and the README's examples, strictly, with the repo's TypeScript.
    writeFileSync(join(consumer, 'consumer.ts'), CONSUMER_ESM);
    writeFileSync(join(consumer, 'consumer-cjs.cts'), CONSUMER_CJS);
    readmeTypeScriptBlocks().forEach((code, i) => writeFileSync(join(consumer, `readme-${i + 1}.ts`), `${code}\nexport {};\n`));
    assert.ok(readmeTypeScriptBlocks().length > 0, 'the README has TypeScript examples');
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true, skipLibCheck: false, types: ['node'], typeRoots: [join(REPO, 'node_modules/@types')],
        outDir: 'out', rootDir: '.',
      },
      include: ['*.ts', '*.cts'],
    }));
    ok(await run(process.execPath, [TSC, '-p', 'tsconfig.json'], consumer), 'tsc on the strict consumer');

    // 5. Run both against a live peer, EPMD-less on a shared port.
    const [peerHost, selfHost] = loopbackAddresses(2);
    const port = await freeSharedPort([peerHost, selfHost]);
    const cookie = 'pack-test-cookie';
    let peer: string;
    if (otpAvailability(25).ok) {
      erl = await ErlPeer.start({ name: `packpeer@${peerHost}`, cookie, epmdless: { port } });
      peer = erl.name;
      t.diagnostic(`the peer is erl (OTP 25): ${peer}`);
    } else {
      t.diagnostic(`no erl (${(otpAvailability(25) as { reason: string }).reason}): the peer is a TypeScript node`);
      peerNode = await Node.start({ name: `packpeer@${peerHost}`, cookie, epmd: false, port, logger: silentLogger });
      peer = peerNode.name;
    }
    const env = { SELF: `consumer@${selfHost}`, COOKIE: cookie, PORT: String(port), PEER: peer };
    const esm = ok(await run(process.execPath, ['out/consumer.js'], consumer, env), 'the ESM consumer');
    assert.deepEqual(JSON.parse(esm.stdout), { pong: 'pong', nodes: [peer], tuple: true });
    const cjs = ok(await run(process.execPath, ['out/consumer-cjs.cjs'], consumer, env), 'the CommonJS consumer');
    assert.deepEqual(JSON.parse(cjs.stdout), { pong: 'pong', sameModule: true });
    assert.equal(cjs.stderr, '', 'require() of the package warns about nothing');

    // 6. The installed `nessie` bin runs.
    const version = ok(await run(join(consumer, 'node_modules/.bin/nessie'), ['--version'], consumer), 'nessie --version');
    assert.equal(version.stdout.trim(), VERSION);
  } finally {
    await erl?.stop();
    await peerNode?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('npm install from a git URL builds the package with its devDependencies (prepare)', { timeout: 120_000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'nessie-git-'));
  try {
    const repo = join(tmp, 'repo');
    await copyCheckout(repo, false);
    const git = (...args: string[]) => run('git', ['-c', 'user.name=pack-test', '-c', 'user.email=pack-test@localhost', ...args], repo);
    ok(await git('init', '-q'), 'git init');
    ok(await git('add', '-A'), 'git add');
    ok(await git('commit', '-q', '-m', 'snapshot'), 'git commit');
    const consumer = join(tmp, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // Offline: npm installs the devDependencies `prepare` needs from its cache, as `npm install` here filled it.
    const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-package-lock', `git+file://${repo}`], consumer);
    if (install.code !== 0 && /ENOTCACHED/.test(install.stderr) && !process.env.CI) {
      t.skip('the devDependencies are not in the npm cache (run npm install once)');
      return;
    }
    ok(install, 'npm install from git');
    const installed = join(consumer, 'node_modules/nessie-cluster');
    assert.ok(existsSync(join(installed, 'dist/index.js')) && existsSync(join(installed, 'dist/index.d.ts')), 'prepare built dist/');
    const esm = ok(await run(process.execPath, ['--input-type=module', '-e', "import('nessie-cluster').then((m) => console.log(typeof m.Node.start))"], consumer), 'import');
    assert.equal(esm.stdout.trim(), 'function');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
