// Elixir's forms of terms: module atoms, structs, strings and charlists, JSON-like data
// with binary keys. Live with Elixir 1.18 in test/interop/elixir.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atom, charlist, decode, elixirModule, elixirModuleName, elixirString, elixirStruct, encode, jsonTerm, parseElixirStruct, type Term } from '../../src/index.js';

test('elixirModule and elixirModuleName', () => {
  assert.equal(elixirModule('MyApp.Counter'), atom('Elixir.MyApp.Counter'));
  assert.equal(elixirModule('Elixir.MyApp.Counter'), atom('Elixir.MyApp.Counter'));
  assert.throws(() => elixirModule('my_app'), TypeError);
  assert.throws(() => elixirModule('MyApp..X'), TypeError);
  assert.equal(elixirModuleName(atom('Elixir.Phoenix.Socket.Broadcast')), 'Phoenix.Socket.Broadcast');
  assert.equal(elixirModuleName(atom('lists')), undefined);
  assert.equal(elixirModuleName('Elixir.X'), undefined);
});

test('structs survive the wire both ways; other maps are not structs', () => {
  const user = elixirStruct('MyApp.User', { name: 'jo', age: 3 });
  const back = decode(encode(user)) as Term;
  const parsed = parseElixirStruct(back, 'MyApp.User');
  assert.ok(parsed !== undefined);
  assert.equal(parsed.module, 'MyApp.User');
  assert.equal(elixirString(parsed.fields.name), 'jo');
  assert.equal(parsed.fields.age, 3);
  assert.equal(parseElixirStruct(back, 'MyApp.Other'), undefined);
  assert.equal(parseElixirStruct(new Map<Term, Term>([[atom('a'), 1]])), undefined);
  assert.equal(parseElixirStruct(new Map<Term, Term>([[atom('__struct__'), atom('Elixir.A')], ['binary_key', 1]])), undefined);
  // A field called __proto__ is data, not the object's prototype.
  const odd = parseElixirStruct(new Map<Term, Term>([[atom('__struct__'), atom('Elixir.A')], [atom('__proto__'), 1]]));
  assert.equal(odd?.fields.__proto__, 1);
  assert.throws(() => elixirStruct('A', { __struct__: 1 }), TypeError);
});

test('elixirString reads binaries and charlists; charlist builds one', () => {
  assert.equal(elixirString(Buffer.from('héllo ✓', 'utf8')), 'héllo ✓');
  assert.equal(elixirString(Buffer.from([0xff, 0xfe])), undefined, 'not UTF-8');
  assert.deepEqual(charlist('a✓😀'), [0x61, 0x2713, 0x1f600]);
  assert.equal(elixirString(decode(encode(charlist('a✓😀'))) as Term), 'a✓😀');
  assert.equal(elixirString([0xd800]), undefined, 'a lone surrogate is not a character');
  assert.equal(elixirString([atom('a')]), undefined);
  assert.equal(elixirString(atom('a')), undefined);
});

test('jsonTerm makes binary keys and nil, never atoms', () => {
  const t = jsonTerm(JSON.parse('{"user": {"name": "jo", "tags": ["a", null]}, "n": 1.5, "ok": true}')) as Map<Term, Term>;
  assert.deepEqual([...t.keys()], ['user', 'n', 'ok']);
  const user = t.get('user') as Map<Term, Term>;
  assert.deepEqual(user.get('tags'), ['a', atom('nil')]);
  // On the wire the keys are binaries (BINARY_EXT, tag 109), not atoms.
  const bytes = encode(jsonTerm({ k: 1 }));
  assert.equal(bytes.includes(Buffer.from([109, 0, 0, 0, 1, 0x6b])), true);
  assert.throws(() => jsonTerm({ d: new Date(0) }), TypeError);
  assert.throws(() => jsonTerm({ u: undefined }), TypeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => jsonTerm(cyclic), TypeError);
  const shared = [1];
  assert.deepEqual(jsonTerm([shared, shared]), [[1], [1]], 'a shared value is not a cycle');
});
