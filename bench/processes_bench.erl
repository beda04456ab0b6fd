%% The BEAM side of processes.bench.ts, compiled: N idle processes (each waiting in a
%% receive), their memory, and how fast they exit. Prints one line:
%% "BytesPerProcess ExitsPerSecond".
-module(processes_bench).
-export([main/1]).

main([NStr]) ->
    N = list_to_integer(NStr),
    Base = erlang:system_info(process_count),
    erlang:garbage_collect(),
    M0 = erlang:memory(processes),
    Ps = [spawn(fun idle/0) || _ <- lists:seq(1, N)],
    M1 = erlang:memory(processes),
    T0 = erlang:monotonic_time(microsecond),
    [P ! stop || P <- Ps],
    wait_until(Base),
    T = erlang:monotonic_time(microsecond) - T0,
    io:format("~.1f ~.1f~n", [(M1 - M0) / N, N * 1.0e6 / T]),
    halt(0).

idle() -> receive stop -> ok end.

wait_until(Count) ->
    case erlang:system_info(process_count) =< Count of
        true -> ok;
        false -> erlang:yield(), wait_until(Count)
    end.
