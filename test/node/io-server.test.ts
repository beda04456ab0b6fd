// The io protocol as our group leader answers it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerIoRequest } from '../../src/node/services/io-server.js';
import { atom, Pid, tuple } from '../../src/term/types.js';

const FROM = new Pid(atom('erl@h'), 5, 0, 1);
const req = (r: unknown) => tuple(atom('io_request'), FROM, atom('ra'), r as never);

test('output goes to the writer; input is not supported', () => {
  const out: string[] = [];
  const w = (t: string) => out.push(t);
  const chars = Buffer.from('héllo\n');
  assert.deepEqual(answerIoRequest(req(tuple(atom('put_chars'), atom('unicode'), chars)), w)?.reply, tuple(atom('io_reply'), atom('ra'), atom('ok')));
  const fmt = tuple(atom('put_chars'), atom('unicode'), atom('io_lib'), atom('format'), [[...'n = ~p~n'].map((c) => c.charCodeAt(0)), [42]]);
  assert.deepEqual(answerIoRequest(req(fmt), w)?.reply[2], atom('ok'));
  const getLine = tuple(atom('get_line'), atom('unicode'), 'prompt> ');
  assert.deepEqual(answerIoRequest(req(getLine), w)?.reply[2], tuple(atom('error'), atom('enotsup')));
  assert.deepEqual(out, ['héllo\n', 'n = 42\n']);
  assert.equal(answerIoRequest(tuple(atom('other')), w), undefined);
});
