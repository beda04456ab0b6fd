// Elixir helpers against Elixir 1.18 (on OTP 27): structs both ways (an Elixir
// pattern match on %MyApp.User{} accepts ours), charlists and strings, jsonTerm's
// binary-keyed maps as Jason would decode them, and a GenServer named by its module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { atom, elixirModule, elixirString, elixirStruct, jsonTerm, Node, parseElixirStruct, Pid, silentLogger, tuple, type Term, type Tuple } from '../../src/index.js';
import { erlCommand, requireOtp } from '../support/erl-peer.js';
import { freeSharedPort } from '../support/ports.js';

const COOKIE = 'elixir-cookie';
const TS = 'ts@127.0.0.3';
const EX = 'ex@127.0.0.4';

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
  });
}

const SCRIPT = String.raw`
defmodule MyApp.User do
  defstruct [:name, :age]
end
defmodule MyApp.Echo do
  use GenServer
  def init(s), do: {:ok, s}
  def handle_call(m, _from, s), do: {:reply, {:echo, m}, s}
end
defmodule Main do
  def run do
{:ok, _} = GenServer.start_link(MyApp.Echo, nil, name: MyApp.Echo)
send({:ts_inbox, :"${TS}"}, {:ready, self(), %MyApp.User{name: "jo", age: 3}, ~c"chärs", "strïng", URI.parse("https://x.example/p")})
receive do
  %MyApp.User{name: name, age: age} = u -> IO.inspect({:struct, name, age, is_struct(u, MyApp.User)}, width: :infinity)
after 10_000 -> IO.puts("timeout")
end
receive do
  {:json, %{"user" => %{"name" => name, "tags" => tags}, "none" => nil}} -> IO.inspect({:json, name, tags}, width: :infinity)
after 10_000 -> IO.puts("timeout")
end
receive do
  :done -> IO.puts("done")
after 10_000 -> IO.puts("timeout")
end
  end
end
Main.run()
`;

test('Elixir: structs, strings and charlists, binary-keyed maps, a GenServer named by its module', { timeout: 60_000 }, async (t) => {
  if (!requireOtp(t, 27)) return;
  const port = await freeSharedPort(['127.0.0.3', '127.0.0.4']);
  const node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
  try {
    const inbox = node.spawn({ name: 'ts_inbox' });
    const [otpPeers] = erlCommand(27);
    // Asynchronously: a synchronous spawn would block the event loop our node answers on.
    const elixir = run(otpPeers, [
      'elixir', '--name', EX, '--cookie', COOKIE,
      '--erl', `-start_epmd false -erl_epmd_port ${port} -kernel inet_dist_use_interface {127,0,0,4}`,
      '-e', SCRIPT.replaceAll('${TS}', TS),
    ], 45_000);
    // The first message, unless elixir ends first (it failed, or is missing).
    const ready = await Promise.race([inbox.receive(30_000).catch(() => undefined), elixir.then(() => undefined)]);
    if (ready === undefined) {
      const { stderr } = await elixir;
      if (/not found|No such file/.test(stderr) && !process.env.CI) {
        t.skip(`elixir unavailable: ${stderr.slice(0, 200)}`);
        return;
      }
      assert.fail(`no message from Elixir: ${stderr}`);
    }
    const [, exPid, user, chars, str, uri] = ready as Tuple;
    const parsed = parseElixirStruct(user, 'MyApp.User');
    assert.equal(parsed?.module, 'MyApp.User');
    assert.equal(elixirString(parsed.fields.name), 'jo');
    assert.equal(parsed.fields.age, 3);
    assert.equal(elixirString(chars), 'chärs');
    assert.equal(elixirString(str), 'strïng');
    assert.equal(elixirString(parseElixirStruct(uri, 'URI')?.fields.host as Term), 'x.example');

    assert.ok(exPid instanceof Pid);
    node.send(exPid, elixirStruct('MyApp.User', { name: 'ts', age: 7 }));
    node.send(exPid, tuple(atom('json'), jsonTerm({ user: { name: 'ann', tags: ['a', 'b'] }, none: null })));
    assert.deepEqual(await node.call({ name: elixirModule('MyApp.Echo').name, node: EX }, 'hi'), tuple(atom('echo'), Buffer.from('hi')));
    node.send(exPid, atom('done'));

    const { stdout, stderr } = await elixir;
    assert.deepEqual(stdout.trim().split('\n'), ['{:struct, "ts", 7, true}', '{:json, "ann", ["a", "b"]}', 'done'], stderr);
  } finally {
    await node.stop();
  }
});
