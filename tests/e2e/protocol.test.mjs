// Raw HTTP checks of the transport rules the SDK clients do not exercise on
// their own: session lifecycle, version and header validation, body limits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/client';

import { BASE_URL, MODERN_VERSION, authHeaders, initializeBody } from './lib/harness.mjs';

const MCP = new URL('/mcp', BASE_URL);
const SESSION_VERSION = '2025-06-18';

async function post(body, headers = {}) {
  const response = await fetch(MCP, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { ...authHeaders(), 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The JSON-RPC messages of a reply, whether it came as JSON or as an SSE stream. */
function messages(reply) {
  if ((reply.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return reply.text.split(/\r?\n\r?\n/).flatMap((event) => {
      const data = event.split(/\r?\n/).filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n');
      return data ? [JSON.parse(data)] : [];
    });
  }
  const parsed = JSON.parse(reply.text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

async function openSession() {
  const reply = await post(initializeBody());
  assert.equal(reply.status, 200, reply.text);
  const session = reply.headers.get('mcp-session-id');
  assert.ok(session, 'Mcp-Session-Id');
  const [init] = messages(reply);
  assert.equal(init.id, 1);
  assert.equal(init.result?.protocolVersion, SESSION_VERSION);
  return session;
}

describe('2025 session lifecycle over raw HTTP', () => {
  test('sessions get distinct visible-ASCII ids of some length', async () => {
    const [a, b] = [await openSession(), await openSession()];
    for (const id of [a, b]) assert.match(id, /^[\x21-\x7e]{22,}$/);
    assert.notEqual(a, b);
  });

  test('notifications/initialized gets 202 with no body; requests echo their id', async () => {
    const session = await openSession();
    const headers = { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': SESSION_VERSION };
    const notified = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
    assert.equal(notified.status, 202);
    assert.equal(notified.text, '');
    for (const id of ['a-string-id', 0, 9007199254740991]) {
      const reply = await post({ jsonrpc: '2.0', id, method: 'ping' }, headers);
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(messages(reply).map((m) => m.id), [id]);
    }
  });

  test('an unsupported MCP-Protocol-Version header gets 400', async () => {
    const session = await openSession();
    const reply = await post({ jsonrpc: '2.0', id: 7, method: 'tools/list' }, { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '1999-01-01' });
    assert.equal(reply.status, 400);
  });

  test('DELETE ends the session; it and unknown sessions then get 404', async () => {
    const session = await openSession();
    const ended = await fetch(MCP, { method: 'DELETE', headers: { ...authHeaders(), 'Mcp-Session-Id': session, 'MCP-Protocol-Version': SESSION_VERSION } });
    assert.ok(ended.status === 200 || ended.status === 204, `DELETE answered ${ended.status}`);
    await ended.arrayBuffer();
    const after = await post({ jsonrpc: '2.0', id: 2, method: 'ping' }, { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': SESSION_VERSION });
    assert.equal(after.status, 404);
    const unknown = await post({ jsonrpc: '2.0', id: 3, method: 'ping' }, { 'Mcp-Session-Id': 'e2e-never-issued', 'MCP-Protocol-Version': SESSION_VERSION });
    assert.equal(unknown.status, 404);
  });

  test('a body over MAX_BODY_BYTES (8 MiB by default) gets 413', async () => {
    const reply = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(9 * 1024 * 1024) } }));
    assert.equal(reply.status, 413);
  });
});

describe(`stateless ${MODERN_VERSION} over raw HTTP`, () => {
  const envelope = (version = MODERN_VERSION) => ({
    [PROTOCOL_VERSION_META_KEY]: version,
    [CLIENT_INFO_META_KEY]: { name: 'mcp-sandbox-e2e-raw', version: '1.0.0' },
    [CLIENT_CAPABILITIES_META_KEY]: {},
  });
  const listRunners = (version = MODERN_VERSION) => ({
    jsonrpc: '2.0', id: 'call-1', method: 'tools/call', params: { name: 'list_runners', arguments: {}, _meta: envelope(version) },
  });

  test('a request with matching Mcp-Method / Mcp-Name headers needs no session and says resultType', async () => {
    const reply = await post(listRunners(), { 'MCP-Protocol-Version': MODERN_VERSION, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'list_runners' });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get('mcp-session-id'), null);
    const [message] = messages(reply);
    assert.equal(message.id, 'call-1');
    assert.equal(message.result?.resultType, 'complete');
    assert.ok(message.result?.structuredContent?.runners?.length >= 4);
  });

  for (const [label, headers] of [
    ['Mcp-Name disagrees with params.name', { 'Mcp-Method': 'tools/call', 'Mcp-Name': 'delete_file' }],
    ['Mcp-Method disagrees with the method', { 'Mcp-Method': 'tools/list', 'Mcp-Name': 'list_runners' }],
    ['Mcp-Method is missing', { 'Mcp-Name': 'list_runners' }],
  ]) {
    test(`400 and a header-mismatch error when ${label}`, async () => {
      const reply = await post(listRunners(), { 'MCP-Protocol-Version': MODERN_VERSION, ...headers });
      assert.equal(reply.status, 400, reply.text);
      const [message] = messages(reply);
      assert.equal(message.id, 'call-1');
      assert.equal(message.error?.code, -32020);
    });
  }

  test('an unsupported revision gets -32022 listing the supported ones', async () => {
    const reply = await post(listRunners('2099-01-01'), { 'MCP-Protocol-Version': '2099-01-01', 'Mcp-Method': 'tools/call', 'Mcp-Name': 'list_runners' });
    const [message] = messages(reply);
    assert.equal(message.error?.code, -32022, reply.text);
    assert.equal(message.error.data?.requested, '2099-01-01');
    assert.ok(message.error.data?.supported?.includes(MODERN_VERSION));
  });
});
