/**
 * Node names: `basename@host`, where the host may be a hostname, an IPv4 address or
 * an IPv6 address written bare (`app@fdaa:0:1::2`, as Fly.io's private network
 * names them). Node names are atoms, so at most 255 characters.
 */
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors.js';
import { MAX_ATOM_CHARACTERS } from '../term/types.js';

export interface NodeName {
  /** The whole name, `basename@host`. */
  name: string;
  /** Everything before the `@`. */
  basename: string;
  /** Everything after the first `@`. */
  host: string;
  /** 4 or 6 when the host is an IP address, else 0. */
  ipVersion: 0 | 4 | 6;
}

const BASENAME = /^[A-Za-z0-9_-]+$/;

/**
 * Parses and checks a node name.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) naming `option` when it is not `basename@host`.
 */
export function parseNodeName(name: unknown, option = 'name'): NodeName {
  const expected = "'basename@host' (host: a hostname or an IP address), at most 255 characters";
  if (typeof name !== 'string' || name.length > MAX_ATOM_CHARACTERS) throw new InvalidOptionError(option, expected, name);
  const at = name.indexOf('@');
  if (at <= 0 || at === name.length - 1) throw new InvalidOptionError(option, expected, name);
  const basename = name.slice(0, at);
  const host = name.slice(at + 1);
  if (!BASENAME.test(basename) || /[\s@/]/.test(host)) throw new InvalidOptionError(option, expected, name);
  const ip = isIP(host);
  return { name, basename, host, ipVersion: ip === 4 ? 4 : ip === 6 ? 6 : 0 };
}

/**
 * Checks the name of a node to connect to, by OTP's rule for node names (dist_util
 * is_node_name: exactly one `@` with text on both sides) and the atom limit of 255
 * characters; no whitespace or control characters (net_kernel validate_hostname). Looser
 * than parseNodeName, which is for our own name: BEAM nodes may use other basenames.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) naming `option`.
 */
export function checkPeerName(name: unknown, option = 'node'): string {
  const expected = "a node name 'basename@host', at most 255 characters";
  if (typeof name !== 'string' || [...name].length > MAX_ATOM_CHARACTERS) throw new InvalidOptionError(option, expected, name);
  const parts = name.split('@');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '' || /[\s\u0000-\u001f\u007f]/u.test(name)) {
    throw new InvalidOptionError(option, expected, name);
  }
  return name;
}

/** The part before `@`, or undefined when there is none (the seed's `basename`). */
export function basenameOf(name: string): string | undefined {
  const at = name.indexOf('@');
  return at > 0 ? name.slice(0, at) : undefined;
}

/** The part after `@`. */
export function hostOf(name: string): string {
  return name.slice(name.indexOf('@') + 1);
}
