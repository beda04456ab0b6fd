// Handshake messages in golden bytes, the digest, and both state machines over a real
// loopback socket pair: success, wrong cookie both ways, refusal, stall, garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { HandshakeError } from '../../src/errors.js';
import { acceptHandshake } from '../../src/distribution/acceptor.js';
import {
  DFLAG_MANDATORY_25_DIGEST, DFLAG_PUBLISHED, DFLAG_UNLINK_ID, DFLAG_V4_NC, DFLAGS_MANDATORY_OTP25, DFLAGS_MANDATORY_OTP26, LOCAL_DIST_FLAGS,
  missingMandatory,
} from '../../src/distribution/flags.js';
import {
  composeChallenge, composeSendName, digestsEqual, genChallenge, genDigest, parseChallenge, parseChallengeReply,
  parseComplement, parseSendName, resolveSimultaneous,
} from '../../src/distribution/handshake.js';
import { initiateHandshake } from '../../src/distribution/initiator.js';

test('send_name: new N form in golden bytes, and the old n form from OTP 23/24', () => {
  const b = composeSendName(0x1_0000_0005n, 7, 'a@h');
  assert.deepEqual([...b], [
    0x4e,                         // 'N'
    0, 0, 0, 1, 0, 0, 0, 5,       // Flags (8 bytes)
    0, 0, 0, 7,                   // Creation
    0, 3,                         // Nlen
    0x61, 0x40, 0x68,             // "a@h"
  ]);
  assert.deepEqual(parseSendName(b), { form: 'N', flags: 0x1_0000_0005n, creation: 7, name: 'a@h' });
  const old = Buffer.from([0x6e, 0, 5, 0, 0x10, 0, 0, 0x61, 0x40, 0x68]); // 'n' | version 5 | flags | name
  assert.deepEqual(parseSendName(old), { form: 'n', flags: 0x100000n, creation: undefined, name: 'a@h' });
  assert.throws(() => parseSendName(Buffer.from([0x4e, 1, 2])), HandshakeError);
  assert.throws(() => parseSendName(Buffer.from([0x78])), /unexpected tag/);
});

test("incoming names follow OTP's is_node_name: exactly one @, text on both sides (golden bytes)", () => {
  // What dist_util:is_node_name/1 says on OTP 25 for each name.
  const verdicts: Array<[string, boolean]> = [['a@b', true], ['a b@c', true], ['a@b@c', false], ['@b', false], ['a@', false], ['@', false], ['ab', false]];
  for (const [name, ok] of verdicts) {
    const n = Buffer.from(name, 'latin1');
    const sendName = Buffer.concat([
      Buffer.from([0x4e]),                      // 'N'
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 5]),    // Flags
      Buffer.from([0, 0, 0, 7]),                // Creation
      Buffer.from([0, n.length]),               // Nlen
      n,                                        // Name
    ]);
    const oldSendName = Buffer.concat([Buffer.from([0x6e, 0, 5, 0, 0x10, 0, 0]), n]); // 'n' | version 5 | flags | name
    const challenge = Buffer.concat([
      Buffer.from([0x4e]),                      // 'N'
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 5]),    // Flags
      Buffer.from([0xde, 0xad, 0xbe, 0xef]),    // Challenge
      Buffer.from([0, 0, 0, 7]),                // Creation
      Buffer.from([0, n.length]),               // Nlen
      n,                                        // Name
    ]);
    for (const [what, parse] of [['send_name', () => parseSendName(sendName).name], ['old send_name', () => parseSendName(oldSendName).name], ['challenge', () => parseChallenge(challenge).name]] as const) {
      if (ok) assert.equal(parse(), name, `${what} ${name}`);
      else assert.throws(parse, (e: unknown) => e instanceof HandshakeError && /node name/.test(e.message), `${what} ${name}`);
    }
  }
});

test('challenge round-trips; complement and reply are checked strictly', () => {
  const c = { flags: LOCAL_DIST_FLAGS, challenge: 0xdeadbeef, creation: 42, name: 'n@1.2.3.4' };
  assert.deepEqual(parseChallenge(composeChallenge(c)), c);
  assert.deepEqual(parseComplement(Buffer.from([0x63, 0, 0, 0, 4, 0, 0, 0, 9])), { flagsHigh: 4n << 32n, creation: 9 });
  assert.throws(() => parseChallengeReply(Buffer.alloc(20)), HandshakeError);
});

test('digest is MD5(cookie ++ decimal challenge); comparison is exact', () => {
    // erl: binary:encode_hex(erlang:md5(["cookie", integer_to_list(4294967295)])) on OTP 25
  assert.equal(genDigest(0xffffffff, 'cookie').toString('hex').toUpperCase(), 'DE56FF9D11B071905BCE597A85D67F4F');
  const d = genDigest(1, 'x');
  assert.ok(digestsEqual(d, genDigest(1, 'x')));
  assert.ok(!digestsEqual(d, genDigest(2, 'x')));
  assert.ok(!digestsEqual(d, d.subarray(0, 15)));
  const seen = new Set(Array.from({ length: 100 }, genChallenge));
  assert.ok(seen.size > 95, 'challenges are random');
});

test('simultaneous connects: the greater name keeps its own attempt', () => {
  assert.equal(resolveSimultaneous('b@h', 'a@h'), 'nok');
  assert.equal(resolveSimultaneous('a@h', 'b@h'), 'ok_simultaneous');
});

async function socketPair(): Promise<[Socket, Socket, () => void]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [sock] = (await accepted) as [Socket];
  return [client, sock, () => server.close()];
}

const base = { localFlags: LOCAL_DIST_FLAGS, creation: 5, timeoutMs: 2000 };

test('initiator and acceptor agree over a real socket, and hand over bytes that follow', async () => {
  const [a, b, close] = await socketPair();
  const accepted = acceptHandshake(b, { ...base, localName: 'b@127.0.0.1', cookie: 'c', onPeerName: () => 'ok' });
  const initiated = await initiateHandshake(a, { ...base, localName: 'a@127.0.0.1', peerName: 'b@127.0.0.1', cookie: 'c' });
  a.write(Buffer.from([0, 0, 0, 0])); // a tick right after: it must reach the connection, not the handshake
  const acc = await accepted;
  assert.equal(initiated.peerName, 'b@127.0.0.1');
  assert.equal(acc.peerName, 'a@127.0.0.1');
  assert.equal(acc.peerCreation, 5);
  assert.equal(acc.peerFlags & DFLAGS_MANDATORY_OTP25, DFLAGS_MANDATORY_OTP25);
  assert.ok((initiated.peerFlags & DFLAG_PUBLISHED) !== 0n);
  a.destroy();
  b.destroy();
  close();
});

test('a wrong cookie fails on both sides', async () => {
  const [a, b, close] = await socketPair();
  // Both promises are settled together: each side fails on its own.
  const [accepted, initiated] = await Promise.allSettled([
    acceptHandshake(b, { ...base, localName: 'b@127.0.0.1', cookie: 'one', onPeerName: () => 'ok' }),
    initiateHandshake(a, { ...base, localName: 'a@127.0.0.1', peerName: 'b@127.0.0.1', cookie: 'two' }),
  ]);
  assert.ok(accepted.status === 'rejected' && accepted.reason instanceof HandshakeError && /cookies differ/.test(accepted.reason.message));
  assert.ok(!String(accepted.status === 'rejected' && accepted.reason.message).includes('one'), 'the cookie is not in the error');
  assert.ok(initiated.status === 'rejected' && initiated.reason instanceof HandshakeError);
  close();
});

test('nok is a refusal; a stalled handshake is cut; garbage fails that socket only', async () => {
  const [a, b, close] = await socketPair();
  const [refused, refusedBy] = await Promise.allSettled([
    acceptHandshake(b, { ...base, localName: 'b@127.0.0.1', cookie: 'c', onPeerName: () => 'nok' }),
    initiateHandshake(a, { ...base, localName: 'a@127.0.0.1', peerName: 'b@127.0.0.1', cookie: 'c' }),
  ]);
  assert.ok(refused.status === 'rejected' && refused.reason instanceof HandshakeError);
  assert.ok(refusedBy.status === 'rejected' && /nok/.test(refusedBy.reason.message));
  const [c, d, close2] = await socketPair();
  const t0 = Date.now();
  await assert.rejects(acceptHandshake(d, { ...base, timeoutMs: 200, localName: 'b@127.0.0.1', cookie: 'c', onPeerName: () => 'ok' }), /within 200 ms/);
  assert.ok(Date.now() - t0 < 1500);
  c.destroy();
  const [e, f, close3] = await socketPair();
  const garbage = acceptHandshake(f, { ...base, localName: 'b@127.0.0.1', cookie: 'c', onPeerName: () => 'ok' });
  e.write(Buffer.from([0, 3, 1, 2, 3]));
  await assert.rejects(garbage, HandshakeError);
  e.destroy();
  close();
  close2();
  close3();
});

// A node may send DFLAG_MANDATORY_25_DIGEST in place of the OTP 25 mandatory set; OTP 25+
// expand it (dist_util:expand_mandatory_25_flag/1) on both sides, and so do we.
const DIGEST_ONLY = DFLAG_MANDATORY_25_DIGEST | DFLAG_V4_NC | DFLAG_UNLINK_ID | DFLAG_PUBLISHED;

test('DFLAG_MANDATORY_25_DIGEST stands for the OTP 25 mandatory set, in send_name (both forms) and the challenge', () => {
  const sendName = Buffer.from([
    0x4e,                         // 'N'
    0, 0, 0, 0x04,                // Flags, high word: V4_NC (1 bsl 34)
    0x06, 0, 0, 0x01,             // Flags, low word: MANDATORY_25_DIGEST 0x4000000 | UNLINK_ID 0x2000000 | PUBLISHED
    0, 0, 0, 7,                   // Creation
    0, 3,                         // Nlen
    0x61, 0x40, 0x68,             // "a@h"
  ]);
  const parsed = parseSendName(sendName);
  assert.equal(parsed.flags, DIGEST_ONLY | DFLAGS_MANDATORY_OTP25);
  assert.equal(missingMandatory(parsed.flags, DFLAGS_MANDATORY_OTP26), 0n);
  const old = Buffer.from([0x6e, 0, 5, 0x04, 0, 0, 0, 0x61, 0x40, 0x68]); // 'n' | version 5 | flags: the digest alone | name
  assert.equal(parseSendName(old).flags, DFLAG_MANDATORY_25_DIGEST | DFLAGS_MANDATORY_OTP25);
  const challenge = Buffer.from([
    0x4e,                         // 'N'
    0, 0, 0, 0x04, 0x06, 0, 0, 0x01, // Flags, as above
    0xde, 0xad, 0xbe, 0xef,       // Challenge
    0, 0, 0, 9,                   // Creation
    0, 3, 0x62, 0x40, 0x68,       // Nlen, "b@h"
  ]);
  assert.equal(parseChallenge(challenge).flags, DIGEST_ONLY | DFLAGS_MANDATORY_OTP25);
  // Without the digest bit nothing is added.
  assert.equal(parseSendName(composeSendName(DFLAG_V4_NC, 1, 'a@h')).flags, DFLAG_V4_NC);
});

test('a peer that sends only DFLAG_MANDATORY_25_DIGEST for the OTP 25 set is accepted, as initiator and as acceptor', async () => {
  for (const digestSide of ['initiator', 'acceptor'] as const) {
    const [a, b, close] = await socketPair();
    const flagsOf = (side: string) => (side === digestSide ? DIGEST_ONLY : LOCAL_DIST_FLAGS);
    const [acc, ini] = await Promise.all([
      acceptHandshake(b, { ...base, localFlags: flagsOf('acceptor'), localName: 'b@127.0.0.1', cookie: 'c', onPeerName: () => 'ok' }),
      initiateHandshake(a, { ...base, localFlags: flagsOf('initiator'), localName: 'a@127.0.0.1', peerName: 'b@127.0.0.1', cookie: 'c' }),
    ]);
    const seen = digestSide === 'initiator' ? acc.peerFlags : ini.peerFlags;
    assert.equal(seen & DFLAGS_MANDATORY_OTP25, DFLAGS_MANDATORY_OTP25, `${digestSide} sent the digest`);
    a.destroy();
    b.destroy();
    close();
  }
});
