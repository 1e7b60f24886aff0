// The server's own life under abuse: stopped with clients attached, killed
// mid-run, its engine vanishing, 4x its capacity at once, its disk filled.
// Each case starts its own server.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';

import { ENGINE_ADDRESS, removeContainer, runContainers, containersWith, runLabels } from './lib/engine.mjs';
import { Conversation, assertNoContainersLeft, assertOutcome, connect, textOf, waitFor } from './lib/harness.mjs';
import { ServerHandle, startServer } from './lib/server.mjs';

/** Starts `code` running in a fresh conversation and resolves once its container exists: { pending, instance, sandbox }. */
async function runningRun(client, code, label) {
  const conversation = await new Conversation(client, label).open();
  // The raw result: a run the engine interrupted is a tool error (isError, no structuredContent).
  const pending = conversation.call('run_code', { language: 'bash', code }).then((result) => ({ result }));
  pending.catch(() => {});
  const seen = await waitFor(async () => (await containersWith([`${runLabels.conversation}=${conversation.sandbox}`]))[0],
    { timeoutMs: 30_000, intervalMs: 100 });
  assert.ok(seen, 'the run container appeared');
  return { pending, conversation, instance: seen.labels[runLabels.instance], sandbox: conversation.sandbox };
}

/** Removes whatever a case left of `instance` (ours by label), so a failed case does not leak. */
async function removeLeftovers(instance) {
  if (!instance) return;
  for (const c of await runContainers(instance)) await removeContainer(c.id);
}

/** SIGTERM ended `server` with exit 0 and it unmounted every conversation volume it had mounted. */
function assertStoppedCleanly(server, stopped) {
  assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM ends the server cleanly\n${server.logTail()}`);
  assert.deepEqual(server.mountsUnder(), [], 'no quota volume of the server is left mounted');
}

describe('stopping', () => {
  test('a second server on the same sandbox root refuses to start; the first keeps serving', async () => {
    const first = await startServer('root-owner');
    const second = new ServerHandle({ name: 'root-intruder', settings: {}, args: [] });
    second.root = first.root;  // same root, its own port and secrets
    try {
      await assert.rejects(second.start(), /refusing to start: another mcp-sandbox server \(pid \d+\) is serving SANDBOX_ROOT/);
      assert.equal(second.child.exitCode, 1, 'it exits with the start-up failure code');
      const client = await connect(first);
      assert.ok((await client.listTools()).tools.length > 0, 'the first server still answers');
      await client.close();
    } finally {
      await second.stop('SIGKILL');
      assertStoppedCleanly(first, await first.stop('SIGTERM'));
    }
  });

  test('SIGTERM while clients keep idle keep-alive connections: exit 0 within seconds', async () => {
    const server = await startServer('sigterm-idle');
    const client = await connect(server);
    await client.listTools();  // the SDK's connections stay open and idle
    const started = Date.now();
    const stopped = await server.stop('SIGTERM', 15_000);
    assert.deepEqual(stopped, { code: 0, signal: null }, server.logTail());
    assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms`);
    await client.close().catch(() => {});
  });

  test('SIGTERM mid-run: the run is given its grace period, then killed and removed; exit 0', async () => {
    const server = await startServer('sigterm-run', { settings: { SHUTDOWN_GRACE_SECONDS: '2' } });
    const client = await connect(server);
    let instance;
    try {
      const running = await runningRun(client, 'sleep 600', 'sigterm');
      instance = running.instance;
      const started = Date.now();
      const stopped = await server.stop('SIGTERM', 20_000);
      assert.deepEqual(stopped, { code: 0, signal: null }, server.logTail());
      assert.ok(Date.now() - started < 15_000, `stopped after ${Date.now() - started} ms`);
      await assertNoContainersLeft(instance);
    } finally {
      await removeLeftovers(instance);
      await client.close().catch(() => {});
    }
  });

  test('SIGKILL mid-run: the next start removes the orphan', async () => {
    const server = await startServer('sigkill', { settings: { REAPER_INTERVAL_SECONDS: '5' } });
    let instance;
    try {
      const client = await connect(server);
      const running = await runningRun(client, 'sleep 600', 'sigkill');
      instance = running.instance;
      assert.deepEqual(await server.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
      assert.equal((await runContainers(instance)).length, 1, 'the orphan outlived its server');
      await server.start();  // same sandbox root and settings: the same instance
      await assertNoContainersLeft(instance, undefined, 20_000);
      const again = await new Conversation(await connect(server), 'after-restart').open();
      assertOutcome((await again.run('bash', 'echo back')).run, { exitCode: 0, stdout: 'back\n' });
      assert.deepEqual(await server.stop('SIGTERM'), { code: 0, signal: null });
    } finally {
      await removeLeftovers(instance);
      await server.stop('SIGKILL');
    }
  });
});

/**
 * A TCP relay to the engine's socket that the test can cut and restore: the server under test
 * talks to it (DOCKER_HOST=tcp://…), so "the engine stops" without touching the shared engine.
 */
class EngineRelay {
  async open(port = 0) {
    this.sockets = new Set();
    // Half-open both ways: the server half-closes the attach stream after stdin, and the
    // program's output must still come back through the relay.
    this.server = net.createServer({ allowHalfOpen: true }, (client) => {
      const target = ENGINE_ADDRESS.socketPath ? { path: ENGINE_ADDRESS.socketPath } : { ...ENGINE_ADDRESS };
      const upstream = net.connect({ ...target, allowHalfOpen: true });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  /** The engine "goes away": every connection is cut and new ones are refused. */
  async cut() {
    await new Promise((resolve) => {
      this.server.close(resolve);
      for (const s of this.sockets) s.destroy();
    });
  }
}

describe('engine faults', () => {
  test('the engine stops mid-run: the call fails clearly, /readyz says 503, and all recovers when it is back', async () => {
    const relay = await new EngineRelay().open();
    const server = await startServer('engine-down', {
      // No warm containers: the case asserts that nothing of ours is left while the server still runs.
      settings: { DOCKER_HOST: `tcp://127.0.0.1:${relay.port}`, ENGINE_TIMEOUT_SECONDS: '5', REAPER_INTERVAL_SECONDS: '5', WARM_MAX: '0' },
    });
    let instance;
    try {
      const client = await connect(server);
      const running = await runningRun(client, 'sleep 600', 'engine-down');
      instance = running.instance;
      const cutAt = Date.now();
      await relay.cut();
      const { result } = await running.pending;
      assert.equal(result.isError, true);
      assert.match(textOf(result), /engine|interrupted/i);
      assert.ok(Date.now() - cutAt < 30_000, `the call failed ${Date.now() - cutAt} ms after the cut`);
      const notReady = await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 503, { timeoutMs: 10_000 });
      assert.ok(notReady, '/readyz turns 503 while the engine is away');
      const meanwhile = await new Conversation(client, 'while-down').open();
      const refused = await meanwhile.call('run_code', { language: 'bash', code: 'echo hi' });
      assert.equal(refused.isError, true);
      assert.match(textOf(refused), /engine unavailable/i);

      await relay.open(relay.port);
      const ready = await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 200, { timeoutMs: 20_000 });
      assert.ok(ready, '/readyz is 200 again once the engine is back');
      assertOutcome((await meanwhile.run('bash', 'echo back')).run, { exitCode: 0, stdout: 'back\n' });
      await assertNoContainersLeft(instance, undefined, 20_000);
    } finally {
      await removeLeftovers(instance);
      await server.stop('SIGTERM');
      await relay.cut().catch(() => {});
    }
  });
});

describe('capacity', () => {
  test('4x the capacity at once: never more containers than the limit, the excess refused at once as busy', async () => {
    const limit = 2;
    const server = await startServer('capacity', {
      settings: { MAX_CONCURRENT_RUNS: String(limit), MAX_QUEUED_RUNS: String(limit), RUN_QUEUE_TIMEOUT_SECONDS: '30' },
    });
    let instance;
    let stopped;
    try {
      const client = await connect(server);
      const conversations = await Promise.all(Array.from({ length: 4 * limit }, (_, i) => new Conversation(client, `cap-${i}`).open()));
      let most = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const found = await containersWith([`${runLabels.kind}=run`]);
          const ours = found.filter((c) => conversations.some((v) => v.sandbox === c.labels[runLabels.conversation]));
          instance ??= ours[0]?.labels[runLabels.instance];
          most = Math.max(most, ours.filter((c) => c.state !== 'exited').length);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const outcomes = await Promise.all(conversations.map(async (c) => {
        const started = Date.now();
        const result = await c.call('run_code', { language: 'bash', code: 'sleep 2; echo done' });
        return { result, ms: Date.now() - started };
      }));
      sampling = false;
      await sampler;
      const done = outcomes.filter((o) => !o.result.isError);
      const busy = outcomes.filter((o) => o.result.isError);
      assert.equal(done.length, 2 * limit, 'running + queued runs complete');
      for (const o of done) assert.equal(o.result.structuredContent.stdout, 'done\n');
      assert.equal(busy.length, 2 * limit, 'the rest is refused');
      for (const o of busy) {
        assert.match(textOf(o.result), /busy.*retry after/i);
        assert.ok(o.ms < 3_000, `refused after ${o.ms} ms, not held`);
      }
      assert.ok(most <= limit, `at most ${limit} run containers at once (saw ${most})`);
      if (instance) await assertNoContainersLeft(instance);
    } finally {
      await removeLeftovers(instance);
      stopped = await server.stop('SIGTERM');
    }
    assertStoppedCleanly(server, stopped);
  });
});

describe('disk quota', () => {
  test('filling /data and fallocate past the quota fail with ENOSPC; other conversations keep writing', async () => {
    const server = await startServer('quota', { settings: { SANDBOX_QUOTA_MB: '32', SANDBOX_QUOTA_FILES: '1000' } });
    let stopped;
    try {
      const client = await connect(server);
      const filler = await new Conversation(client, 'filler').open();
      const other = await new Conversation(client, 'other').open();
      const { run } = await filler.run('bash', [
        'head -c 100M /dev/zero > fill; echo "fill exit $?"',
        'fallocate -l 1G big 2>&1; echo "fallocate exit $?"',
        'rm -f fill big; mkdir many && cd many && (seq 1 2000 | xargs touch 2>/dev/null); echo "files $(ls | wc -l)"',
      ].join('\n'));
      assertOutcome(run, { exitCode: 0, timedOut: false });
      assert.match(run.stderr, /No space left on device/);
      assert.match(run.stdout, /^fill exit 1\n(?:.*No space left on device\n)?fallocate exit (?:1|153)\nfiles (\d+)\n$/s);
      // mkfs rounds the inode count up to whole inode tables, so the cap is SANDBOX_QUOTA_FILES plus a few dozen.
      assert.ok(Number(/files (\d+)/.exec(run.stdout)[1]) < 1100, 'the file count stops near SANDBOX_QUOTA_FILES');
      const refused = await filler.call('upload_file', { filename: 'more.bin', content: Buffer.alloc(64 * 1024).toString('base64') });
      assert.equal(refused.isError, true, 'an upload into a full conversation is refused');
      assert.match(textOf(refused), /no space left for this conversation/);
      assert.equal((await other.upload('fine.txt', 'still room here')).size, 15, 'another conversation keeps writing');
    } finally {
      stopped = await server.stop('SIGTERM');
    }
    assertStoppedCleanly(server, stopped);
  });
});
