/**
 * The `tls` node option: what an OTP `-ssl_dist_optfile` carries for both roles, with
 * secure defaults, checked at start. Key material never reaches an error message or
 * a log line: a refused key is reported by the option's name only.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { InvalidOptionError } from '../errors.js';
import type { TlsSettings } from '../distribution/transport.js';

type Pem = string | Buffer;

/** Every optional field also takes `undefined`, meaning its default (as NodeOptions). */
export interface NodeTlsOptions {
  /** This node's certificate chain, PEM (leaf first). Used in both roles (OTP server_certfile/client_certfile). */
  cert: Pem;
  /** Its private key, PEM, unencrypted. A key that does not parse or does not match `cert` refuses the start. */
  key: Pem;
  /** The CA bundle peers' certificates must chain to, PEM. Required unless `verify` is 'verify_none'. */
  ca?: Pem | Pem[] | undefined;
  /** Default 'verify_peer' (both roles): mutual TLS. 'verify_none' accepts any certificate; for tests only. */
  verify?: 'verify_peer' | 'verify_none' | undefined;
  /** Refuse a connecting peer that presents no certificate. Default true (OTP's default is false). */
  failIfNoPeerCert?: boolean | undefined;
  /**
   * The name a peer's server certificate must carry when we dial it. Default: the host part
   * of its node name, as inet_tls_dist does (`{server_name_indication, Host}`). `false`
   * checks the chain only (OTP `{server_name_indication, disable}`).
   */
  serverName?: string | false | undefined;
  /** Lowest TLS version. Default 'TLSv1.2'; TLS 1.3 is always allowed. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined;
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults). Default Node's. */
  ciphers?: string | undefined;
}

/** Checks `tls` and turns it into transport settings; undefined when TLS is off. */
export function resolveTlsOptions(tls: NodeTlsOptions | undefined): TlsSettings | undefined {
  if (tls === undefined) return undefined;
  if (tls === null || typeof tls !== 'object') throw new InvalidOptionError('tls', 'an object { cert, key, ca, ... }', tls);
  const cert = pem('tls.cert', tls.cert);
  const key = pem('tls.key', tls.key);
  const verify = tls.verify ?? 'verify_peer';
  if (verify !== 'verify_peer' && verify !== 'verify_none') throw new InvalidOptionError('tls.verify', "'verify_peer' or 'verify_none'", verify);
  const ca = tls.ca === undefined ? undefined : Array.isArray(tls.ca) ? tls.ca.map((c, i) => pem(`tls.ca[${i}]`, c)) : pem('tls.ca', tls.ca);
  if (verify === 'verify_peer' && ca === undefined) {
    throw new InvalidOptionError('tls.ca', "the CA bundle peers' certificates chain to (or verify: 'verify_none')", undefined);
  }
  const failIfNoPeerCert = tls.failIfNoPeerCert ?? true;
  if (typeof failIfNoPeerCert !== 'boolean') throw new InvalidOptionError('tls.failIfNoPeerCert', 'a boolean', failIfNoPeerCert);
  const serverName = tls.serverName;
  if (serverName !== undefined && serverName !== false && (typeof serverName !== 'string' || serverName === '')) {
    throw new InvalidOptionError('tls.serverName', 'a host name, or false to skip the name check', serverName);
  }
  const minVersion = tls.minVersion ?? 'TLSv1.2';
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') throw new InvalidOptionError('tls.minVersion', "'TLSv1.2' or 'TLSv1.3'", minVersion);
  if (tls.ciphers !== undefined && (typeof tls.ciphers !== 'string' || tls.ciphers === '')) {
    throw new InvalidOptionError('tls.ciphers', 'an OpenSSL cipher list', tls.ciphers);
  }

  try {
    new X509Certificate(cert);
  } catch {
    throw new InvalidOptionError('tls.cert', 'a PEM certificate', '(text that does not parse as one)');
  }
  try {
    createPrivateKey(key);
  } catch {
    // Never the key itself, nor OpenSSL's message about it.
    throw new InvalidOptionError('tls.key', 'an unencrypted PEM private key', '(a value that does not parse as one)');
  }
  const context: SecureContextOptions = { cert, key, ca, minVersion, ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }) };
  try {
    createSecureContext(context);
  } catch (err) {
    const message = (err as Error).message;
    if (/key values mismatch/i.test(message)) throw new InvalidOptionError('tls.key', 'the private key of tls.cert', '(a key of another certificate)');
    if (/cipher/i.test(message)) throw new InvalidOptionError('tls.ciphers', 'an OpenSSL cipher list', tls.ciphers);
    throw new InvalidOptionError('tls.ca', 'PEM certificates', `(refused: ${message})`);
  }
  return { context, verifyPeer: verify === 'verify_peer', failIfNoPeerCert, serverName };
}

function pem(option: string, v: unknown): Pem {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string' && v.includes('-----BEGIN ')) return v;
  // A string without a PEM header is most often a file path passed by mistake.
  throw new InvalidOptionError(option, 'PEM text or a Buffer holding it (read the file first)', typeof v === 'string' ? '(a string with no PEM header)' : v);
}
