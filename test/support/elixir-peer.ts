// An Elixir 1.18 node for interop tests and benchmarks: the OTP 27 erl of the trixie root
// (scripts/otp-peers erl27, so it is an ErlPeer: stopped by its PID, with the eval loop)
// with Elixir's own ebin directories on the code path and the elixir application
// started, into which Elixir source files are compiled by Elixir's compiler
// (Code.compile_string/2: real BEAM modules, loaded in memory, no interpreted code).
import { readFileSync } from 'node:fs';
import { ErlPeer, otpAvailability, type Availability } from './erl-peer.js';

/** Where Debian's elixir package keeps its applications inside the trixie root. */
const ELIXIR_LIB = '/usr/lib/elixir/lib';

/** Whether an Elixir peer can run here (it needs OTP 27, which carries Elixir). */
export function elixirAvailability(): Availability {
  return otpAvailability(27);
}

export interface ElixirPeerOptions {
  name: string;
  cookie: string;
  epmdless: { port: number };
  /** Elixir source files (host paths) to compile into the node, in order. */
  sources: string[];
}

/** Starts the node, starts Elixir in it and compiles `sources`; stop it with `peer.stop()`. */
export async function startElixirPeer(o: ElixirPeerOptions): Promise<ErlPeer> {
  const peer = await ErlPeer.start({
    name: o.name,
    cookie: o.cookie,
    otp: 27,
    epmdless: o.epmdless,
    args: ['-pa', `${ELIXIR_LIB}/elixir/ebin`, '-pa', `${ELIXIR_LIB}/logger/ebin`],
  });
  try {
    // Elixir's start puts standard_io in binary mode; the eval loop reads lines as lists.
    await peer.eval(`{ok, _} = application:ensure_all_started(elixir), ok = io:setopts(standard_io, [list]), ok.`);
    for (const file of o.sources) {
      const b64 = readFileSync(file).toString('base64');
      await peer.eval(`Mods = 'Elixir.Code':compile_string(base64:decode(<<"${b64}">>), <<"${file.replace(/[^\w./-]/g, '_')}">>), true = length(Mods) > 0, ok.`, 60_000);
    }
    return peer;
  } catch (err) {
    await peer.stop();
    throw err;
  }
}
