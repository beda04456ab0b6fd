/**
 * The logger every layer takes. Two shapes are accepted wherever a `logger` option is:
 * an object with `debug`, `info`, `warn` and `error` methods that take a message
 * (pino, console and most loggers fit: their methods are called on the object, so
 * `this` is kept), or the seed's function of `(level, message)`.
 * Messages never contain a cookie or raw handshake bytes.
 */
import { InvalidOptionError } from './errors.js';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The seed's logger shape: one function that gets a level and a message. */
export type LogFunction = (level: LogLevel, message: string) => void;

/** What a `logger` option takes: a `Logger` object (pino, console...) or the seed's `(level, message)` function. */
export type LoggerOption = Logger | LogFunction;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

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

/**
 * Either shape as a `Logger`.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) naming `option` for anything else.
 */
export function toLogger(given: LoggerOption, option = 'logger'): Logger {
  if (typeof given === 'function') {
    return { debug: (m) => given('debug', m), info: (m) => given('info', m), warn: (m) => given('warn', m), error: (m) => given('error', m) };
  }
  checkLoggerObject(given, option);
  return given;
}

/**
 * Either shape as the seed's `(level, message)` function. An object's methods are
 * called on the object (pino's need their `this`).
 * @throws InvalidOptionError (ERR_INVALID_OPTION) naming `option` for anything else.
 */
export function toLogFunction(given: LoggerOption, option = 'logger'): LogFunction {
  if (typeof given === 'function') return given;
  checkLoggerObject(given, option);
  return (level, message) => given[level](message);
}

function checkLoggerObject(given: unknown, option: string): asserts given is Logger {
  const ok = given !== null && typeof given === 'object' && LEVELS.every((l) => typeof (given as Record<string, unknown>)[l] === 'function');
  if (!ok) throw new InvalidOptionError(option, 'an object with debug, info, warn and error methods (pino, console...), or a function (level, message) => void', given);
}
