%% BEAM's own codec on the same bytes as term.bench.ts: for each case file (raw
%% term_to_binary bytes) times binary_to_term and term_to_binary in a loop of about
%% half a second, and prints one line per case: "Name DecodeOpsPerSec EncodeOpsPerSec".
-module(term_bench).
-export([main/1]).

main([Dir | Names]) ->
    [run(Dir, N) || N <- Names],
    halt(0).

run(Dir, Name) ->
    {ok, Bin} = file:read_file(filename:join(Dir, Name ++ ".bin")),
    Term = binary_to_term(Bin),
    Dec = rate(fun(N) -> decode_loop(Bin, N) end),
    Enc = rate(fun(N) -> encode_loop(Term, N) end),
    io:format("~s ~.1f ~.1f~n", [Name, Dec, Enc]).

%% Ops per second: grow the iteration count until a run takes 0.5 s, best of 3 runs.
rate(Loop) ->
    N = calibrate(Loop, 1),
    Times = [element(1, timer:tc(fun() -> Loop(N) end)) || _ <- [1, 2, 3]],
    N * 1.0e6 / lists:min(Times).

calibrate(Loop, N) ->
    {T, _} = timer:tc(fun() -> Loop(N) end),
    if T >= 500000 -> N; true -> calibrate(Loop, N * 2) end.

%% The results are used (summed sizes), or the compiler drops the pure BIF calls.
decode_loop(Bin, N) -> decode_loop(Bin, N, 0).
decode_loop(_, 0, Acc) -> Acc;
decode_loop(Bin, N, Acc) -> decode_loop(Bin, N - 1, Acc + erts_debug:flat_size(binary_to_term(Bin)) band 1).

encode_loop(Term, N) -> encode_loop(Term, N, 0).
encode_loop(_, 0, Acc) -> Acc;
encode_loop(Term, N, Acc) -> encode_loop(Term, N - 1, Acc + byte_size(term_to_binary(Term))).
