// Throwaway certificates for TLS distribution tests, made with `openssl` in a temp
// directory that remove() deletes (no key is ever committed). ECDSA P-256: fast to
// make, and both OTP 25 and 27 and Node take it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeTlsOptions } from '../../src/index.js';
import type { OtpRelease } from './erl-peer.js';

const TRIXIE_ROOT = process.env.NESSIE_TRIXIE_ROOT ?? '/var/cache/nessie-cluster/trixie';

/** A certificate and key pair on disk, with its CA. */
export interface Issued {
  certFile: string;
  keyFile: string;
  caFile: string;
  cert: string;
  key: string;
  ca: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'nessie-tls-'));
  private readonly copies: string[] = [];
  private serial = 1;

  /** A self-signed CA named `name`. */
  ca(name: string): void {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`], this.dir);
  }

  /**
   * A leaf certificate `name` signed by CA `ca`, for both roles, naming every test
   * loopback address (127.0.0.2-9) and localhost. `days: 0` makes one that has expired.
   */
  issue(name: string, ca: string, days = 2): Issued {
    const ext = join(this.dir, `${name}.ext`);
    // OTP checks the host of the node name as a DNS name (its server_name_indication)
    // even when it is an IP address, Node as an IP: the certificate carries both.
    const ips = Array.from({ length: 8 }, (_, i) => `IP:127.0.0.${i + 2},DNS:127.0.0.${i + 2}`).join(',');
    writeFileSync(ext, `subjectAltName=${ips},DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], this.dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(this.serial++), '-out', `${name}.pem`, '-days', String(days), '-extfile', ext], this.dir);
    const file = (f: string) => join(this.dir, f);
    return {
      certFile: file(`${name}.pem`),
      keyFile: file(`${name}.key`),
      caFile: file(`${ca}.pem`),
      cert: readFileSync(file(`${name}.pem`), 'utf8'),
      key: readFileSync(file(`${name}.key`), 'utf8'),
      ca: readFileSync(file(`${ca}.pem`), 'utf8'),
    };
  }

  /** The node option for `issued`, trusting `trust` (default its own CA). */
  nodeTls(issued: Issued, trust: string[] = [issued.ca]): NodeTlsOptions {
    return { cert: issued.cert, key: issued.key, ca: trust };
  }

  /**
   * erl arguments for `-proto_dist inet_tls` with an ssl_dist_optfile: mutual TLS with
   * verify_peer in both roles, trusting `caPem`. For OTP 27 the files go into the
   * trixie root (erl runs under chroot there).
   */
  erlArgs(otp: OtpRelease, issued: Issued, caPem: string = issued.ca): string[] {
    let hostDir = mkdtempSync(join(this.dir, 'erl-'));
    let erlDir = hostDir;
    if (otp === 27) {
      mkdirSync(join(TRIXIE_ROOT, 'tmp'), { recursive: true });
      hostDir = mkdtempSync(join(TRIXIE_ROOT, 'tmp', 'nessie-tls-'));
      erlDir = hostDir.slice(TRIXIE_ROOT.length);
      this.copies.push(hostDir);
    }
    cpSync(issued.certFile, join(hostDir, 'cert.pem'));
    cpSync(issued.keyFile, join(hostDir, 'key.pem'));
    writeFileSync(join(hostDir, 'ca.pem'), caPem);
    const common = `{certfile, "${erlDir}/cert.pem"}, {keyfile, "${erlDir}/key.pem"}, {cacertfile, "${erlDir}/ca.pem"}, {verify, verify_peer}, {secure_renegotiate, true}`;
    writeFileSync(join(hostDir, 'dist.conf'), `[{server, [${common}, {fail_if_no_peer_cert, true}]},\n {client, [${common}]}].\n`);
    return ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', `${erlDir}/dist.conf`];
  }

  remove(): void {
    for (const d of this.copies) rmSync(d, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
