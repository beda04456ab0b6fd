/**
 * The I/O server side of OTP's io protocol, for the group leader of the calls we make
 * into BEAM: code we run there with `node.rpc` prints through us. Output goes to the
 * logger; input cannot be had (`{error, enotsup}`), as a BEAM I/O server without a
 * terminal answers. Reference: stdlib's "The Erlang I/O Protocol" guide and io.erl.
 *
 * A request is `{io_request, From, ReplyAs, Request}` and is answered with
 * `{io_reply, ReplyAs, Reply}`.
 */
import { atom, Atom, Pid, Tuple, tuple, type Term } from '../../term/types.js';

const IO_REQUEST = atom('io_request');
const IO_REPLY = atom('io_reply');
const OK = atom('ok');
const ERROR = atom('error');
const ENOTSUP = atom('enotsup');
const PUT_CHARS = atom('put_chars');
const REQUESTS = atom('requests');
const SETOPTS = atom('setopts');
const GETOPTS = atom('getopts');
const IO_LIB = atom('io_lib');
const FORMAT = atom('format');
const BINARY = atom('binary');
const ENCODING = atom('encoding');
const UNICODE = atom('unicode');

/** An io request taken apart: who to answer, and the reply to send. */
export interface IoAnswer {
  to: Pid;
  reply: Tuple;
}

/**
 * The answer to `message` when it is an io request, else undefined. `write` gets
 * the text of output requests.
 */
export function answerIoRequest(message: Term, write: (text: string) => void): IoAnswer | undefined {
  if (!(message instanceof Tuple) || message.length !== 4 || message[0] !== IO_REQUEST || !(message[1] instanceof Pid)) return undefined;
  return { to: message[1], reply: tuple(IO_REPLY, message[2], handle(message[3], write)) };
}

function handle(request: Term, write: (text: string) => void): Term {
  if (!(request instanceof Tuple)) return request === GETOPTS ? [tuple(BINARY, true), tuple(ENCODING, UNICODE)] : tuple(ERROR, ENOTSUP);
  const kind = request[0];
  if (kind === PUT_CHARS) {
    const text = putCharsText(request);
    if (text === undefined) return tuple(ERROR, ENOTSUP);
    write(text);
    return OK;
  }
  if (kind === REQUESTS && Array.isArray(request[1])) {
    // Each in turn; the reply is the last one's, or the first error.
    let last: Term = OK;
    for (const r of request[1]) {
      last = handle(r, write);
      if (last instanceof Tuple && last[0] === ERROR) return last;
    }
    return last;
  }
  if (kind === SETOPTS) return OK;
  // get_chars, get_line, get_until, get_geometry, ...: there is no input here.
  return tuple(ERROR, ENOTSUP);
}

/**
 * The text of `{put_chars, Chars}`, `{put_chars, Encoding, Chars}`, or
 * `{put_chars, Encoding, io_lib, format, [Format, Args]}` (what io:format sends; we
 * cannot run io_lib here, so `formatLike` approximates it).
 */
function putCharsText(r: Tuple): string | undefined {
  if (r.length === 2 || r.length === 3) return chars(r[r.length - 1]);
  if (r.length === 5 && r[2] === IO_LIB && r[3] === FORMAT && Array.isArray(r[4]) && r[4].length === 2) {
    const format = chars(r[4][0]);
    if (format === undefined) return undefined;
    const args = r[4][1];
    return formatLike(format, Array.isArray(args) ? args : []);
  }
  return undefined;
}

/** Chars: a binary, a string, or an iolist/charlist of them. */
function chars(t: Term): string | undefined {
  if (typeof t === 'string') return t;
  if (t instanceof Uint8Array) return Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('utf8');
  if (t instanceof Atom) return t.name;
  if (!Array.isArray(t) || t instanceof Tuple) return undefined;
  let out = '';
  for (const part of t) {
    if (typeof part === 'number') out += String.fromCodePoint(part);
    else {
      const s = chars(part);
      if (s === undefined) return undefined;
      out += s;
    }
  }
  return out;
}

/**
 * io_lib:format, roughly: `~n` and `~~` as there, every other control sequence
 * (`~p`, `~s`, `~ts`, `~w`, `~10.3f`, ...) replaced by its argument shown plainly;
 * `~P` and `~W` take two. Arguments left over are appended. Only for logs.
 */
function formatLike(format: string, args: Term[]): string {
  let out = '';
  let next = 0;
  const take = () => (next < args.length ? show(args[next++]) : '');
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '~') {
      out += format[i];
      continue;
    }
    // ~F.P.PadModC: skip field width, precision, padding and the t/l modifiers.
    let j = i + 1;
    while (j < format.length && /[0-9.*tl-]/.test(format[j])) j++;
    const control = format[j] ?? '';
    i = j;
    if (control === 'n') out += '\n';
    else if (control === '~') out += '~';
    else if (control === 'P' || control === 'W') {
      out += take();
      next++;
    } else out += take();
  }
  while (next < args.length) out += ` ${take()}`;
  return out;
}

function show(t: Term): string {
  const printable = (c: Term) => typeof c === 'number' && (c >= 32 || c === 9 || c === 10 || c === 13);
  const text = typeof t === 'string' || t instanceof Uint8Array || (Array.isArray(t) && t.length > 0 && t.every(printable)) ? chars(t) : undefined;
  return text ?? String(t);
}
