%% The BEAM side of dist.bench.ts, compiled (erlc into a temp dir, loaded with -pa),
%% so that the BEAM <-> BEAM anchors are compiled Erlang, not erl_eval loops.
-module(dist_bench).
-export([start_sink/0, start_echo/0, send_n/3, spawn_send_n/3, beam_to_beam/3,
         rtt_median/2, connect_median/2, bytes_per_message/3, connect_all/1]).

%% A registered sink: {count, N, From} makes it count N more messages, then tell From.
start_sink() ->
    catch unregister(sink),
    register(sink, spawn(fun sink/0)),
    ok.

sink() ->
    receive
        {count, N, From} -> drop(N), From ! counted, sink()
    end.

drop(0) -> ok;
drop(K) -> receive _ -> drop(K - 1) end.

%% A registered echo: {ping, From, X} is answered with {pong, X}.
start_echo() ->
    catch unregister(echo),
    register(echo, spawn(fun echo/0)),
    ok.

echo() ->
    receive {ping, From, X} -> From ! {pong, X}, echo() end.

payload(seq, I) -> {seq, I};
payload(kib, _) -> get(kib).

%% N messages of Kind (seq: {seq, I}; kib: a 1 KiB binary) to Dest.
send_n(Dest, Kind, N) ->
    put(kib, binary:copy(<<7>>, 1024)),
    send_loop(Dest, Kind, 1, N).

send_loop(_, _, I, N) when I > N -> ok;
send_loop(Dest, Kind, I, N) -> Dest ! payload(Kind, I), send_loop(Dest, Kind, I + 1, N).

spawn_send_n(Dest, Kind, N) ->
    spawn(fun() -> send_n(Dest, Kind, N) end),
    ok.

%% Microseconds for N messages to the sink on Node, counted there.
beam_to_beam(Node, Kind, N) ->
    {sink, Node} ! {count, N, self()},
    timer:sleep(50),
    {T, _} = timer:tc(fun() -> send_n({sink, Node}, Kind, N), receive counted -> ok end end),
    T.

%% Median round trip (microseconds) of K pings to the echo on Node.
rtt_median(Node, K) ->
    Ts = [element(1, timer:tc(fun() -> {echo, Node} ! {ping, self(), I}, receive {pong, I} -> ok end end))
          || I <- lists:seq(1, K)],
    lists:nth(K div 2, lists:sort(Ts)).

%% Median connection setup (connect + handshake, microseconds) of K connects to Node.
connect_median(Node, K) ->
    Ts = [begin
              {T, true} = timer:tc(net_kernel, connect_node, [Node]),
              erlang:disconnect_node(Node),
              timer:sleep(20),
              T
          end || _ <- lists:seq(1, K)],
    lists:nth(K div 2, lists:sort(Ts)).

%% Bytes this node's connection to Node sends per message for N {seq, I} messages to
%% the sink there: the dist port's send_oct before and after, over N (the count
%% request and any tick included, a few bytes in N).
bytes_per_message(Node, Kind, N) ->
    Port = proplists:get_value(Node, erlang:system_info(dist_ctrl)),
    {ok, [{send_oct, B0}]} = inet:getstat(Port, [send_oct]),
    {sink, Node} ! {count, N, self()},
    send_n({sink, Node}, Kind, N),
    receive counted -> ok end,
    {ok, [{send_oct, B1}]} = inet:getstat(Port, [send_oct]),
    (B1 - B0) / N.

%% Connects to every node in Nodes; the number connected.
connect_all(Nodes) ->
    length([N || N <- Nodes, net_kernel:connect_node(N) =:= true]).
