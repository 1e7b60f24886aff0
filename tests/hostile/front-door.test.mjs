// The front door: what anyone on the internet can send before a token is checked, and a token
// holder's requests that could amplify or pin the server. Each class of attack gets its exact
// status, the number of responses read from the connection, the bytes sent back, and the
// server's peak resident memory (VmHWM) staying inside the bound docs/limits.md states; the
// bystander (an honest SDK client) is answered throughout every case.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe } from 'node:test';

import { PEAK_BOUND_MIB, hostileCase, parseFileUrl, useHostileServer } from './lib/harness.mjs';
import { rawExchange } from './lib/raw.mjs';
import { sleep } from './lib/server.mjs';

// The defaults an operator runs with, where the suite's own settings would hide a limit.
const suite = useHostileServer('front-door', { settings: { HTTP_MAX_CONNECTIONS_PER_PEER: '16' } });

/** The server's resident memory now and at its peak, in MiB (/proc/<pid>/status). */
function memory() {
  const status = readFileSync(`/proc/${suite.server.pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)[1]);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}
// docs/limits.md: what anyone without a token can make the server hold is a few MiB; the whole
// server (code, libraries, sessions of the bystander) stays well inside PEAK_BOUND_MIB.
const assertPeak = (what) => {
  const { peak } = memory();
  assert.ok(peak < PEAK_BOUND_MIB, `${what}: server peak RSS ${peak.toFixed(1)} MiB (bound ${PEAK_BOUND_MIB})`);
};

/** HTTP responses in a raw reply (counts status lines at the start of responses). */
const responses = (raw) => (raw.match(/(^|\r\n\r\n|\n)HTTP\/1\.1 \d{3} /g) ?? []).length;

/**
 * Sends `head`, then streams `total` bytes of body in `chunk`-sized pieces (chunked framing when
 * `chunked`) until the server answers or closes. Resolves { status, sent, raw, closed }: `sent`
 * counts what was written before the answer arrived, as a client that reads its answer would
 * stop there (what the server drops while it lingers after a refusal depends on the host's speed).
 */
function streamBody(head, { total, chunk = 64 * 1024, chunked = false, localAddress = '127.0.0.1' }) {
  return new Promise((resolve) => {
    const socket = net.connect({ port: suite.server.port, host: '127.0.0.1', localAddress });
    let raw = '';
    let sent = 0;
    let done = false;
    const piece = Buffer.alloc(chunk, 'x');
    const framed = chunked ? Buffer.concat([Buffer.from(`${chunk.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
    const finish = (closed) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), sent, raw, closed });
    };
    const pump = () => {
      while (!done && raw === '' && sent < total) {
        sent += chunk;
        if (!socket.write(framed)) return socket.once('drain', pump);
      }
    };
    socket.on('data', (data) => {
      raw += data.toString('latin1');
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.setTimeout(20_000, () => finish(false));
    socket.write(head, pump);
  });
}

describe('before authentication', { concurrency: 1 }, () => {
  hostileCase(suite, 'a 256 MiB body to a path that does not exist is answered after its head, never read', async () => {
    for (const chunked of [true, false]) {
      const framing = chunked ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${256 << 20}\r\n`;
      const reply = await streamBody(`POST /nowhere HTTP/1.1\r\nHost: x\r\n${framing}\r\n`, { total: 256 << 20, chunked });
      assert.equal(reply.status, chunked ? 404 : 413, `framing ${framing.trim()}`);
      assert.equal(responses(reply.raw), 1);
      assert.ok(reply.closed, 'the connection was closed');
      assert.ok(reply.sent < 200 << 20, `the server stopped taking the body (${reply.sent >> 20} MiB sent)`);
    }
    assertPeak('after 256 MiB bodies to an unknown path');
  });

  hostileCase(suite, 'a body without a token is never read: 401 after the head, then closed', async () => {
    const reply = await streamBody('POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n', { total: 256 << 20, chunked: true });
    assert.equal(reply.status, 401);
    assert.equal(responses(reply.raw), 1);
    assert.ok(reply.closed);
    assertPeak('after an unauthenticated 256 MiB chunked body');
  });

  hostileCase(suite, 'request content-codings are refused before any body byte (415), with or without a token', async () => {
    for (const coding of ['gzip', 'deflate', 'br', 'GZIP', 'x-gzip', 'identity, gzip']) {
      for (const auth of ['', `Authorization: Bearer ${suite.server.token}\r\n`]) {
        const reply = await rawExchange(suite.server, `POST /mcp HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n` +
          `Content-Encoding: ${coding}\r\nContent-Length: 20\r\n\r\n${'\x1f\x8b'.padEnd(20, 'z')}`);
        assert.equal(reply.status, 415, `Content-Encoding: ${coding}`);
        assert.ok(reply.closed);
      }
    }
  });

  hostileCase(suite, 'a body on GET, HEAD, OPTIONS or DELETE is refused, never parsed as a second request', async () => {
    const smuggled = 'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n';
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE']) {
      for (const framing of [`Content-Length: ${smuggled.length}\r\n`, 'Transfer-Encoding: chunked\r\n']) {
        const body = framing.startsWith('Transfer') ? `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n` : smuggled;
        const reply = await rawExchange(suite.server, `${method} /healthz HTTP/1.1\r\nHost: x\r\n${framing}\r\n${body}`);
        assert.equal(reply.status, 400, `${method} with ${framing.trim()}`);
        assert.equal(responses(reply.raw), 1, `${method}: exactly one response on the connection`);
        assert.ok(reply.closed);
      }
    }
    // Content-Length: 0 is no body: served, and the connection is kept for the next request.
    const kept = await rawExchange(suite.server,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(responses(kept.raw), 2);
  });

  hostileCase(suite, 'Transfer-Encoding spellings other than exactly "chunked" are refused and the connection closed', async () => {
    for (const coding of ['Chunked', 'chunked, chunked', ' chunked\t,', 'chunked;x=1', '%63hunked', 'xchunked', 'chunked\x0b']) {
      const reply = await rawExchange(suite.server, `POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${coding}\r\n\r\n` +
        '0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.ok([400, 501].includes(reply.status), `${JSON.stringify(coding)}: ${reply.status}`);
      assert.equal(responses(reply.raw), 1, `${JSON.stringify(coding)}: one response`);
      assert.ok(reply.closed);
    }
    const old = await rawExchange(suite.server, 'POST /mcp HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.equal(old.status, 400);
  });

  hostileCase(suite, 'head budgets: 414 for the request line, 431 for the head and the header count', async () => {
    assert.equal((await rawExchange(suite.server, `GET /healthz?${'a'.repeat(64 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`)).status, 414);
    assert.equal((await rawExchange(suite.server, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`)).status, 431);
    const many = Array.from({ length: 200 }, (_, i) => `X-H${i}: v\r\n`).join('');
    assert.equal((await rawExchange(suite.server, `GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`)).status, 431);
    const fine = Array.from({ length: 90 }, (_, i) => `X-H${i}: v\r\n`).join('');
    assert.equal((await rawExchange(suite.server, `GET /healthz HTTP/1.1\r\nHost: x\r\n${fine}Connection: close\r\n\r\n`)).status, 200);
    // A head that never ends is refused once it crosses the budget, not buffered further.
    const endless = await streamBody('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ', { total: 64 << 20 });
    assert.equal(endless.status, 431);
    assert.ok(endless.sent < 32 << 20, `the server stopped reading the head (${endless.sent >> 20} MiB sent)`);
    assertPeak('after endless heads');
  });

  hostileCase(suite, '/healthz and /readyz say alive or ready and nothing else', async () => {
    const health = await rawExchange(suite.server, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(health.body, 'ok\n');
    const ready = await rawExchange(suite.server, 'GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.deepEqual(JSON.parse(ready.body), { ready: true });
    assert.equal(ready.headers.server, undefined, 'no Server header (no version)');
  });
});

describe('amplification and bounded observability', { concurrency: 1 }, () => {
  hostileCase(suite, 'Range: one range is served, many get the whole file once, never on other routes', async (conversation) => {
    const file = await conversation.upload('ranged.bin', Buffer.alloc(1000, 'r'));
    const { url } = parseFileUrl(file.url);
    const target = `${url.pathname}${url.search}`;
    const get = (range) => rawExchange(suite.server, `GET ${target} HTTP/1.1\r\nHost: x\r\nRange: ${range}\r\nConnection: close\r\n\r\n`);
    const one = await get('bytes=10-19');
    assert.equal(one.status, 206);
    assert.equal(one.headers['content-range'], 'bytes 10-19/1000');
    assert.equal(one.body.length, 10);
    const many = await get(`bytes=${Array.from({ length: 2000 }, () => '0-999').join(',')}`);
    assert.equal(many.status, 200);
    assert.equal(many.body.length, 1000, 'the whole file, once');
    assert.ok(many.raw.length < 1000 + 2048, `bytes sent ${many.raw.length}: the file plus a head`);
    assert.equal((await get('bytes=5000-6000')).status, 416);
    const health = await rawExchange(suite.server, `GET /healthz HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0,0-0,0-0\r\nConnection: close\r\n\r\n`);
    assert.equal(health.status, 200);
    assert.equal(health.body, 'ok\n');
  });

  hostileCase(suite, 'JSON-RPC batches are capped', async () => {
    const batch = JSON.stringify(Array.from({ length: 65 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })));
    const reply = await rawExchange(suite.server, `POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${suite.server.token}\r\n` +
      `Content-Type: application/json\r\nMCP-Protocol-Version: 2025-03-26\r\nContent-Length: ${batch.length}\r\nConnection: close\r\n\r\n${batch}`);
    assert.equal(reply.status, 400);
    assert.match(JSON.parse(reply.body).error.message, /at most 64 messages/);
  });

  hostileCase(suite, 'a caller\'s language string never becomes a metric label', async (conversation) => {
    const marker = `lang${Date.now().toString(36)}`;
    for (let i = 0; i < 20; ++i) await conversation.call('run_code', { language: `${marker}-${i}`, code: '1' });
    const metrics = await rawExchange(suite.server, `GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${suite.server.token}\r\nConnection: close\r\n\r\n`);
    assert.equal(metrics.status, 200);
    assert.ok(!metrics.body.includes(marker), 'no label holds the caller\'s string');
  });
});

describe('slow peers and recovery', { concurrency: 1 }, () => {
  hostileCase(suite, '64 slowloris clients from two addresses leave the honest client answered; memory returns', async () => {
    // The honest client's tools/list p99, measured before and during the attack in the same run.
    const p99 = async () => {
      const times = [];
      for (let i = 0; i < 100; ++i) {
        const started = performance.now();
        await suite.client.listTools();
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[98];
    };
    const quiet = await p99();
    const sockets = [];
    for (let i = 0; i < 64; ++i) {
      const socket = net.connect({ port: suite.server.port, host: '127.0.0.1', localAddress: i % 2 ? '127.0.0.2' : '127.0.0.3' });
      socket.on('error', () => {});
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      sockets.push(socket);
    }
    const drip = setInterval(() => { for (const socket of sockets) socket.write('X'); }, 1000);
    let attacked = 0;
    try {
      await sleep(1500);  // every slow client has connected and holds its worker (or was refused)
      attacked = await p99();
      await sleep(3000);  // the bystander's tools/list loop runs all this while (hostileCase bounds its latency)
    } finally {
      clearInterval(drip);
      for (const socket of sockets) socket.destroy();
    }
    assertPeak('after 64 slow clients');
    // Twice the quiet p99, plus a few milliseconds for a shared machine's scheduling noise on a ~1 ms figure.
    assert.ok(attacked <= 2 * quiet + 5, `tools/list p99 ${attacked.toFixed(1)} ms under attack vs ${quiet.toFixed(1)} ms quiet`);
  });

  hostileCase(suite, 'a soak of every kind at once: the honest flow never fails, memory stays bounded and returns', async (conversation) => {
    const attacks = [];
    const until = Date.now() + 15_000;
    const loop = async (attack) => { while (Date.now() < until) await attack(); };
    attacks.push(loop(() => streamBody('POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', { total: 32 << 20, chunked: true, localAddress: '127.0.0.2' })));
    attacks.push(loop(() => streamBody('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ', { total: 8 << 20, localAddress: '127.0.0.3' })));
    attacks.push(loop(() => rawExchange(suite.server, `GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n${'GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n'}`)));
    attacks.push(loop(() => rawExchange(suite.server, 'POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd')));
    let flows = 0;
    const honest = loop(async () => {
      const file = await conversation.upload(`soak-${flows}.txt`, Buffer.from(`soak ${flows}\n`));
      const { run } = await conversation.run('python', `print(open('/data/soak-${flows}.txt').read().strip())`);
      assert.equal(run.stdout, `soak ${flows}\n`);
      const download = await fetch(file.url);
      assert.equal(download.status, 200);
      assert.equal(await download.text(), `soak ${flows}\n`);
      flows += 1;
    });
    await Promise.all([honest, ...attacks]);
    assert.ok(flows >= 3, `the honest flow ran ${flows} times`);
    assertPeak('after the soak');
    // Idle workers end after 5 s and the last one hands memory back.
    let rss = memory().rss;
    for (let waited = 0; waited < 20 && rss > 25; ++waited) {
      await sleep(1000);
      rss = memory().rss;
    }
    assert.ok(rss <= 25, `RSS once idle: ${rss.toFixed(1)} MiB (bound 25)`);
    const health = await rawExchange(suite.server, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(health.status, 200);
  }, { timeoutMs: 180_000 });
});
