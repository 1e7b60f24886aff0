// Capacity and abuse limits against the "limits" server of run.sh: MAX_CONCURRENT_RUNS=2,
// MAX_QUEUED_RUNS=2, 40 tool calls a minute per token, 3 wrong tokens a minute per address,
// a 2 s header deadline, 16 connections per address, 24 HTTP workers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import {
  TOKEN, assertRun, authHeaders, callTool, connectStreamableV1, conversationId, initializeBody, parseFileUrl, succeeded, textOf,
} from './lib/harness.mjs';

const LIMITS_URL = process.env.MCP_E2E_LIMITS_URL;
const LIMITS_TOKEN = process.env.MCP_E2E_LIMITS_TOKEN;
if (!LIMITS_URL || !LIMITS_TOKEN) throw new Error('MCP_E2E_LIMITS_URL is not set: run the e2e tests through tests/e2e/run.sh');
const DOCKER = process.env.MCP_E2E_DOCKER || 'docker';
const MAX_CONCURRENT_RUNS = 2;
const BUSY = /^busy: (.+; )?\d+ running, \d+ queued; retry after \d+ s$/;

/** The conversation labels of every run container of ours that exists now (any state). */
async function runContainerConversations() {
  const { stdout } = await promisify(execFile)(DOCKER, [
    'ps', '-a', '--filter', 'label=io.mcp-sandbox.kind=run', '--format', '{{.Label "io.mcp-sandbox.conversation"}}',
  ]);
  return stdout.split('\n').filter(Boolean);
}

/** Polls the engine until `stop()` is called; resolves to the most containers of `sandboxes` seen at once. */
function watchContainers(sandboxes) {
  let running = true;
  let most = 0;
  const done = (async () => {
    while (running) {
      const seen = (await runContainerConversations()).filter((name) => sandboxes.has(name)).length;
      most = Math.max(most, seen);
    }
    return most;
  })();
  return { stop: () => { running = false; return done; } };
}

/** A conversation whose sandbox name (the engine label) is known, from a first upload. */
async function conversationWithSandbox(client, label) {
  const id = conversationId(label);
  const uploaded = succeeded(await callTool(client, 'upload_file', { conversationId: id, filename: 'seed.txt', content: Buffer.from('x').toString('base64') }));
  return { id, sandbox: parseFileUrl(uploaded.file.url).sandbox };
}

describe('run admission', () => {
  let client;
  before(async () => { client = await connectStreamableV1(LIMITS_URL); });
  after(async () => { await client?.close(); });

  test(`4 x MAX_CONCURRENT_RUNS calls at once: never more than ${MAX_CONCURRENT_RUNS} containers, the rest queue or get busy`, async () => {
    const conversations = await Promise.all(Array.from({ length: 4 * MAX_CONCURRENT_RUNS }, (_, i) => conversationWithSandbox(client, `capacity${i}`)));
    const watcher = watchContainers(new Set(conversations.map((c) => c.sandbox)));
    const code = 'import time\ntime.sleep(2)\nprint("done")';
    let results;
    let most;
    try {
      results = await Promise.all(conversations.map(({ id }) => callTool(client, 'run_code', { conversationId: id, language: 'python', code })));
    } finally {
      most = await watcher.stop(); // also when a call failed: a polling watcher would keep the file from ending
    }
    const texts = results.map(textOf);
    const ok = results.filter((result) => result.isError !== true);
    const busy = texts.filter((text) => BUSY.test(text));
    for (const result of ok) assert.equal(result.structuredContent.stdout, 'done\n');
    assert.equal(ok.length + busy.length, results.length, `every call either ran or was told busy: ${JSON.stringify(texts)}`);
    assert.ok(ok.length >= MAX_CONCURRENT_RUNS, `at least the limit ran: ${ok.length}`);
    assert.ok(busy.length >= 1, `some were refused at once: ${JSON.stringify(texts)}`);
    assert.ok(most >= 1, 'the watcher saw the run containers');
    assert.ok(most <= MAX_CONCURRENT_RUNS, `at most ${MAX_CONCURRENT_RUNS} run containers existed at once, saw ${most}`);
  });

  test('runs of one conversation never overlap', async () => {
    const id = conversationId('serial');
    const code = [
      'import time',
      'with open("/data/log.txt", "a") as log: log.write(f"start {time.time_ns()}\\n")',
      'time.sleep(1)',
      'with open("/data/log.txt", "a") as log: log.write(f"end {time.time_ns()}\\n")',
    ].join('\n');
    const results = await Promise.all([0, 1, 2].map(() => callTool(client, 'run_code', { conversationId: id, language: 'python', code })));
    for (const result of results) succeeded(result);
    const log = await callTool(client, 'read_file', { conversationId: id, path: 'log.txt' });
    succeeded(log);
    const lines = textOf(log).trim().split('\n');
    assert.equal(lines.length, 6, lines.join('\n'));
    for (let i = 0; i < lines.length; i += 2) {
      assert.match(lines[i], /^start \d+$/, `runs alternate start/end: ${lines.join(' | ')}`);
      assert.match(lines[i + 1], /^end \d+$/, `runs alternate start/end: ${lines.join(' | ')}`);
    }
  });
});

/** Opens `count` connections from `localAddress` that send a request head a byte at a time and never finish it. */
function slowConnections(count, localAddress, port) {
  const sockets = [];
  const closed = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const head = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(1000)}`;
    let sent = 0;
    const timer = setInterval(() => { if (sent < head.length) socket.write(head[sent++]); }, 200);
    let received = '';
    socket.on('data', (data) => { received += data; });
    closed.push(new Promise((resolve) => socket.on('close', () => { clearInterval(timer); resolve({ received, at: Date.now() }); })));
    socket.on('error', () => {});
    sockets.push(socket);
  }
  return { closed, destroy: () => sockets.forEach((socket) => socket.destroy()) };
}

describe('slow clients', () => {
  test('slowloris from one address does not stop tools/list for another, and is cut off at the header deadline', async () => {
    const port = Number(new URL(LIMITS_URL).port);
    const started = Date.now();
    const slow = slowConnections(40, '127.0.0.6', port);
    try {
      // Past the per-address cap of 16 the rest are refused at once, so the first to close is one of them.
      const first = await Promise.race(slow.closed);
      assert.match(first.received, /^HTTP\/1.1 429/, 'connections beyond the cap get 429');
      const listedAt = Date.now();
      const client = await connectStreamableV1(LIMITS_URL);
      const { tools } = await client.listTools();
      await client.close();
      assert.ok(tools.length > 0);
      assert.ok(Date.now() - listedAt < 2000, `tools/list answered in ${Date.now() - listedAt} ms while slow clients were connected`);
      const ends = await Promise.all(slow.closed);
      const refused = ends.filter((end) => /^HTTP\/1.1 429/.test(end.received)).length;
      assert.ok(refused >= 20, `about 40 - 16 connections were refused at once: ${refused}`);
      const last = Math.max(...ends.map((end) => end.at)) - started;
      assert.ok(last < 8000, `every slow connection was closed by the 2 s header deadline (+ margin), the last after ${last} ms`);
    } finally {
      slow.destroy();
    }
  });
});

/** The server's count of idle connections closed to make room (from another address: 127.0.0.1). */
async function idleForRoom() {
  const metrics = await rawRequest({ method: 'GET', path: '/metrics', headers: authHeaders(TOKEN) });
  assert.equal(metrics.status, 200, metrics.text);
  const line = metrics.text.split('\n').find((text) => text.startsWith('mcp_sandbox_http_connections_closed_total{reason="idle_for_room"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('kept-alive connections', () => {
  test('an address with 16 idle kept-alive connections still gets a 17th: the longest idle one makes room', async () => {
    const localAddress = '127.0.0.7';
    const port = Number(new URL(LIMITS_URL).port);
    // 16 connections that each finish a request and stay open, idle, as a client pool keeps them.
    const idle = [];
    for (let i = 0; i < 16; i++) {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress });
      let received = '';
      const answered = new Promise((resolve) => socket.on('data', (data) => { received += data; if (received.includes('\r\n\r\n')) resolve(); }));
      const closed = new Promise((resolve) => socket.on('close', resolve));
      socket.on('error', () => {});
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await answered;
      assert.match(received, /^HTTP\/1.1 200/, `connection ${i + 1} was served`);
      idle.push({ socket, closed });
    }
    try {
      const before = await idleForRoom();
      const reply = await rawRequest({ method: 'GET', path: '/healthz', localAddress });
      assert.equal(reply.status, 200, `the 17th connection is served, not refused: ${reply.text}`);
      // The first of the idle ones (idle longest) was closed to make room.
      const first = await Promise.race([idle[0].closed.then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 2000, 'open'))]);
      assert.equal(first, 'closed', 'the longest-idle connection was closed');
      assert.equal(await idleForRoom(), before + 1, 'closed to make room (not by the idle deadline)');
    } finally {
      idle.forEach(({ socket }) => socket.destroy());
    }
  });
});

/** A raw request from `localAddress` (127.0.0.x: another peer on loopback). */
function rawRequest({ method = 'POST', path = '/mcp', headers = {}, body = '', localAddress = '127.0.0.1' }) {
  return new Promise((resolve, reject) => {
    const request = http.request(new URL(path, LIMITS_URL), { method, headers, localAddress, agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

describe('rate limits', () => {
  test('tool calls beyond the per-token budget get 429 + Retry-After and a JSON-RPC error; the other token is unaffected', async () => {
    const headers = { ...JSON_HEADERS, Authorization: `Bearer ${LIMITS_TOKEN}` };
    const init = await rawRequest({ headers, body: JSON.stringify(initializeBody()) });
    assert.equal(init.status, 200, init.text);
    const session = init.headers['mcp-session-id'];
    const call = (id) => rawRequest({
      headers: { ...headers, 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'list_runners', arguments: {} } }),
    });
    let limited;
    for (let i = 1; i <= 41 && !limited; i++) {
      const reply = await call(i);
      if (reply.status === 429) limited = { at: i, reply };
      else assert.equal(reply.status, 200, reply.text);
    }
    assert.ok(limited, 'the 41st call within a minute is refused');
    assert.equal(limited.at, 41, 'the first 40 calls (the burst) pass');
    assert.ok(Number(limited.reply.headers['retry-after']) >= 1, `Retry-After: ${limited.reply.headers['retry-after']}`);
    const body = JSON.parse(limited.reply.text);
    assert.equal(body.error.code, -32029);
    assert.match(body.error.message, /retry after \d+ s/);
    // tools/list is not a tool call, and the main test token has its own budget.
    const list = await rawRequest({
      headers: { ...headers, 'Mcp-Session-Id': session, 'MCP-Protocol-Version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'list', method: 'tools/list' }),
    });
    assert.equal(list.status, 200, list.text);
    const other = await connectStreamableV1(LIMITS_URL, TOKEN);
    assertRun(await callTool(other, 'run_code', { conversationId: conversationId('other-token'), language: 'bash', code: 'echo ok' }), { stdout: 'ok\n' });
    await other.close();
  });

  test('wrong tokens from one address end in 429 + Retry-After, even with the right token; other addresses keep working', async () => {
    const localAddress = '127.0.0.5';
    const wrong = { ...JSON_HEADERS, ...authHeaders('f'.repeat(64)) };
    for (let i = 0; i < 3; i++) {
      const reply = await rawRequest({ headers: wrong, body: JSON.stringify(initializeBody()), localAddress });
      assert.equal(reply.status, 401, `attempt ${i + 1}`);
    }
    const blocked = await rawRequest({ headers: wrong, body: JSON.stringify(initializeBody()), localAddress });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) >= 1, `Retry-After: ${blocked.headers['retry-after']}`);
    assert.equal(JSON.parse(blocked.text).error.code, -32029);
    const right = await rawRequest({ headers: { ...JSON_HEADERS, ...authHeaders(TOKEN) }, body: JSON.stringify(initializeBody()), localAddress });
    assert.equal(right.status, 429, 'a limited address is not told whether its token is right');
    const metrics = await rawRequest({ method: 'GET', path: '/metrics', headers: authHeaders(TOKEN), localAddress });
    assert.equal(metrics.status, 429, '/metrics is behind the same limit');
    const elsewhere = await rawRequest({ headers: { ...JSON_HEADERS, ...authHeaders(TOKEN) }, body: JSON.stringify(initializeBody()) });
    assert.equal(elsewhere.status, 200, elsewhere.text);
  });
});
