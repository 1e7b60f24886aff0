// Faults with the real binary and the real engine: the engine going away and
// coming back (through a proxy this test cuts, never the shared engine), a
// run container removed from outside, SIGTERM with a grace period, SIGKILL
// and the next start's reaper. Each server here has its own sandbox root and
// instance id, so it only ever sees its own containers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';

import { callTool, connectStreamableV1, conversationId, textOf, waitFor } from './lib/harness.mjs';
import {
  EngineProxy, exitWithin, instanceContainers, readyz, removeInstanceContainers, startServer, storedInstanceId, tempDir,
} from './lib/servers.mjs';

const DOCKER = process.env.MCP_E2E_DOCKER || 'docker';
// Marks /data/started once the program runs: the code arrives on stdin after the server's start call
// returned, so the marker proves the server is reading the program's output.
const SLEEPER = (seconds) => `import time\nopen("/data/started", "w").close()\nprint("started", flush=True)\ntime.sleep(${seconds})\nprint("done")`;
const instances = [];

function newInstance(label) {
  const id = `e2e-${label}-${randomBytes(4).toString('hex')}`;
  instances.push(id);
  return id;
}

after(async () => {
  for (const id of instances) await removeInstanceContainers(id);
});

/** Calls run_code and settles to { result } or { error } (a rejected call), never throws. */
function settle(promise) {
  return promise.then((result) => ({ result }), (error) => ({ error }));
}

const noneLeft = (instance, timeoutMs) => waitFor(async () => (await instanceContainers(instance)).length === 0, { timeoutMs });

/** True once a program under `sandboxRoot` wrote its /data/started marker. */
function markerWritten(sandboxRoot) {
  if (!existsSync(sandboxRoot)) return false;
  return readdirSync(sandboxRoot, { withFileTypes: true })
    .some((entry) => entry.isDirectory() && existsSync(join(sandboxRoot, entry.name, 'started')));
}

/**
 * Starts a run_code call of `code` and resolves once the program is running
 * (its /data/started marker exists). Returns { call } (settled: { result } or { error }).
 */
async function startRun(client, label, code, sandboxRoot) {
  const call = settle(callTool(client, 'run_code', { conversationId: conversationId(label), language: 'python', code, timeoutSeconds: 120 }));
  let ended = false;
  call.then(() => { ended = true; });
  const started = await waitFor(async () => ended || markerWritten(sandboxRoot), { timeoutMs: 30_000, intervalMs: 50 });
  assert.ok(started && !ended, `the run did not start, or ended first: ${JSON.stringify(ended ? await call : null)}`);
  return { call };
}

/** A server of its own whose engine is reached through a proxy the test can cut, and a client of it. */
async function startBehindProxy(label, instanceLabel) {
  const dir = tempDir(label);
  const proxy = new EngineProxy(join(dir.path, 'engine.sock'));
  await proxy.start();
  const instance = newInstance(instanceLabel);
  const server = await startServer({
    sandboxRoot: join(dir.path, 'sandboxes'),
    // No warm containers: these cases count the run's own container, which a started successor or
    // a container waiting for new conversations would join.
    env: { DOCKER_HOST: proxy.dockerHost, INSTANCE_ID: instance, ENGINE_TIMEOUT_SECONDS: '5', REAPER_INTERVAL_SECONDS: '1', WARM_MAX: '0' },
  });
  return { dir, proxy, instance, server, client: await connectStreamableV1(server.url) };
}

test('engine gone: /readyz is 503 within seconds, calls fail fast, and the server recovers when it is back', async () => {
  const { dir, proxy, server, client } = await startBehindProxy('engine-down', 'down');
  try {
    await proxy.stop();
    let started = Date.now();
    assert.equal(await readyz(server.url), 503);
    assert.ok(Date.now() - started < 5_000, `/readyz took ${Date.now() - started} ms`);

    started = Date.now();
    const down = await callTool(client, 'run_code', { conversationId: conversationId('down'), language: 'bash', code: 'echo hi' });
    assert.equal(down.isError, true);
    assert.match(textOf(down), /engine unavailable/);
    assert.ok(Date.now() - started < 10_000, `the failed call took ${Date.now() - started} ms`);

    await proxy.start();
    assert.ok(await waitFor(async () => (await readyz(server.url)) === 200, { timeoutMs: 10_000 }), 'ready again');
    const back = await callTool(client, 'run_code', { conversationId: conversationId('back'), language: 'bash', code: 'echo back' });
    assert.notEqual(back.isError, true, textOf(back));
    assert.equal(back.structuredContent.stdout, 'back\n');
  } finally {
    await client.close();
    server.process.kill('SIGTERM');
    const { code, signal } = await exitWithin(server, 20_000);
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    if (proxy.server) await proxy.stop();
    dir.remove();
  }
});

test('engine gone mid-run: the call says the run was interrupted; the reaper removes the container once it is back', async () => {
  const { dir, proxy, instance, server, client } = await startBehindProxy('engine-mid-run', 'midrun');
  try {
    const { call } = await startRun(client, 'mid', SLEEPER(60), join(dir.path, 'sandboxes'));
    const cut = Date.now();
    await proxy.stop();
    const { result, error } = await call;
    assert.equal(error, undefined, `${error}`);
    assert.equal(result.isError, true);
    assert.match(textOf(result), /run interrupted/);
    assert.ok(Date.now() - cut < 15_000, `reported ${Date.now() - cut} ms after the engine went away`);
    // The container outlived the run (its removal could not reach the engine): the reaper's job.
    assert.equal((await instanceContainers(instance)).length, 1);
    await proxy.start();
    assert.ok(await noneLeft(instance, 15_000), 'the reaper removed the orphan once the engine was back');
  } finally {
    await client.close();
    server.process.kill('SIGTERM');
    await exitWithin(server, 20_000);
    if (proxy.server) await proxy.stop();
    dir.remove();
  }
});

test('a run container removed from outside mid-run is reported as interrupted', async () => {
  const dir = tempDir('vanish');
  const instance = newInstance('vanish');
  const server = await startServer({ sandboxRoot: join(dir.path, 'sandboxes'), env: { INSTANCE_ID: instance } });
  const client = await connectStreamableV1(server.url);
  try {
    const { call } = await startRun(client, 'vanish', SLEEPER(60), join(dir.path, 'sandboxes'));
    await promisify(execFile)(DOCKER, ['rm', '-f', ...(await instanceContainers(instance))]);
    const { result, error } = await call;
    assert.equal(error, undefined, `${error}`);
    assert.equal(result.isError, true);
    assert.match(textOf(result), /run interrupted/);
  } finally {
    await client.close();
    server.process.kill('SIGTERM');
    await exitWithin(server, 20_000);
    dir.remove();
  }
  // The conversation's next (warm) container may exist while the server runs; after a clean stop nothing is left.
  assert.deepEqual(await instanceContainers(instance), []);
});

test('SIGTERM: a run that ends within the grace period is answered; the server exits 0', async () => {
  const dir = tempDir('sigterm-finish');
  const instance = newInstance('term-finish');
  const server = await startServer({ sandboxRoot: join(dir.path, 'sandboxes'), env: { INSTANCE_ID: instance, SHUTDOWN_GRACE_SECONDS: '30' } });
  const client = await connectStreamableV1(server.url);
  const { call } = await startRun(client, 'finish', SLEEPER(3), join(dir.path, 'sandboxes'));
  server.process.kill('SIGTERM');
  const { result, error } = await call;
  assert.equal(error, undefined, `${error}`);
  assert.notEqual(result.isError, true, textOf(result));
  assert.equal(result.structuredContent.stdout, 'started\ndone\n');
  const { code, signal } = await exitWithin(server, 20_000);
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, server.log());
  assert.deepEqual(await instanceContainers(instance), []);
  await client.close().catch(() => {});
  dir.remove();
});

test('SIGTERM: a run still going when the grace period ends is killed and removed; exit 0 in time', async () => {
  const dir = tempDir('sigterm-kill');
  const instance = newInstance('term-kill');
  const grace = 2;
  const server = await startServer({ sandboxRoot: join(dir.path, 'sandboxes'), env: { INSTANCE_ID: instance, SHUTDOWN_GRACE_SECONDS: String(grace) } });
  const client = await connectStreamableV1(server.url);
  const { call } = await startRun(client, 'kill', SLEEPER(120), join(dir.path, 'sandboxes'));
  server.process.kill('SIGTERM');
  const { code, signal, took } = await exitWithin(server, (grace + 20) * 1000);
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, server.log());
  assert.ok(took < (grace + 8) * 1000, `exited ${took} ms after SIGTERM (grace ${grace} s)`);
  assert.deepEqual(await instanceContainers(instance), []);
  const { result, error } = await call;
  // Either the call was answered with the interruption, or its stream closed with the server.
  if (result) {
    assert.equal(result.isError, true);
    assert.match(textOf(result), /shutting down/);
  } else {
    assert.ok(error);
  }
  await client.close().catch(() => {});
  dir.remove();
});

test('SIGKILL mid-run leaves the container; the next start on the same sandbox root reaps it', async () => {
  const dir = tempDir('sigkill');
  const sandboxRoot = join(dir.path, 'sandboxes');
  // No INSTANCE_ID: the id the server generates and keeps in the sandbox root must survive the restart.
  const first = await startServer({ sandboxRoot });
  const instance = storedInstanceId(sandboxRoot);
  instances.push(instance);
  const client = await connectStreamableV1(first.url);
  const { call } = await startRun(client, 'sigkill', SLEEPER(120), sandboxRoot);
  first.process.kill('SIGKILL');
  await first.exited;
  await call;
  // Its run container, and the warm ones it had started (the run's successor, one for new conversations).
  assert.ok((await instanceContainers(instance)).length >= 1, 'the killed server left its run container');

  const second = await startServer({ sandboxRoot });
  try {
    assert.equal(storedInstanceId(sandboxRoot), instance);
    assert.ok(await noneLeft(instance, 10_000), 'the restarted server reaped its predecessor\'s container');
    assert.match(second.log(), /reaper: removed [1-9][0-9]* orphaned run container/);
  } finally {
    second.process.kill('SIGTERM');
    const { code, signal } = await exitWithin(second, 20_000);
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    await client.close().catch(() => {});
    dir.remove();
  }
});
