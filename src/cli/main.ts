#!/usr/bin/env node
/**
 * The `nessie` command: `nessie start` runs a node that joins a cluster found through
 * DNS; `nessie epmd` runs the embedded EPMD on its own; `nessie --version`, and
 * `--help` for each. A refused command line exits with 2 and says what to fix; a
 * failure to start exits with 1 and says why in a sentence (the stack only with
 * --log-level debug).
 */
import { NessieError } from '../errors.js';
import { readEpmdConfig, runEpmd } from './epmd.js';
import { readStartConfig } from './start-config.js';
import { runStart } from './start.js';
import { StartupError } from './startup-error.js';
import { EPMD_HELP, HELP, START_HELP, UsageError } from './usage.js';
import { packageVersion } from './version.js';

let showStacks = false;

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (command === 'start') {
    const config = readStartConfig(rest, env);
    if (config === 'help') {
      process.stdout.write(START_HELP);
      return;
    }
    showStacks = config.log.level === 'debug';
    return runStart(config);
  }
  if (command === 'epmd') {
    const config = readEpmdConfig(rest, env);
    if (config === 'help') {
      process.stdout.write(EPMD_HELP);
      return;
    }
    showStacks = config.log.level === 'debug';
    return runEpmd(config);
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}: the commands are start and epmd`);
}

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`nessie: ${err.message}\n${err.hint}\n`);
    process.exit(2);
  }
  const message = err instanceof StartupError ? err.message : err instanceof NessieError ? `${err.message} (${err.code})` : (err as Error)?.message ?? String(err);
  process.stderr.write(`nessie: ${message}\n`);
  const detail = err instanceof StartupError ? err.cause : err;
  if (showStacks && detail instanceof Error && detail.stack !== undefined) process.stderr.write(`${detail.stack}\n`);
  process.exit(1);
});
