%% The BEAM side of tls.bench.ts, compiled (issue 10: benchmarks measure compiled
%% Erlang, not erl_eval funs). Loaded with -pa into the peers the bench starts.
-module(tls_bench).
-export([start_sink/0, connect_times/3, send_rate/2]).

%% A sink registered as `sink`: counts nothing, answers {count, N, From} with
%% {counted, N} once every earlier message has been taken off its queue.
start_sink() ->
    catch unregister(sink),
    true = register(sink, spawn(fun sink/0)),
    ok.

sink() ->
    receive
        {count, N, From} -> From ! {counted, N}, sink();
        _ -> sink()
    end.

%% N connects to Node, each timed from connect_node to connected (µs), with a
%% disconnect and Settle ms between them. Returned as "T1,T2,..." so the caller
%% reads it without parsing Erlang lists.
connect_times(Node, N, Settle) ->
    Ts = [begin
              {T, true} = timer:tc(net_kernel, connect_node, [Node]),
              erlang:disconnect_node(Node),
              timer:sleep(Settle),
              T
          end || _ <- lists:seq(1, N)],
    lists:flatten(lists:join(",", [integer_to_list(T) || T <- Ts])).

%% µs to send N small messages to {sink, Node} and have the sink count them.
send_rate(Node, N) ->
    {T, ok} = timer:tc(fun() ->
        send_loop({sink, Node}, 1, N),
        {sink, Node} ! {count, N, self()},
        receive {counted, _} -> ok end
    end),
    T.

send_loop(_, I, N) when I > N -> ok;
send_loop(Dest, I, N) -> Dest ! {seq, I}, send_loop(Dest, I + 1, N).
