/**
 * The logger every layer takes (pino-shaped, so pino, console and most loggers fit).
 * Messages never contain a cookie or raw handshake bytes.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Discards everything. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Writes warnings and errors to the console, with `prefix`; debug and info are dropped. */
export function consoleLogger(prefix = '[nessie]'): Logger {
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (m) => console.warn(`${prefix} ${m}`),
    error: (m) => console.error(`${prefix} ${m}`),
  };
}
