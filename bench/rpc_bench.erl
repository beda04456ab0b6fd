%% The BEAM side of rpc.bench.ts, compiled (erlc into a temp dir, loaded with -pa).
%%
%% On the serving BEAM node (the anchor): start/0 keeps the results in persistent_term,
%% and small/0, phoenix/0 and big/0 return them, as the TS nodes' exposed rpc_bench
%% functions return theirs. On the calling node: the timed loops, each returning
%% microseconds.
-module(rpc_bench).
-export([start/0, small/0, phoenix/0, big/0, payload/0, seq/4, conc/4, send_msgs/3]).

start() ->
    persistent_term:put({?MODULE, phoenix}, payload()),
    persistent_term:put({?MODULE, big}, binary:copy(<<7>>, 65536)),
    register(sink, spawn(fun sink/0)),
    ok.

%% Counts messages; {count, N, From} is answered {counted, N} (all before it have arrived).
sink() ->
    receive
        {count, N, From} -> From ! {counted, N}, sink();
        _ -> sink()
    end.

small() -> {ok, 42}.
phoenix() -> persistent_term:get({?MODULE, phoenix}).
big() -> persistent_term:get({?MODULE, big}).

%% A Phoenix channel push as JSON decodes to (about 2 KB): term_bench.erl's phoenix_2k,
%% compiled beside this module.
payload() -> term_bench:phoenix().

%% N sequential calls of rpc_bench:F() on Node, by erpc:call or rpc:call: microseconds.
seq(How, Node, F, N) ->
    {T, _} = timer:tc(fun() -> loop(How, Node, F, N) end),
    T.

loop(_, _, _, 0) -> ok;
loop(erpc, Node, F, N) -> _ = erpc:call(Node, ?MODULE, F, []), loop(erpc, Node, F, N - 1);
loop(rpc, Node, F, N) ->
    case rpc:call(Node, ?MODULE, F, []) of
        {badrpc, R} -> error({badrpc, R});
        _ -> loop(rpc, Node, F, N - 1)
    end.

%% C concurrent callers making Total erpc:calls of rpc_bench:F() between them: microseconds.
conc(Node, F, Total, C) ->
    Self = self(),
    Each = Total div C,
    {T, _} = timer:tc(fun() ->
        Ps = [spawn_link(fun() -> loop(erpc, Node, F, Each), Self ! {done, self()} end) || _ <- lists:seq(1, C)],
        [receive {done, P} -> ok end || P <- Ps]
    end),
    T.

%% N messages (small: {seq, 1}; phoenix: the payload; big: a 64 KiB binary) to Dest, a
%% sink, then its count: microseconds.
send_msgs(Dest, What, N) ->
    Msg = case What of small -> {seq, 1}; phoenix -> payload(); big -> binary:copy(<<7>>, 65536) end,
    {T, _} = timer:tc(fun() ->
        [Dest ! Msg || _ <- lists:seq(1, N)],
        Dest ! {count, N, self()},
        receive {counted, N} -> ok after 120000 -> error(no_count) end
    end),
    T.
