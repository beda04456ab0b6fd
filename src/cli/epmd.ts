/** `nessie epmd`: the embedded EPMD on its own, bound to one address. */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { EpmdServer } from '../epmd/server.js';
import type { LogLevel } from '../logger.js';
import { argsError, integerOption } from './args.js';
import { explainListenError } from './listen-errors.js';
import { createCliLogger, type LogFormat } from './log.js';
import { StartupError } from './startup-error.js';
import { UsageError } from './usage.js';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  address: { type: 'string' },
  port: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

export interface EpmdConfig {
  address: string;
  port: number;
  log: { level: LogLevel; format: LogFormat };
}

/** `'help'` when --help was asked for; else the checked configuration. @throws UsageError */
export function readEpmdConfig(argv: string[], env: NodeJS.ProcessEnv): EpmdConfig | 'help' {
  let v;
  try {
    v = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw argsError(err, Object.keys(OPTIONS), 'epmd');
  }
  if (v.help) return 'help';
  const address = v.address ?? '0.0.0.0';
  if (isIP(address) === 0) throw new UsageError(`--address needs an IP address, got ${JSON.stringify(address)}`, 'epmd');
  const port = v.port !== undefined
    ? integerOption('--port', v.port, 1, 65535, 'a port', 'epmd')
    : integerOption('ERL_EPMD_PORT', env.ERL_EPMD_PORT, 1, 65535, 'a port', 'epmd');
  const level = v['log-level'] ?? (v.verbose ? 'debug' : 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level needs one of debug, info, warn, error, got ${JSON.stringify(level)}`, 'epmd');
  const format = v['log-format'] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--log-format needs text or json, got ${JSON.stringify(format)}`, 'epmd');
  return { address, port: port ?? 4369, log: { level: level as LogLevel, format } };
}

export async function runEpmd(config: EpmdConfig): Promise<void> {
  const log = createCliLogger(config.log);
  let server: EpmdServer;
  try {
    server = await EpmdServer.start({ address: config.address, port: config.port, logger: log.child({ component: 'epmd' }) });
  } catch (err) {
    throw StartupError.from(err, explainListenError(err, { addressFrom: '--address', portFlag: '--port' }));
  }
  const shutdown = async () => {
    try {
      await server.stop();
    } finally {
      process.exit(0);
    }
  };
  // cannot reject: process.exit runs whatever stop() did.
  process.once('SIGINT', () => void shutdown());
  // cannot reject: as above.
  process.once('SIGTERM', () => void shutdown());
}
