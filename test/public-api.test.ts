// The public surface is deliberate: any change to index.ts's exports must update this list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../src/index.js';

const EXPECTED = [
  'Atom', 'BitBinary', 'CallError', 'ConnectionClosedError', 'DecodeError', 'DistProtocolError', 'DnsCluster',
  'DnsClusterHandle', 'DnsQuery', 'EncodeError', 'EpmdError', 'EpmdServer', 'ErrorCode', 'ExternalFun', 'Float', 'Fun',
  'GenServer', 'GleamSubjects', 'HandshakeError', 'ImproperList', 'InvalidOptionError', 'LocalTerm', 'NessieError', 'Node', 'NotRegisteredError', 'NotRunningError', 'PgScope', 'Pid', 'PubSub', 'Subscription',
  'Port', 'Process', 'Reference', 'RpcError', 'TimeoutError', 'Tuple', 'atom', 'broadcastChannelEvent', 'callReply', 'channelBroadcast', 'charlist', 'consoleLogger', 'decode', 'defaultLogger',
  'defaultResolver', 'elixirModule', 'elixirModuleName', 'elixirString', 'elixirStruct', 'discoverNodes', 'encode', 'encodeInto', 'float', 'hasRan', 'isTuple', 'jsonTerm', 'noReply', 'parseChannelBroadcast', 'parseElixirStruct', 'parseSubject', 'silentLogger', 'startSpec', 'stop', 'tuple',
];

test('index.ts exports exactly the reviewed names', () => {
  assert.deepEqual(Object.keys(api).sort(), [...EXPECTED].sort());
});
