// Gleam subjects between TypeScript and real BEAM nodes (OTP 25 and 27). The BEAM side
// is `gleam_process` below: an Erlang module that makes, sends on, receives on and
// calls subjects exactly as gleam_erlang v1.3.0 does (process.gleam's new_subject,
// named_subject, subject_owner, send, receive and perform_call, and the FFI's
// receive/2 and select/2), plus an actor loop as a Gleam program would write one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, CallError, Node, Pid, silentLogger, TimeoutError, tuple, type Process, type Term, type Tuple } from '../../src/index.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { freeSharedPort } from '../support/ports.js';

const COOKIE = 'gleam-cookie';
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';

const GLEAM_PROCESS = String.raw`
%% The run-time shapes of gleam_erlang v1.3.0 (gleam-lang/erlang, src/gleam/erlang/process.gleam
%% and src/gleam_erlang_ffi.erl): Subject(owner, tag) is {subject, Pid, Tag} and
%% NamedSubject(name) is {named_subject, Name}.
-module(gleam_process).
-export([new_subject/0, named_subject/1, subject_owner/1, send/2, 'receive'/2, call/3, actor/2]).

new_subject() -> {subject, self(), make_ref()}.

named_subject(Name) -> {named_subject, Name}.

subject_owner({named_subject, Name}) ->
    case erlang:whereis(Name) of Pid when is_pid(Pid) -> {ok, Pid}; _ -> {error, nil} end;
subject_owner({subject, Pid, _Tag}) -> {ok, Pid}.

send({subject, Pid, Tag}, Message) -> erlang:send(Pid, {Tag, Message}), nil;
send({named_subject, Name}, Message) ->
    {ok, Pid} = subject_owner({named_subject, Name}),
    erlang:send(Pid, {Name, Message}), nil.

%% process.receive: only the owner may receive on an unnamed subject (Gleam panics otherwise).
'receive'({subject, Owner, Tag}, Timeout) ->
    Owner = self(),
    receive {Tag, Message} -> {ok, Message} after Timeout -> {error, nil} end;
'receive'({named_subject, Name}, Timeout) ->
    receive {Name, Message} -> {ok, Message} after Timeout -> {error, nil} end.

%% process.call(subject, waiting: Timeout, sending: MakeRequest), i.e. perform_call with a
%% selector of the reply subject ({Tag, 2}) and the callee's monitor.
call(Subject, Timeout, MakeRequest) ->
    {subject, _, ReplyTag} = ReplySubject = new_subject(),
    {ok, Callee} = subject_owner(Subject),
    Monitor = erlang:monitor(process, Callee),
    send(Subject, MakeRequest(ReplySubject)),
    Reply = receive
        {'DOWN', Monitor, _, _, Reason} -> erlang:error({callee_exited, Reason});
        Msg when element(1, Msg) =:= ReplyTag, tuple_size(Msg) =:= 2 -> {ok, element(2, Msg)}
    after Timeout -> {error, nil}
    end,
    case Reply of
        {ok, Value} -> erlang:demonitor(Monitor, [flush]), Value;
        {error, nil} -> erlang:error(callee_did_not_send_reply_before_timeout)
    end.

%% An actor owning Subject (a new one when given none; it is sent to Parent):
%% Add(n) is {add, N}, Get(reply_to) is {get, ReplyTo}, Ignore is ignore, Crash is crash.
actor(Parent, none) ->
    Subject = new_subject(),
    Parent ! {actor_subject, Subject},
    actor_loop(Subject, 0);
actor(_Parent, Subject) -> actor_loop(Subject, 0).

actor_loop(Subject, N) ->
    case 'receive'(Subject, 60000) of
        {ok, {add, K}} -> actor_loop(Subject, N + K);
        {ok, {get, ReplyTo}} -> send(ReplyTo, N), actor_loop(Subject, N);
        {ok, ignore} -> actor_loop(Subject, N);
        {ok, crash} -> erlang:exit(actor_crashed);
        {error, nil} -> ok
    end.
`;

/** Compiles and loads a module from its source text inside the peer. */
async function load(erl: ErlPeer, source: string): Promise<void> {
  const hex = Buffer.from(source, 'utf8').toString('hex');
  const loaded = await erl.eval(
    `Src = binary_to_list(binary:decode_hex(<<"${hex}">>)), {ok, Toks, _} = erl_scan:string(Src),` +
      `Split = fun S([], _, Fs) -> lists:reverse(Fs); S([{dot, _} = D | R], Acc, Fs) -> {ok, F} = erl_parse:parse_form(lists:reverse([D | Acc])), S(R, [], [F | Fs]); S([T | R], Acc, Fs) -> S(R, [T | Acc], Fs) end,` +
      `{ok, Mod, Bin} = compile:forms(Split(Toks, [], [])), code:load_binary(Mod, "gleam_process.erl", Bin).`,
  );
  assert.equal(loaded, '{module,gleam_process}');
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: Gleam subjects both ways: send, selective receive, call (reply, DOWN, timeout), named subjects`, { timeout: 60_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port } });
    const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
    try {
      await load(erl, GLEAM_PROCESS);
      const inbox = node.spawn({ name: 'ts_inbox' });

      // TS -> a Gleam actor's subject: send, and call (process.call's protocol).
      await erl.eval(`register(gleam_actor, spawn(fun() -> gleam_process:actor({ts_inbox, '${TS}'}, none) end)), ok.`);
      const [, actor] = (await inbox.receive(5000)) as Tuple;
      assert.equal((actor as Tuple)[0], atom('subject'));
      node.gleam.send(actor, tuple(atom('add'), 5));
      node.gleam.send(actor, tuple(atom('add'), 37));
      assert.equal(await node.gleam.call(actor, (replyTo) => tuple(atom('get'), replyTo)), 42);
      await assert.rejects(node.gleam.call(actor, () => atom('ignore'), { timeoutMs: 300 }), (e: unknown) => e instanceof TimeoutError);
      assert.equal(await node.gleam.call(actor, (replyTo) => tuple(atom('get'), replyTo)), 42, 'still serving after a call that timed out');
      await assert.rejects(node.gleam.call(actor, () => atom('crash')), (e: unknown) => e instanceof CallError && e.reason === atom('actor_crashed'));
      await assert.rejects(node.gleam.call(actor, (r) => tuple(atom('get'), r)), (e: unknown) => e instanceof CallError && e.reason === atom('noproc'));

      // Gleam -> subjects owned by a TS process: each receive takes only its subject's messages.
      const s1 = node.gleam.newSubject(inbox);
      const s2 = node.gleam.newSubject(inbox);
      await erl.eval(`register(gleam_client, spawn(fun() -> receive {use, S1, S2} -> gleam_process:send(S1, first), gleam_process:send(S2, second), gleam_process:send(S1, third) end end)), ok.`);
      node.send({ name: 'gleam_client', node: ERL }, tuple(atom('use'), s1, s2));
      assert.equal(await node.gleam.receive(inbox, s2, 5000), atom('second'));
      assert.equal(await node.gleam.receive(inbox, s1, 5000), atom('first'));
      assert.equal(await node.gleam.receive(inbox, s1, 5000), atom('third'));
      assert.equal(inbox.queued, 0);
      const other = node.spawn();
      await assert.rejects(node.gleam.receive(other, s1, 100), TypeError, 'only the owner receives on a subject');
      other.exit();

      // A Gleam process.call into a TS process serving on its subject.
      const service = node.spawn();
      const serviceSubject = node.gleam.newSubject(service);
      void serveSubject(node, service, serviceSubject);
      await erl.eval(`register(gleam_caller, spawn(fun() -> receive {call, S, Back} -> Back ! {result, gleam_process:call(S, 5000, fun(R) -> {get, R} end)} end end)), ok.`);
      node.send({ name: 'gleam_caller', node: ERL }, tuple(atom('call'), serviceSubject, inbox.pid));
      assert.deepEqual([...((await inbox.receive(5000)) as Tuple)], [atom('result'), 42]);
      service.exit();

      // Named subjects live on one node: TS sends and calls {named_subject, Name} on the BEAM node.
      const named = node.gleam.namedSubject('named_actor');
      await erl.eval(`register(named_actor, spawn(fun() -> gleam_process:actor(none_needed, gleam_process:named_subject(named_actor)) end)), ok.`);
      node.gleam.send(named, tuple(atom('add'), 7), { node: ERL });
      assert.equal(await node.gleam.call(named, (r) => tuple(atom('get'), r), { node: ERL }), 7);
      await assert.rejects(node.gleam.call(node.gleam.namedSubject('nobody'), (r) => r, { node: ERL }), (e: unknown) => e instanceof CallError && e.reason === atom('noproc'));
      assert.ok(node.gleam.newSubject(inbox)[1] instanceof Pid);
    } finally {
      await node.stop();
      await erl.stop();
    }
  });
}

/** A TS process answering Get(reply_to) on its subject with 42, as a Gleam actor would. */
async function serveSubject(node: Node, owner: Process, subject: Term): Promise<void> {
  for (;;) {
    const m = await node.gleam.receive(owner, subject).catch(() => undefined);
    if (m === undefined) return;
    const [tag, replyTo] = m as Tuple;
    if (tag === atom('get')) node.gleam.send(replyTo, 42, { from: owner });
  }
}
