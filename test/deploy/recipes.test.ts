// The deployment recipes cannot run here (no Docker engine, no Kubernetes, no Fly), so
// they are checked by reading: what would break them silently when the code moves on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

test('Dockerfile: the COPY sources exist, the build script finds its files, none is dockerignored', () => {
  const ins = instructions(read('Dockerfile'));
  const copied = ins
    .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  assert.ok(copied.length > 0);
  for (const src of copied) assert.ok(existsSync(join(ROOT, src)), `COPY source ${src} does not exist`);
  const covered = (path: string) => copied.some((c) => path === c || path.startsWith(`${c.replace(/\/$/, '')}/`));
  // Every file the build script names (and every file a node script it runs reads by name) is copied.
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; bin: Record<string, string> };
  const named = pkg.scripts.build.split(/\s+/).filter((w) => /\.(json|mjs|js|cjs|ts)$/.test(w));
  for (const file of named) {
    assert.ok(covered(file), `the build script uses ${file}, which the Dockerfile does not copy`);
    for (const m of read(file).matchAll(/['"](tsconfig[\w.]*\.json)['"]/g)) assert.ok(covered(m[1]), `${file} reads ${m[1]}, not copied`);
  }
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  for (const src of copied) assert.ok(!ignored.includes(src.replace(/\/$/, '')), `${src} is copied but .dockerignore drops it`);
});

test("Dockerfile: the last stage runs as a non-root user, and its entrypoint is the package's bin with `start`", () => {
  const ins = instructions(read('Dockerfile'));
  const lastFrom = ins.map((i) => i.op).lastIndexOf('FROM');
  const last = ins.slice(lastFrom);
  const user = last.filter((i) => i.op === 'USER').at(-1)?.args;
  assert.ok(user !== undefined && !['root', '0', '0:0'].includes(user), `USER in the last stage: ${user}`);
  const entry = last.find((i) => i.op === 'ENTRYPOINT')?.args;
  assert.deepEqual(JSON.parse(entry ?? 'null'), ['nessie', 'start']);
  // `nessie` on PATH is the bin package.json declares, under the stage's WORKDIR.
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
  const workdir = last.find((i) => i.op === 'WORKDIR')?.args ?? '/';
  const binPath = join(workdir, pkg.bin.nessie);
  const link = last.find((i) => i.op === 'RUN' && i.args.includes('/usr/local/bin/nessie'))?.args ?? '';
  assert.ok(link.includes(`ln -s ${binPath} /usr/local/bin/nessie`), `nessie should link ${binPath}: ${link}`);
  const copiedFromBuild = last.filter((i) => i.op === 'COPY' && i.args.startsWith('--from')).map((i) => i.args.split(/\s+/).at(-1)!);
  assert.ok(copiedFromBuild.some((dest) => binPath.startsWith(join(workdir, dest))), `${binPath} is not among the copied build output`);
  assert.ok(existsSync(join(ROOT, pkg.bin.nessie.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))), 'the bin has a source file');
});

/** The `--flags` a recipe passes to `nessie start`. */
function flagsIn(text: string): string[] {
  return [...new Set([...text.matchAll(/(?:^|[\s"'[])(--[a-z][a-z-]+)/gm)].map((m) => m[1]))];
}

test('the recipes pass only flags `nessie start` documents, and the ports they use are the container ports', () => {
  const cli = readdirSync(join(ROOT, 'src/cli')).map((f) => read(`src/cli/${f}`)).join('\n');
  const recipes = ['examples/kubernetes/nessie.yaml', 'examples/fly/fly.toml'];
  for (const file of recipes) {
    const flags = flagsIn(read(file).split('\n').filter((l) => !l.trim().startsWith('#')).join('\n'));
    assert.ok(flags.length >= 3, `${file}: ${flags.join(' ')}`);
    for (const flag of flags) assert.ok(cli.includes(`${flag} `), `${file} passes ${flag}, which nessie start does not document`);
  }
  const k8s = read('examples/kubernetes/nessie.yaml');
  const containerPorts = new Set([...k8s.matchAll(/containerPort:\s*(\d+)/g)].map((m) => m[1]));
  const servicePorts = [...k8s.matchAll(/^\s*port:\s*(\d+)/gm)].map((m) => m[1]);
  assert.ok(servicePorts.length > 0);
  for (const p of servicePorts) assert.ok(containerPorts.has(p), `Service port ${p} is no containerPort`);
  for (const flag of ['--port', '--status-port']) {
    const value = new RegExp(`- ${flag}\\s*\\n\\s*- "?(\\d+)"?`).exec(k8s)?.[1];
    assert.ok(value !== undefined && containerPorts.has(value), `${flag} ${value} is no containerPort`);
  }
});
