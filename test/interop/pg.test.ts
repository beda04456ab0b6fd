// pg scopes between a TS node and real OTP 25 / 27 pg scopes (docs/pg-protocol.md):
// TS and BEAM processes joining and leaving both ways, members agreeing on both sides,
// processes that exit leaving, nodes going down and coming back, two scopes at once, and
// the BEAM scope processes keeping their pids through all of it (pg crashes on any
// message it does not expect, so an unchanged pid shows we never sent one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, Node, Pid, silentLogger, tuple, type PgEvent, type PgScope, type Process, type Term } from '../../src/index.js';
import { ErlPeer, requireOtp, type OtpRelease } from '../support/erl-peer.js';
import { eventually, freeSharedPort } from '../support/ports.js';

const COOKIE = 'pg-cookie';
const TS = 'ts@127.0.0.3';
const ERL = 'erl@127.0.0.2';
const WAIT_MS = 10_000;

/** Labels of a group's members as the BEAM side sees them: registered names for its own processes, `ts:<id>` for ours. */
async function beamView(erl: ErlPeer, scope: string, group: string): Promise<string[]> {
  const out = await erl.eval(`lists:sort([case node(P) =:= node() of
      true -> case process_info(P, registered_name) of {registered_name, N} -> atom_to_list(N); _ -> "dead" end;
      false -> "ts:" ++ lists:nth(2, string:lexemes(pid_to_list(P), "<.>"))
    end || P <- pg:get_members(${scope}, ${group})]).`);
  return JSON.parse(out) as string[];
}

/** The same labels from the TS side; BEAM pids are named by `names`. */
function tsView(scope: PgScope, group: Term, names: Map<string, string>): string[] {
  return scope
    .getMembers(group)
    .map((p) => (p.node.name === TS ? `ts:${p.id}` : names.get(p.toString()) ?? `unknown:${p.toString()}`))
    .sort();
}

async function agree(erl: ErlPeer, scope: PgScope, erlScope: string, erlGroup: string, group: Term, names: Map<string, string>, expected: string[]): Promise<void> {
  const want = [...expected].sort();
  let last: [string[], string[]] = [[], []];
  const ok = await eventually(async () => {
    last = [tsView(scope, group, names), await beamView(erl, erlScope, erlGroup)];
    return JSON.stringify(last[0]) === JSON.stringify(want) && JSON.stringify(last[1]) === JSON.stringify(want);
  }, WAIT_MS);
  assert.ok(ok, `${erlScope}/${erlGroup}: want ${JSON.stringify(want)}, TS sees ${JSON.stringify(last[0])}, BEAM sees ${JSON.stringify(last[1])}`);
}

/** A BEAM process registered as `name` that lives until told `stop`, joined to `group` of `scope`. */
async function beamMember(erl: ErlPeer, collector: Process, names: Map<string, string>, name: string, scope: string, group: string): Promise<Pid> {
  await erl.eval(`P = spawn(fun() -> receive stop -> ok end end), register(${name}, P), ok = pg:join(${scope}, ${group}, P),
    {collector, '${TS}'} ! {name, ${name}, P}, ok.`);
  const m = (await collector.receive((t) => Array.isArray(t) && t[1] === atom(name), WAIT_MS)) as Term[];
  const pid = m[2] as Pid;
  names.set(pid.toString(), name);
  return pid;
}

for (const otp of [25, 27] as OtpRelease[]) {
  test(`OTP ${otp}: pg scopes, both ways, without ever crashing the BEAM scopes`, { timeout: 120_000 }, async (t) => {
    if (!requireOtp(t, otp)) return;
    const port = await freeSharedPort(['127.0.0.2', '127.0.0.3']);
    // kernel starts the default scope only when asked (start_pg); the second scope by hand.
    const erl = await ErlPeer.start({ name: ERL, cookie: COOKIE, otp, epmdless: { port }, args: ['-kernel', 'start_pg', 'true'] });
    let node: Node | undefined;
    try {
      assert.match(await erl.eval(`{ok, P} = pg:start(chat), P.`), /^<\d+\.\d+\.\d+>$/);
      const scopePids = await erl.eval(`{whereis(pg), whereis(chat)}.`);
      node = await Node.start({ name: TS, cookie: COOKIE, epmd: false, port, logger: silentLogger });
      const collector = node.spawn({ name: 'collector' });
      const names = new Map<string, string>();
      const pg = node.pg();
      const chat = node.pg('chat');
      assert.equal(node.pg(), pg, 'one scope per name');
      assert.ok(node.whereis('pg')?.equals(pg.pid), 'registered under its name, as pg:start/1 does');

      // Before the nodes meet: members on both sides, exchanged by discover and sync.
      const t1 = node.spawn();
      const t2 = node.spawn();
      pg.join(atom('g1'), t1);
      pg.join('bin', [t1, t2]);
      chat.join(tuple(atom('room'), 1), t2);
      await beamMember(erl, collector, names, 'b1', 'pg', 'g1');
      await beamMember(erl, collector, names, 'b2', 'chat', '{room, 1}');
      assert.equal(await node.ping(ERL), 'pong');
      await agree(erl, pg, 'pg', 'g1', atom('g1'), names, ['b1', `ts:${t1.pid.id}`]);
      await agree(erl, pg, 'pg', '<<"bin">>', 'bin', names, [`ts:${t1.pid.id}`, `ts:${t2.pid.id}`]);
      await agree(erl, chat, 'chat', '{room, 1}', tuple(atom('room'), 1), names, ['b2', `ts:${t2.pid.id}`]);
      assert.deepEqual(pg.getLocalMembers(atom('g1')).map(String), [t1.pid.toString()]);
      assert.equal(await erl.eval(`[node(P) || P <- pg:get_local_members(pg, g1)].`), `['${ERL}']`);

      // The pids are the real processes: BEAM reaches ours through its member list.
      await erl.eval(`[P ! {hello, g1} || P <- pg:get_members(pg, g1), node(P) =/= node()], ok.`);
      assert.deepEqual(await t1.receive(WAIT_MS), tuple(atom('hello'), atom('g1')));

      // Joins and leaves after the meeting, both ways, with monitors seeing them.
      const events: PgEvent[] = [];
      const groupMonitor = pg.monitor(atom('g1'), (e) => events.push(e));
      assert.equal(groupMonitor.members.length, 2);
      const scopeEvents: PgEvent[] = [];
      const scopeMonitor = chat.monitorScope((e) => scopeEvents.push(e));
      assert.equal(scopeMonitor.groups.length, 1);
      const t3 = node.spawn();
      pg.join(atom('g1'), [t3, t3]); // twice: it must leave twice
      const b3 = await beamMember(erl, collector, names, 'b3', 'pg', 'g1');
      await agree(erl, pg, 'pg', 'g1', atom('g1'), names, ['b1', 'b3', `ts:${t1.pid.id}`, `ts:${t3.pid.id}`, `ts:${t3.pid.id}`]);
      assert.ok(events.some((e) => e.type === 'join' && e.pids.some((p) => p.equals(b3))), 'the monitor saw b3 join');
      assert.equal(pg.leave(atom('g1'), t3), 'ok');
      assert.equal(pg.leave(atom('g1'), t3), 'ok');
      assert.equal(pg.leave(atom('g1'), t3), 'not_joined');
      assert.equal(await erl.eval(`pg:leave(pg, g1, whereis(b3)).`), 'ok');
      await agree(erl, pg, 'pg', 'g1', atom('g1'), names, ['b1', `ts:${t1.pid.id}`]);
      assert.ok(events.some((e) => e.type === 'leave' && e.pids.some((p) => p.equals(b3))), 'the monitor saw b3 leave');
      assert.equal(groupMonitor.demonitor(), true);
      await erl.eval(`b2 ! stop.`); // a BEAM member that exits leaves on our side
      await agree(erl, chat, 'chat', '{room, 1}', tuple(atom('room'), 1), names, [`ts:${t2.pid.id}`]);
      assert.ok(scopeEvents.some((e) => e.type === 'leave'), 'the scope monitor saw b2 leave');
      scopeMonitor.demonitor();

      // A TS process that exits leaves all its groups on the BEAM side; one BEAM kills, too.
      t1.exit(atom('shutdown'));
      await agree(erl, pg, 'pg', 'g1', atom('g1'), names, ['b1']);
      await agree(erl, pg, 'pg', '<<"bin">>', 'bin', names, [`ts:${t2.pid.id}`]);
      await erl.eval(`exit(whereis(b1), kill).`);
      await agree(erl, pg, 'pg', 'g1', atom('g1'), names, []);
      assert.deepEqual(pg.whichGroups(), ['bin']);

      // The connection drops: each side drops the other's members; it comes back: they return.
      const b4 = await beamMember(erl, collector, names, 'b4', 'chat', 'g4');
      await agree(erl, chat, 'chat', 'g4', atom('g4'), names, ['b4']);
      await node.disconnect(ERL);
      assert.ok(await eventually(() => chat.getMembers(atom('g4')).length === 0, WAIT_MS), 'b4 left with its node');
      assert.ok(await eventually(async () => (await erl.eval(`pg:get_members(pg, <<"bin">>).`)) === '[]', WAIT_MS), 'the TS members left on BEAM');
      assert.equal(await node.ping(ERL), 'pong');
      await agree(erl, chat, 'chat', 'g4', atom('g4'), names, ['b4']);
      await agree(erl, pg, 'pg', '<<"bin">>', 'bin', names, [`ts:${t2.pid.id}`]);
      assert.ok(chat.getMembers(atom('g4'))[0].equals(b4));

      // Scopes that start while the nodes are connected: a BEAM one finds ours from its
      // init (discover to nodes()), ours finds a BEAM one when first used.
      const early = node.pg('early');
      const t4 = node.spawn();
      early.join(atom('e'), t4);
      const earlyPid = await erl.eval(`{ok, P} = pg:start(early), P.`);
      await agree(erl, early, 'early', 'e', atom('e'), names, [`ts:${t4.pid.id}`]);
      const latePid = await erl.eval(`{ok, P} = pg:start(late), P.`);
      await beamMember(erl, collector, names, 'b5', 'late', 'l');
      const late = node.pg('late');
      const t5 = node.spawn();
      late.join(atom('l'), t5);
      await agree(erl, late, 'late', 'l', atom('l'), names, ['b5', `ts:${t5.pid.id}`]);
      t5.exit(atom('normal'));
      await agree(erl, late, 'late', 'l', atom('l'), names, ['b5']);

      // No BEAM scope ever crashed: the same pids as when each started.
      assert.equal(await erl.eval(`{whereis(pg), whereis(chat)}.`), scopePids);
      assert.equal(await erl.eval(`{whereis(early), whereis(late)}.`), `{${earlyPid},${latePid}}`);

      // The BEAM node goes down: its members leave.
      await erl.stop();
      assert.ok(await eventually(() => chat.getMembers(atom('g4')).length === 0, WAIT_MS), 'b4 left when its node went down');
      assert.deepEqual(pg.getMembers('bin').map(String).sort(), [t2.pid.toString()]);
    } finally {
      await node?.stop();
      await erl.stop();
    }
  });
}
