%% The BEAM side of calls.bench.ts, compiled (erlc into a temp dir, loaded with -pa),
%% so BEAM's figures are those of compiled code, as a real caller or server would be.
%%
%% On the serving node: start/0 registers `echo` (a gen_server answering every call
%% with its request), `sink` (counts plain messages and says when it has N) and `pong`
%% (answers {ping, From, X} with {pong, X}). On the calling node: the timed loops,
%% each returning microseconds (or a list of per-round-trip microseconds).
-module(calls_bench).
-behaviour(gen_server).
-export([start/0, seq_calls/2, conc_calls/3, rtts/2, small_msgs/2, big_msgs/2, send_big/3]).
-export([init/1, handle_call/3, handle_cast/2]).

start() ->
    {ok, _} = gen_server:start({local, echo}, ?MODULE, [], []),
    register(sink, spawn(fun sink/0)),
    register(pong, spawn(fun pong/0)),
    ok.

init([]) -> {ok, nostate}.
handle_call(Request, _From, State) -> {reply, Request, State}.
handle_cast(_, State) -> {noreply, State}.

sink() ->
    receive
        {count, N, From} -> From ! {counted, N}, sink();
        _ -> sink()
    end.

pong() ->
    receive
        {ping, From, X} -> From ! {pong, X}, pong();
        _ -> pong()
    end.

%% N sequential gen_server:call(Dest, I): microseconds.
seq_calls(Dest, N) ->
    {T, _} = timer:tc(fun() -> seq_loop(Dest, 1, N) end),
    T.

seq_loop(_, I, N) when I > N -> ok;
seq_loop(Dest, I, N) -> I = gen_server:call(Dest, I), seq_loop(Dest, I + 1, N).

%% C callers making Total calls between them: microseconds until all are done.
conc_calls(Dest, Total, C) ->
    Self = self(),
    Each = Total div C,
    {T, _} = timer:tc(fun() ->
        Ps = [spawn_link(fun() -> seq_loop(Dest, 1, Each), Self ! {done, self()} end) || _ <- lists:seq(1, C)],
        [receive {done, P} -> ok end || P <- Ps]
    end),
    T.

%% K ping-pong round trips with Dest (a pong process): each one's microseconds, in order.
rtts(Dest, K) -> rtt_loop(Dest, 1, K, []).

rtt_loop(_, I, K, Acc) when I > K -> lists:reverse(Acc);
rtt_loop(Dest, I, K, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    Dest ! {ping, self(), I},
    receive {pong, I} -> ok end,
    T = erlang:monotonic_time(nanosecond) - T0,
    rtt_loop(Dest, I + 1, K, [T / 1000 | Acc]).

%% N small messages to Dest (a sink), then a count it answers: microseconds.
small_msgs(Dest, N) ->
    {T, _} = timer:tc(fun() ->
        [Dest ! {seq, I} || I <- lists:seq(1, N)],
        Dest ! {count, N, self()},
        receive {counted, N} -> ok end
    end),
    T.

%% N 64 KiB binaries to Dest (a sink), then a count it answers: microseconds.
big_msgs(Dest, N) ->
    Bin = binary:copy(<<7>>, 65536),
    {T, _} = timer:tc(fun() ->
        [Dest ! Bin || _ <- lists:seq(1, N)],
        Dest ! {count, N, self()},
        receive {counted, N} -> ok end
    end),
    T.

%% N 64 KiB binaries to Dest, then Done, from a process of their own (the TS side times them).
send_big(Dest, N, Done) ->
    Bin = binary:copy(<<7>>, 65536),
    spawn(fun() -> [Dest ! Bin || _ <- lists:seq(1, N)], Dest ! Done end),
    ok.
