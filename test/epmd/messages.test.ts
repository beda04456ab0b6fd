// EPMD messages: golden bytes (one comment per segment), every parser fed whole, byte by
// byte and split at random points through ChunkAccumulator, sentinel bytes after each
// message, and malformed input.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EpmdError, InvalidOptionError } from '../../src/errors.js';
import {
  ChunkAccumulator,
  composeAlive2Req,
  composeAlive2Resp,
  composeAlive2XResp,
  composeNamesReq,
  composeNamesResp,
  composePort2Resp,
  composePortPlease2Req,
  MAX_REQUEST_BYTES,
  parseAlive2Req,
  parseAlive2Resp,
  parseNamesResp,
  parsePort2Resp,
  parsePortPlease2Req,
  parseRequest,
  type NodeRegistration,
  type Parsed,
} from '../../src/epmd/messages.js';

/** Hex digits, with `# comment` to the end of a line ignored. */
function hex(s: string): Buffer {
  const digits = s.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`not hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}
const SENTINEL = hex('dead');

/** Deterministic PRNG (mulberry32), so a failing split can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `bytes` at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at)].filter((p) => p > 0 && p < bytes.length).sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

/** Every way we split a message: whole, byte by byte, and 40 random splits per seed. */
function splits(bytes: Buffer, seed: number): Array<{ label: string; chunks: Buffer[] }> {
  const out = [
    { label: 'whole', chunks: [bytes] },
    { label: 'byte by byte', chunks: [...bytes].map((b) => Buffer.from([b])) },
  ];
  const rand = prng(seed);
  for (let i = 0; i < 40; i++) {
    const n = 1 + Math.floor(rand() * Math.min(6, bytes.length));
    const at = Array.from({ length: n }, () => Math.floor(rand() * bytes.length));
    out.push({ label: `seed ${seed} split ${i} at ${at.join(',')}`, chunks: cut(bytes, at) });
  }
  return out;
}

/**
 * Feeds `message` + SENTINEL in chunks through an accumulator. The parser must not
 * answer before the message is whole, must answer once it is, and must leave the
 * sentinel behind. `ended` is passed for NAMES_RESP, whole only at end of stream.
 */
function feedEverySplit<T>(message: Buffer, parse: (buf: Buffer, ended: boolean) => Parsed<T>, expected: T, opts: { tail?: boolean } = {}): void {
  const tail = opts.tail ?? true;
  const stream = tail ? Buffer.concat([message, SENTINEL]) : message;
  for (const { label, chunks } of splits(stream, message.length * 7919)) {
    const acc = new ChunkAccumulator(4096);
    let got: T | undefined;
    let fed = 0;
    for (const chunk of chunks) {
      acc.push(chunk);
      fed += chunk.length;
      const ended = fed === stream.length && !tail;
      if (got === undefined) {
        got = acc.take((b) => parse(b, ended));
        if (got !== undefined) assert.ok(fed >= message.length, `${label}: answered after ${fed} of ${message.length} bytes`);
      }
    }
    assert.deepEqual(got, expected, label);
    if (tail) assert.deepEqual(acc.bytes, SENTINEL, `${label}: the sentinel is left over`);
  }
}

const APP: NodeRegistration = { port: 4370, nodeType: 77, protocol: 0, highestVersion: 6, lowestVersion: 6, name: 'app', extra: Buffer.alloc(0) };

// ALIVE2_REQ for app, port 4370, a normal node speaking version 6 only.
const ALIVE2_REQ_APP = hex(`
  0010      # Length 16 (13 + Nlen + Elen)
  78        # ALIVE2_REQ (120)
  1112      # PortNo 4370
  4d        # NodeType 77 (normal)
  00        # Protocol 0 (tcp/ipv4)
  0006      # HighestVersion 6
  0006      # LowestVersion 6
  0003      # Nlen 3
  617070    # NodeName "app"
  0000      # Elen 0
`);

describe('ALIVE2_REQ', () => {
  test('golden bytes', () => {
    assert.deepEqual(composeAlive2Req({ ...APP, extra: undefined }), ALIVE2_REQ_APP);
  });

  test('with Extra and a hidden node, round trip', () => {
    const req = { ...APP, nodeType: 72, extra: hex('0102') };
    const bytes = composeAlive2Req(req);
    assert.deepEqual(bytes.subarray(bytes.length - 4), hex('0002 0102')); // Elen 2, Extra
    assert.deepEqual(parseAlive2Req(bytes.subarray(2)), req);
  });

  test('a UTF-8 name of 255 bytes is the longest', () => {
    const name = 'é'.repeat(127) + 'x'; // 2 * 127 + 1 = 255 bytes
    assert.equal(parseAlive2Req(composeAlive2Req({ ...APP, name }).subarray(2)).name, name);
    assert.throws(() => composeAlive2Req({ ...APP, name: name + 'y' }), InvalidOptionError);
  });

  test('compose refuses what cannot go on the wire', () => {
    for (const bad of [{ name: '' }, { name: 'a\u0000b' }, { name: 'a\ud800' }, { port: 65536 }, { port: -1 }, { highestVersion: 1.5 }, { nodeType: 256 }]) {
      assert.throws(() => composeAlive2Req({ ...APP, ...bad }), InvalidOptionError, JSON.stringify(bad));
    }
  });

  test('malformed bodies', () => {
    const body = ALIVE2_REQ_APP.subarray(2);
    const cases: Array<[string, Buffer]> = [
      ['too short', body.subarray(0, 12)],
      ['wrong tag', Buffer.concat([hex('79'), body.subarray(1)])],
      ['Nlen past the end', Buffer.concat([body.subarray(0, 9), hex('0010'), body.subarray(11)])],
      ['Nlen 0', Buffer.concat([body.subarray(0, 9), hex('0000 0000')])],
      ['Elen past the end', Buffer.concat([body.subarray(0, 14), hex('0005')])],
      ['bytes after Extra', Buffer.concat([body, hex('00')])],
      ['name not UTF-8', Buffer.concat([body.subarray(0, 11), hex('ff 70 70 0000')])],
      ['NUL in the name', Buffer.concat([body.subarray(0, 11), hex('61 00 70 0000')])],
    ];
    for (const [label, bytes] of cases) assert.throws(() => parseAlive2Req(bytes), EpmdError, label);
  });
});

describe('ALIVE2_X_RESP / ALIVE2_RESP', () => {
  // 76 ALIVE2_X_RESP (118) | 00 Result ok | 6a9b3c01 Creation (32 bits)
  const X = hex('76 00 6a9b3c01');
  // 79 ALIVE2_RESP (121) | 00 Result ok | 0002 Creation (16 bits)
  const OLD = hex('79 00 0002');

  test('golden bytes', () => {
    assert.deepEqual(composeAlive2XResp(0, 0x6a9b3c01), X);
    assert.deepEqual(composeAlive2Resp(0, 2), OLD);
    // 76 | 01 refused | 00000063 creation 99, as epmd sends
    assert.deepEqual(composeAlive2XResp(1, 99), hex('76 01 00000063'));
  });

  test('every split, with a sentinel after', () => {
    feedEverySplit(X, parseAlive2Resp, { result: 0, creation: 0x6a9b3c01, extended: true });
    feedEverySplit(OLD, parseAlive2Resp, { result: 0, creation: 2, extended: false });
  });

  test('an unknown tag fails on its first byte', () => {
    assert.throws(() => parseAlive2Resp(hex('48')), EpmdError);
    assert.equal(parseAlive2Resp(Buffer.alloc(0)), undefined);
  });

  test('compose refuses a creation that does not fit', () => {
    assert.throws(() => composeAlive2Resp(0, 0x10000), InvalidOptionError);
    assert.throws(() => composeAlive2XResp(0, 2 ** 32), InvalidOptionError);
  });
});

describe('PORT_PLEASE2_REQ', () => {
  // 0004 Length 4 | 7a PORT_PLEASE2_REQ (122) | 617070 NodeName "app"
  const REQ = hex('0004 7a 617070');

  test('golden bytes and parse', () => {
    assert.deepEqual(composePortPlease2Req('app'), REQ);
    assert.equal(parsePortPlease2Req(REQ.subarray(2)), 'app');
  });

  test('one trailing NUL is dropped, as epmd does for pre-R3A clients', () => {
    assert.equal(parsePortPlease2Req(hex('7a 617070 00')), 'app');
    assert.throws(() => parsePortPlease2Req(hex('7a 6100 70')), EpmdError);
  });

  test('malformed', () => {
    assert.throws(() => parsePortPlease2Req(hex('7a')), EpmdError); // no name
    assert.throws(() => parsePortPlease2Req(hex('7a 00')), EpmdError); // only the NUL
    assert.throws(() => parsePortPlease2Req(Buffer.concat([hex('7a'), Buffer.alloc(256, 0x61)])), EpmdError);
    assert.throws(() => composePortPlease2Req('x'.repeat(256)), InvalidOptionError);
  });
});

describe('PORT2_RESP', () => {
  const FOUND = hex(`
    77        # PORT2_RESP (119)
    00        # Result 0 (found)
    1112      # PortNo 4370
    4d        # NodeType 77
    00        # Protocol 0
    0006      # HighestVersion 6
    0005      # LowestVersion 5
    0003      # Nlen 3
    617070    # NodeName "app"
    0001      # Elen 1
    2a        # Extra
  `);
  const found: NodeRegistration = { ...APP, lowestVersion: 5, extra: hex('2a') };

  test('golden bytes', () => {
    assert.deepEqual(composePort2Resp(found), FOUND);
    // 77 PORT2_RESP | 01 Result: not registered
    assert.deepEqual(composePort2Resp(null), hex('77 01'));
  });

  test('every split, with a sentinel after', () => {
    feedEverySplit(FOUND, parsePort2Resp, found);
    feedEverySplit(hex('77 01'), parsePort2Resp, null);
  });

  test('lengths are judged as soon as they arrive', () => {
    // Nlen 0x0100 (256) is refused from the first 12 bytes, without waiting for 256 more.
    assert.throws(() => parsePort2Resp(Buffer.concat([FOUND.subarray(0, 10), hex('0100')])), EpmdError);
    assert.throws(() => parsePort2Resp(Buffer.concat([FOUND.subarray(0, 10), hex('0000')])), EpmdError);
    // Elen 1021 is more than epmd keeps.
    assert.throws(() => parsePort2Resp(Buffer.concat([FOUND.subarray(0, 15), hex('03fd')])), EpmdError);
  });

  test('malformed', () => {
    assert.throws(() => parsePort2Resp(hex('76 00')), EpmdError);
    assert.throws(() => parsePort2Resp(Buffer.concat([FOUND.subarray(0, 12), hex('ff7070 0000')])), EpmdError);
  });
});

describe('NAMES_REQ / NAMES_RESP', () => {
  // 0001 Length 1 | 6e NAMES_REQ (110)
  test('NAMES_REQ golden bytes', () => {
    assert.deepEqual(composeNamesReq(), hex('0001 6e'));
  });

  const nodes = [
    { name: 'b', port: 40001 },
    { name: 'nó de', port: 7 }, // UTF-8, and a space erl_epmd could not read
  ];
  const RESP = Buffer.concat([
    hex('00001111'), // EPMDPortNo 4369
    Buffer.from('name b at port 40001\n', 'utf8'), // NodeInfo, newest first
    Buffer.from('name nó de at port 7\n', 'utf8'),
  ]);

  test('NAMES_RESP golden bytes', () => {
    assert.deepEqual(composeNamesResp(4369, nodes), RESP);
    assert.deepEqual(composeNamesResp(4369, []), hex('00001111'));
  });

  test('NAMES_RESP is whole only at end of stream, whatever the split', () => {
    feedEverySplit(RESP, parseNamesResp, { epmdPort: 4369, nodes }, { tail: false });
    feedEverySplit(hex('00001111'), parseNamesResp, { epmdPort: 4369, nodes: [] }, { tail: false });
  });

  test('malformed NAMES_RESP', () => {
    assert.throws(() => parseNamesResp(hex('000011')), EpmdError); // short port
    assert.throws(() => parseNamesResp(Buffer.concat([hex('00001111'), Buffer.from('name a at port 1')])), EpmdError); // cut line
    assert.throws(() => parseNamesResp(Buffer.concat([hex('00001111'), Buffer.from('nom a at port 1\n')])), EpmdError);
    assert.throws(() => parseNamesResp(Buffer.concat([hex('00001111'), Buffer.from('name a at port 70000\n')])), EpmdError);
    assert.throws(() => parseNamesResp(Buffer.concat([hex('00001111 ff0a')])), EpmdError);
  });
});

describe('parseRequest (server framing)', () => {
  test('each request, every split, with a sentinel after', () => {
    feedEverySplit(ALIVE2_REQ_APP, (b) => parseRequest(b), { type: 'ALIVE2_REQ', ...APP });
    feedEverySplit(composePortPlease2Req('app'), (b) => parseRequest(b), { type: 'PORT_PLEASE2_REQ', name: 'app' });
    feedEverySplit(composeNamesReq(), (b) => parseRequest(b), { type: 'NAMES_REQ' });
  });

  test('refuses bad lengths and tags before the body arrives', () => {
    assert.throws(() => parseRequest(hex('0000')), EpmdError); // empty request
    assert.throws(() => parseRequest(hex('ffff')), EpmdError); // 65535 > MAX_REQUEST_BYTES
    const over = Buffer.alloc(2);
    over.writeUInt16BE(MAX_REQUEST_BYTES + 1);
    assert.throws(() => parseRequest(over), EpmdError);
    assert.throws(() => parseRequest(hex('0001 64')), EpmdError); // DUMP_REQ (100): not served
    assert.throws(() => parseRequest(hex('0001 6b')), EpmdError); // KILL_REQ (107): not served
    assert.throws(() => parseRequest(hex('0010 73')), EpmdError); // STOP_REQ (115), before its 15 bytes
    assert.equal(parseRequest(hex('0010 78')), undefined); // ALIVE2_REQ: wait for the rest
  });

  test('malformed bodies', () => {
    assert.throws(() => parseRequest(hex('0002 6e 00')), EpmdError); // NAMES_REQ with a byte more
    assert.throws(() => parseRequest(hex('0001 7a')), EpmdError); // PORT_PLEASE2_REQ without a name
  });

  test('random bytes make every parser answer or throw EpmdError, nothing else', () => {
    const rand = prng(20240601);
    const parsers: Array<(b: Buffer) => unknown> = [parseRequest, parseAlive2Resp, parsePort2Resp, (b) => parseNamesResp(b, true)];
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rand() * 40);
      const bytes = Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)));
      // Plausible tags first, so the fuzz gets past the first byte.
      if (len > 2 && i % 2 === 0) bytes[2] = [120, 122, 110][i % 3];
      if (len > 0 && i % 3 === 0) bytes[0] = [118, 119, 121][i % 3];
      for (const parse of parsers) {
        try {
          parse(bytes);
        } catch (err) {
          assert.ok(err instanceof EpmdError, `input ${bytes.toString('hex')}: ${String(err)}`);
        }
      }
    }
  });
});

describe('ChunkAccumulator', () => {
  test('refuses to hold more than its limit', () => {
    const acc = new ChunkAccumulator(4);
    acc.push(hex('0102'));
    assert.throws(() => acc.push(hex('030405')), EpmdError);
    assert.deepEqual(acc.bytes, hex('0102'));
  });
});
