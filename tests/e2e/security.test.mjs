// Security at the door (bearer token, Origin) and between conversations.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import {
  BASE_URL, TOKEN, assertRun, authHeaders, callTool, connectStreamableV1, conversationId, initializeBody, parseFileUrl, succeeded,
} from './lib/harness.mjs';

const MCP_ACCEPT = 'application/json, text/event-stream';

// Every route that needs the token, as a raw request.
const PROTECTED = [
  { method: 'POST', path: '/mcp', body: JSON.stringify(initializeBody()), headers: { 'Content-Type': 'application/json', Accept: MCP_ACCEPT } },
  { method: 'GET', path: '/mcp', headers: { Accept: 'text/event-stream' } },
  { method: 'DELETE', path: '/mcp', headers: { 'Mcp-Session-Id': 'e2e-no-such-session' } },
  { method: 'GET', path: '/sse', headers: { Accept: 'text/event-stream' } },
  { method: 'GET', path: '/mcp/events', headers: { Accept: 'text/event-stream' } },
  {
    method: 'POST', path: '/messages?sessionId=e2e-no-such-session',
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), headers: { 'Content-Type': 'application/json' },
  },
  { method: 'GET', path: '/metrics' },
];

const WRONG_CREDENTIALS = [
  { label: 'no Authorization header', headers: {} },
  { label: 'a wrong token', headers: authHeaders(randomBytes(32).toString('hex')) },
  { label: 'the token with one character changed', headers: authHeaders((TOKEN[0] === 'a' ? 'b' : 'a') + TOKEN.slice(1)) },
  { label: 'the token as Basic credentials', headers: { Authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` } },
];

/** Sends a raw request and reads (or drops) the body so that no stream stays open. */
async function send({ method, path, body, headers }, extraHeaders = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  try {
    const response = await fetch(new URL(path, BASE_URL), { method, body, headers: { ...headers, ...extraHeaders }, signal: controller.signal });
    const status = response.status;
    let text = '';
    if (status >= 400) text = await response.text();
    else await response.body?.cancel();
    return { status, headers: response.headers, text };
  } finally {
    clearTimeout(timer);
  }
}

describe('bearer token', () => {
  for (const route of PROTECTED) {
    for (const credentials of WRONG_CREDENTIALS) {
      test(`${route.method} ${route.path} with ${credentials.label} gets 401 with WWW-Authenticate`, async () => {
        const response = await send(route, credentials.headers);
        assert.equal(response.status, 401);
        assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer\b/i);
        assert.ok(!response.text.includes(TOKEN), 'the token never appears in a reply');
      });
    }
  }

  test('with the token, /metrics answers Prometheus text', async () => {
    const response = await fetch(new URL('/metrics', BASE_URL), { headers: authHeaders() });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await response.text(), /^# (HELP|TYPE) /m);
  });

  test('/healthz needs no token', async () => {
    const response = await fetch(new URL('/healthz', BASE_URL));
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  });
});

describe('Origin check', () => {
  const foreign = ['http://evil.example', 'http://127.0.0.1.evil.example', 'null'];
  for (const route of PROTECTED.filter((r) => r.path !== '/metrics')) {
    for (const origin of foreign) {
      test(`${route.method} ${route.path} from Origin ${origin} gets 403, token or not`, async () => {
        assert.equal((await send(route, { ...authHeaders(), Origin: origin })).status, 403);
        assert.equal((await send(route, { Origin: origin })).status, 403);
      });
    }
  }

  test("the server's own origin may initialize", async () => {
    const response = await fetch(new URL('/mcp', BASE_URL), {
      method: 'POST',
      body: JSON.stringify(initializeBody()),
      headers: { ...authHeaders(), 'Content-Type': 'application/json', Accept: MCP_ACCEPT, Origin: new URL(BASE_URL).origin },
    });
    assert.equal(response.status, 200, await response.clone().text());
    const session = response.headers.get('mcp-session-id');
    await response.arrayBuffer();
    assert.ok(session, 'a session id');
    const ended = await fetch(new URL('/mcp', BASE_URL), { method: 'DELETE', headers: { ...authHeaders(), 'Mcp-Session-Id': session } });
    assert.ok(ended.status === 200 || ended.status === 204, `DELETE ended the session (${ended.status})`);
  });
});

describe('conversations cannot see each other', () => {
  let client;
  const a = conversationId('iso-a');
  const b = conversationId('iso-b');
  let urlA;
  let urlB;

  before(async () => {
    client = await connectStreamableV1();
    const upload = (conversation, text) => callTool(client, 'upload_file', {
      conversationId: conversation, filename: 'secret.txt', content: Buffer.from(text).toString('base64'),
    });
    urlA = succeeded(await upload(a, 'only for A\n')).file.url;
    // B gets a file of the same name: same path, different sandbox.
    urlB = succeeded(await upload(b, 'only for B\n')).file.url;
    succeeded(await callTool(client, 'upload_file', { conversationId: a, filename: 'a-only/data.txt', content: Buffer.from('A\n').toString('base64') }));
  });
  after(async () => {
    await client?.close();
  });

  test('list_files in B shows only B', async () => {
    const listed = succeeded(await callTool(client, 'list_files', { conversationId: b }));
    const text = JSON.stringify(listed);
    assert.ok(text.includes('secret.txt'));
    assert.ok(!text.includes('a-only'), `A's folder is not listed in B: ${text}`);
  });

  test("read_file in B reads B's file and cannot reach A's", async () => {
    const own = await callTool(client, 'read_file', { conversationId: b, path: 'secret.txt' });
    assert.notEqual(own.isError, true);
    assert.ok(JSON.stringify(own.content).includes('only for B'));
    const foreign = await callTool(client, 'read_file', { conversationId: b, path: 'a-only/data.txt' });
    assert.equal(foreign.isError, true);
    for (const path of ['../a-only/data.txt', '/data/a-only/data.txt']) {
      const escaped = await callTool(client, 'read_file', { conversationId: b, path });
      assert.equal(escaped.isError, true, `${path} is refused`);
      assert.ok(!JSON.stringify(escaped.content).includes('only for A'));
    }
  });

  test("a run in B does not see A's files", async () => {
    const run = assertRun(await callTool(client, 'run_code', {
      conversationId: b, language: 'bash', code: 'cat /data/secret.txt; ls -A /data | sort',
    }), { stdout: 'only for B\nsecret.txt\n' });
    assert.equal(run.conversationId, b);
  });

  test("A's download signature does not open B's file of the same name", async () => {
    const fromA = parseFileUrl(urlA);
    const fromB = parseFileUrl(urlB);
    assert.notEqual(fromA.sandbox, fromB.sandbox);
    assert.ok(!fromA.sandbox.includes(a) && !urlA.includes(a), 'the sandbox name is not the raw conversation id');
    fromA.url.pathname = `/files/${fromB.sandbox}/secret.txt`;
    const response = await fetch(fromA.url);
    assert.equal(response.status, 403);
    assert.doesNotMatch(await response.text(), /only for B/);
  });
});
