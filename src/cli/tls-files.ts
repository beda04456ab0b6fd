/**
 * `nessie start --tls-cert FILE --tls-key FILE --tls-ca FILE [--tls-verify none]`: the
 * node's `tls` option read from files, at start and again on SIGHUP (cert-manager
 * rotates the files in place). Errors name the flag and the file, never the contents.
 */
import { readFileSync } from 'node:fs';
import type { NodeTlsOptions } from '../node/tls-options.js';

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string | undefined;
  verify: 'verify_peer' | 'verify_none';
}

/** The flags checked as a set; undefined when none is given. @throws Error with the fix */
export function tlsFilesFromFlags(v: { 'tls-cert'?: string; 'tls-key'?: string; 'tls-ca'?: string; 'tls-verify'?: string }): TlsFiles | undefined {
  const { 'tls-cert': cert, 'tls-key': key, 'tls-ca': ca, 'tls-verify': verify } = v;
  if (cert === undefined && key === undefined && ca === undefined && verify === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new Error('TLS distribution needs both --tls-cert FILE and --tls-key FILE');
  if (verify !== undefined && verify !== 'none' && verify !== 'peer') throw new Error(`--tls-verify needs peer or none, got ${JSON.stringify(verify)}`);
  if (ca === undefined && verify !== 'none') throw new Error("--tls-ca FILE is needed to verify peers' certificates (or --tls-verify none, for tests only)");
  return { cert, key, ca, verify: verify === 'none' ? 'verify_none' : 'verify_peer' };
}

/** Reads the files into the node option. @throws Error naming the flag and file that cannot be read */
export function readTlsFiles(files: TlsFiles): NodeTlsOptions {
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    cert: read('--tls-cert', files.cert),
    key: read('--tls-key', files.key),
    ...(files.ca === undefined ? {} : { ca: read('--tls-ca', files.ca) }),
    verify: files.verify,
  };
}
