/**
 * The byte stream under a distribution connection: plain TCP (`inet_tcp_dist`) or
 * TLS (`inet_tls_dist`). Either way the caller gets a connected net.Socket (a
 * tls.TLSSocket is one) on which the version 6 handshake, framing and ticks run
 * unchanged. With TLS the TLS handshake comes first and is finished (and the peer's
 * certificate checked) before a single distribution byte is read or written, as in
 * OTP. EPMD is not here: it stays plain TCP in both cases, as in OTP.
 */
import { createConnection, createServer, isIP, type Server, type Socket } from 'node:net';
import {
  checkServerIdentity,
  connect as tlsConnect,
  createServer as createTlsServer,
  type PeerCertificate,
  type SecureContextOptions,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import { ConnectionClosedError, ErrorCode, TimeoutError } from '../errors.js';
import type { HandshakeLengthBytes } from './framing.js';

/** The TLS settings both roles use, already checked (see node/tls-options.ts). */
export interface TlsSettings {
  /** cert, key, ca, minVersion, ciphers: what tls.createSecureContext takes. */
  context: SecureContextOptions;
  /** `verify_peer`: the peer's certificate must chain to `ca` (OTP `{verify, verify_peer}`). */
  verifyPeer: boolean;
  /** Server role: refuse a client that presents no certificate (OTP `fail_if_no_peer_cert`). */
  failIfNoPeerCert: boolean;
  /**
   * Client role: the name the server's certificate must carry. `undefined`: the host
   * part of the peer's node name (inet_tls_dist's `{server_name_indication, Host}`);
   * `false`: no name check, the chain is still verified (OTP `{server_name_indication, disable}`).
   */
  serverName: string | false | undefined;
}

export interface ListenHandlers {
  /** A connection ready for the distribution handshake. */
  onSocket(socket: Socket): void;
  /** A connection that failed before the distribution handshake (TLS refused), already closed. */
  onRefused(source: string, reason: string): void;
  /** The listening socket itself failed. */
  onError(err: Error): void;
}

export interface Listener {
  readonly port: number;
  /** Stops accepting; live connections are left alone. */
  close(): Promise<void>;
}

export interface Transport {
  readonly kind: 'tcp' | 'tls';
  /** The handshake's length prefix on this transport. */
  readonly handshakeLengthBytes: HandshakeLengthBytes;
  /** Opens a connection to host:port, ready for the handshake, within timeoutMs. */
  connect(host: string, port: number, timeoutMs: number): Promise<Socket>;
  listen(address: string, port: number, timeoutMs: number, handlers: ListenHandlers): Promise<Listener>;
}

export const tcpTransport: Transport = {
  kind: 'tcp',
  handshakeLengthBytes: 2,
  connect(host, port, timeoutMs) {
    return opened(createConnection({ host, port }), 'connect', 'TCP', host, port, timeoutMs);
  },
  listen(address, port, _timeoutMs, handlers) {
    return bind(createServer((socket) => handlers.onSocket(socket)), address, port, handlers);
  },
};

/** TLS under the distribution; `reload` swaps the certificates for connections made after it. */
export class TlsTransport implements Transport {
  readonly kind = 'tls';
  readonly handshakeLengthBytes = 4;
  private servers = new Set<TlsServer>();

  constructor(private settings: TlsSettings) {}

  /** New connections (both roles) use `settings`; established ones keep theirs. */
  reload(settings: TlsSettings): void {
    this.settings = settings;
    for (const server of this.servers) server.setSecureContext(serverContext(settings));
  }

  connect(host: string, port: number, timeoutMs: number): Promise<Socket> {
    const s = this.settings;
    const expected = s.serverName === undefined ? host : s.serverName;
    const socket = tlsConnect({
      host,
      port,
      ...s.context,
      // SNI carries a DNS name only (RFC 6066); for an IP the name check still runs.
      ...(expected !== false && isIP(expected) === 0 ? { servername: expected } : {}),
      rejectUnauthorized: s.verifyPeer,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => (expected === false ? undefined : checkServerIdentity(expected, cert)),
    });
    return opened(socket, 'secureConnect', 'TLS', host, port, timeoutMs);
  }

  listen(address: string, port: number, timeoutMs: number, handlers: ListenHandlers): Promise<Listener> {
    const server = createTlsServer({ ...serverContext(this.settings), handshakeTimeout: timeoutMs });
    server.on('secureConnection', (socket: TLSSocket) => {
      // requestCert with rejectUnauthorized false (failIfNoPeerCert off) lets a client
      // without a certificate through; one that presents a bad certificate is refused here.
      if (this.settings.verifyPeer && !socket.authorized && socket.getPeerCertificate().raw !== undefined) {
        handlers.onRefused(sourceOf(socket), `TLS: peer certificate refused: ${String(socket.authorizationError)}`);
        socket.destroy();
        return;
      }
      handlers.onSocket(socket);
    });
    server.on('tlsClientError', (err, socket) => {
      socket.destroy();
      handlers.onRefused(sourceOf(socket), `TLS handshake failed: ${err.message}`);
    });
    this.servers.add(server);
    return bind(server, address, port, handlers).then((listener) => ({
      port: listener.port,
      close: () => {
        this.servers.delete(server);
        return listener.close();
      },
    }));
  }
}

function serverContext(s: TlsSettings): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  return { ...s.context, requestCert: s.verifyPeer, rejectUnauthorized: s.verifyPeer && s.failIfNoPeerCert };
}

function sourceOf(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return socket.remoteFamily === 'IPv6' ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}

/** Resolves with the socket once `ready` fires; rejects on error, close or timeout. */
function opened(socket: Socket, ready: 'connect' | 'secureConnect', what: string, host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.removeAllListeners(ready);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new TimeoutError(`${what} connect to ${host}:${port} timed out`, timeoutMs)), timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      resolve(socket);
    });
    socket.once('error', (err) => {
      const code = what === 'TLS' ? ErrorCode.TLS_HANDSHAKE : undefined;
      fail(new ConnectionClosedError(`${what} connect to ${host}:${port} failed: ${err.message}`, undefined, { cause: err, code }));
    });
    // A TLS server that refuses us may just close; a plain one answers nothing TLS understands.
    socket.once('close', () => fail(new ConnectionClosedError(`${what} connect to ${host}:${port} failed: closed by peer`, undefined, { code: what === 'TLS' ? ErrorCode.TLS_HANDSHAKE : undefined })));
  });
}

function bind(server: Server, address: string, port: number, handlers: ListenHandlers): Promise<Listener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      server.on('error', (err) => handlers.onError(err));
      const bound = server.address();
      resolve({
        port: typeof bound === 'object' && bound !== null ? bound.port : port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
