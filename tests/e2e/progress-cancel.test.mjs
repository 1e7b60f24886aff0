// Progress notifications while a run is in flight, and cancellation that
// stops the run's container and leaves the server working, on each transport.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  MODERN_VERSION, assertRun, callTool, callToolV2, checkCancellation, connectLegacySseV1, connectStreamableV1, connectV2,
  conversationId,
} from './lib/harness.mjs';

const SLEEP_3S = 'import time\ntime.sleep(3)\nprint("slept")';

/** A 3 s run with progress: when the first notification and the result arrived (ms since epoch). */
async function timedProgress(call, tag, onprogress = () => {}) {
  let first;
  const result = await call('run_code', { conversationId: conversationId(tag), language: 'python', code: SLEEP_3S }, {
    onprogress: (notification) => { first ??= Date.now(); onprogress(notification); },
  });
  return { first, answered: Date.now(), result };
}

describe('SDK 1.x Streamable HTTP (session): progress and notifications/cancelled', () => {
  let client;
  before(async () => {
    client = await connectStreamableV1();
  });
  after(async () => {
    await client?.close();
  });
  const call = (name, args, options) => callTool(client, name, args, options);

  test('a 3 s run sends progress notifications while it runs, not with the result', async () => {
    const progress = [];
    const { first, answered, result } = await timedProgress(call, 'progress-v1', (notification) => progress.push(notification));
    assertRun(result, { stdout: 'slept\n' });
    assert.ok(first !== undefined, 'at least one progress notification');
    assert.ok(answered - first >= 1500, `the first progress came ${answered - first} ms before the result`);
    for (const p of progress) assert.equal(typeof p.progress, 'number');
    for (let i = 1; i < progress.length; ++i) assert.ok(progress[i].progress > progress[i - 1].progress, 'progress increases');
  });

  test('aborting a run cancels it and kills its container', async () => {
    await checkCancellation(call, conversationId('cancel-v1'));
  });
});

describe(`@modelcontextprotocol/client 2.x pinned to ${MODERN_VERSION}: progress and cancel by closing the stream`, () => {
  let client;
  before(async () => {
    client = await connectV2({ pin: MODERN_VERSION });
  });
  after(async () => {
    await client?.close();
  });
  const call = (name, args, options) => callToolV2(client, name, args, options);

  test('a 3 s run sends progress notifications while it runs, not with the result', async () => {
    const { first, answered, result } = await timedProgress(call, 'progress-v2');
    assertRun(result, { stdout: 'slept\n' });
    assert.ok(first !== undefined, 'at least one progress notification');
    assert.ok(answered - first >= 1500, `the first progress came ${answered - first} ms before the result`);
  });

  test('aborting a run cancels it and kills its container (plain call, no onprogress)', async () => {
    await checkCancellation(call, conversationId('cancel-v2'));
  });

  test('aborting a run cancels it and kills its container (call with onprogress: SSE reply)', async () => {
    await checkCancellation(call, conversationId('cancel-v2-sse'), { onprogress: () => {} });
  });
});

describe('SDK 1.x SSEClientTransport (2024-11-05): progress on the stream, notifications/cancelled over POST /messages', () => {
  let client;
  before(async () => {
    client = await connectLegacySseV1();
  });
  after(async () => {
    await client?.close();
  });

  const call = (name, args, options) => callTool(client, name, args, options);

  test('a 3 s run sends progress notifications while it runs, not with the result', async () => {
    const { first, answered, result } = await timedProgress(call, 'progress-sse');
    assertRun(result, { stdout: 'slept\n' });
    assert.ok(first !== undefined, 'at least one progress notification');
    assert.ok(answered - first >= 1500, `the first progress came ${answered - first} ms before the result`);
  });

  test('aborting a run cancels it and kills its container', async () => {
    await checkCancellation(call, conversationId('cancel-sse'));
  });
});
