/**
 * The `nessie` command's help texts, and the error that refuses a command line: it
 * says what is wrong and what to do instead, and the command exits with status 2
 * before anything has started.
 */

export const HELP = `nessie: join Erlang, Elixir and Gleam clusters from Node.js

Usage:
  nessie start [options]                      run a node that joins the cluster DNS describes
  nessie epmd [--address A] [--port P]        run an EPMD bound to one address
  nessie --version                            the version of nessie-cluster
  nessie --help, nessie start --help          these texts
`;

export const START_HELP = `nessie start: run a node that joins the cluster DNS describes

Options (a flag overrides the variable in brackets):
  --name NAME              node name, basename@host; the host an IP for DNS clustering   [RELEASE_NODE]
                           a name without @host takes POD_IP, else FLY_PRIVATE_IP
                           (with RELEASE_DISTRIBUTION=sname: this host's short name)
  --cookie C               cookie                  [NESSIE_COOKIE, RELEASE_COOKIE, ~/.erlang.cookie]
  --query NAME             DNS name whose A/AAAA (or SRV, if it starts with _) records list
                           peers; repeatable; BASENAME:NAME gives those peers another
                           basename                        [DNS_CLUSTER_QUERY, comma-separated]
  --interval MS            poll interval (default 5000)
  --connect-timeout MS     per-connect timeout (default 7000)
  --ticktime S             net_ticktime in seconds (default 60)
  --busy-wait US           after each write, poll this long before sleeping, as BEAM's
                           schedulers do (0 to 10000; default 0): cuts round trips on VMs
  --dns-server HOST:PORT   ask this DNS server (repeatable; default: the system's)
  --no-epmd --port P       EPMD-less: listen on P and assume every peer does too
  --port P                 distribution port (default: any)
  --tls-cert FILE --tls-key FILE --tls-ca FILE
                           distribution over TLS, as erl -proto_dist inet_tls (mutual TLS;
                           SIGHUP reloads the files)
  --tls-verify none        accept any peer certificate (tests only)
  --hidden                 a hidden node
  --status-port P          serve /livez, /readyz (alias /healthz), /status and /metrics on P
  --status-host H          address for the status server (default: the node's address)
  --ready-min-peers N      /readyz also needs N connected nodes
  --ready-lookup           /readyz also needs the last DNS lookup to have succeeded
                           (with --ready-min-peers: either one is enough)
  --log-level L            debug, info (default), warn or error
  --log-format F           text (default) or json: one object a line
  --verbose                the same as --log-level debug

RELEASE_DISTRIBUTION (name, sname or none) is read as Elixir releases set it: none
refuses to start, sname builds the name from this host's short name.

Without --query (or DNS_CLUSTER_QUERY) the node looks nothing up and is ready once
started. /readyz answers 503 with the reason until the first discovery round has
finished and the --ready-* conditions hold.
`;

export const EPMD_HELP = `nessie epmd: run an EPMD bound to one address

Options:
  --address A              address to bind (default 0.0.0.0)
  --port P                 port (default 4369, or ERL_EPMD_PORT)
  --log-level L            debug, info (default), warn or error
  --log-format F           text (default) or json
  --verbose                the same as --log-level debug
`;

/** A command line refused before anything started; `command` names the --help to point at. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: 'start' | 'epmd' | undefined = undefined,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  /** Where the options are documented. */
  get hint(): string {
    return `run \`nessie ${this.command === undefined ? '' : `${this.command} `}--help\` for the options`;
  }
}
