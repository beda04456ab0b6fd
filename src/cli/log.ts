/**
 * The CLI's log lines: a level threshold, a timestamp on every line, and either text
 * (`2026-01-01T00:00:00.000Z [nessie][INFO] message key=value`) or one JSON object a
 * line (`{"time","level","msg",...fields}`) for log pipelines. Lines from the cluster
 * keep the seed's `[nessie_cluster]` tag, so alerts written against it keep matching.
 * Nothing here knows the cookie, and no caller passes it.
 */
import type { LogLevel, Logger } from '../logger.js';

export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean | readonly string[] | undefined>;

/** A Logger whose methods also take structured fields, and that binds fields for a component. */
export interface CliLogger extends Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Whether lines of `level` are written. */
  enabled(level: LogLevel): boolean;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): CliLogger;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface CliLoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; default stdout. */
  write?: (line: string) => void;
}

export function createCliLogger(o: CliLoggerOptions, bound: LogFields = {}): CliLogger {
  const write =
    o.write ??
    ((line: string) => {
      process.stdout.write(line);
    });
  const line = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (RANK[level] < RANK[o.level]) return;
    const all = { ...bound, ...fields };
    const time = new Date().toISOString();
    write(o.format === 'json' ? `${JSON.stringify({ time, level, msg: message, ...defined(all) })}\n` : `${time} ${textLine(level, message, all)}\n`);
  };
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    enabled: (level) => RANK[level] >= RANK[o.level],
    child: (fields) => createCliLogger(o, { ...bound, ...fields }),
  };
}

function textLine(level: LogLevel, message: string, fields: LogFields): string {
  const { component, ...rest } = fields;
  const tag = component === 'cluster' ? 'nessie_cluster' : 'nessie';
  const extra = Object.entries(defined(rest)).map(([k, v]) => ` ${k}=${textValue(v)}`).join('');
  return `[${tag}][${level.toUpperCase()}] ${message}${extra}`;
}

function textValue(v: string | number | boolean | readonly string[]): string {
  const s = Array.isArray(v) ? v.join(',') : String(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

function defined(fields: LogFields): Record<string, string | number | boolean | readonly string[]> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<string, string | number | boolean | readonly string[]>;
}
