%% BEAM's side of term.bench.ts, compiled with erlc and driven over stdin/stdout so that
%% its rounds interleave with the JS codecs' rounds (a burst of load on this shared
%% machine then hits every competitor alike).
%%
%% main([Dir]) first writes the cases that must be made by erl itself into Dir (as
%% term_to_binary bytes: Name.bin), prints "ready", then answers one request per line:
%%   "decode Name N" / "encode Name N" -> runs binary_to_term / term_to_binary of
%%   Dir/Name.bin N times and prints the microseconds taken;
%%   "quit" -> halts.
-module(term_bench).
-export([main/1]).
%% rpc_bench.erl sends the same Phoenix-like payload.
-export([phoenix/0]).

main([Dir]) ->
    [ok = file:write_file(filename:join(Dir, atom_to_list(Name) ++ ".bin"), term_to_binary(Term))
     || {Name, Term} <- generated()],
    io:format("ready~n"),
    serve(Dir).

serve(Dir) ->
    case io:get_line("") of
        eof -> halt(0);
        Line ->
            case string:lexemes(string:trim(Line), " ") of
                ["quit"] -> halt(0);
                [Op, Name, N] ->
                    {Bin, Term} = load(Dir, Name),
                    Count = list_to_integer(N),
                    {Micros, _} = case Op of
                        "decode" -> timer:tc(fun() -> decode_loop(Bin, Count, 0) end);
                        "encode" -> timer:tc(fun() -> encode_loop(Term, Count, 0) end)
                    end,
                    io:format("~b~n", [Micros]),
                    serve(Dir)
            end
    end.

%% Each case's bytes and term, read once.
load(Dir, Name) ->
    case get(Name) of
        undefined ->
            {ok, Bin} = file:read_file(filename:join(Dir, Name ++ ".bin")),
            Loaded = {Bin, binary_to_term(Bin)},
            put(Name, Loaded),
            Loaded;
        Loaded -> Loaded
    end.

%% The results are used (summed sizes), or the compiler drops the pure BIF calls.
decode_loop(_, 0, Acc) -> Acc;
decode_loop(Bin, N, Acc) -> decode_loop(Bin, N - 1, Acc + erts_debug:flat_size(binary_to_term(Bin)) band 1).

encode_loop(_, 0, Acc) -> Acc;
encode_loop(Term, N, Acc) -> encode_loop(Term, N - 1, Acc + byte_size(term_to_binary(Term))).

%% The cases whose bytes come from erl, deterministic.
generated() ->
    [{phoenix_2k, phoenix()}, {elixir_structs, structs()}].

%% A Phoenix channel push as Phoenix.Socket.V2 decodes it from JSON: maps with binary
%% keys, nested lists and maps, binaries, integers, booleans and nil; about 2 KB.
phoenix() ->
    Msg = fun(I) ->
        #{<<"id">> => 1000 + I,
          <<"body">> => iolist_to_binary([<<"message number ">>, integer_to_binary(I), <<" in the lobby">>]),
          <<"user">> => #{<<"id">> => 42 + I rem 3, <<"name">> => <<"user-", (integer_to_binary(I rem 3))/binary>>,
                          <<"avatar_url">> => null},
          <<"reactions">> => [<<"thumbs_up">>, <<"heart">>],
          <<"edited">> => I rem 2 =:= 0}
    end,
    #{<<"topic">> => <<"room:lobby">>,
      <<"event">> => <<"new_msg">>,
      <<"ref">> => <<"12">>,
      <<"join_ref">> => <<"3">>,
      <<"payload">> => #{<<"status">> => <<"ok">>,
                         <<"messages">> => [Msg(I) || I <- lists:seq(1, 10)],
                         <<"cursor">> => #{<<"before">> => null, <<"after">> => <<"g3QAAAABZAACaWRiAAAD8A">>,
                                           <<"limit">> => 10}}}.

%% Twenty Ecto-like user structs, each with DateTime and metadata structs inside:
%% maps with atom keys, '__struct__' among them, as Elixir sends them.
structs() ->
    DateTime = fun(S) ->
        #{'__struct__' => 'Elixir.DateTime', calendar => 'Elixir.Calendar.ISO', year => 2024, month => 3, day => 14,
          hour => 9, minute => 26, second => S rem 60, microsecond => {535897, 6}, time_zone => <<"Etc/UTC">>,
          zone_abbr => <<"UTC">>, utc_offset => 0, std_offset => 0}
    end,
    User = fun(I) ->
        #{'__struct__' => 'Elixir.MyApp.Accounts.User',
          '__meta__' => #{'__struct__' => 'Elixir.Ecto.Schema.Metadata', state => loaded, prefix => nil,
                          source => <<"users">>, schema => 'Elixir.MyApp.Accounts.User', context => nil},
          id => I, email => iolist_to_binary([<<"user">>, integer_to_binary(I), <<"@example.com">>]),
          name => <<"Ada Lovelace">>, admin => I rem 5 =:= 0, roles => [member, editor],
          confirmed_at => DateTime(I), inserted_at => DateTime(I + 1), updated_at => DateTime(I + 2)}
    end,
    [User(I) || I <- lists:seq(1, 20)].
