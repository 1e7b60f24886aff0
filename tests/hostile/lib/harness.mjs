// What every hostile test file shares: one server per file, a bystander client
// with its own conversation, and `hostileCase`, which wraps each case in the
// four checks the suite exists for:
//   1. the caller gets a precise outcome (asserted by the case itself);
//   2. the server keeps answering another client meanwhile (tools/list in a
//      loop during the case, each answered within LATENCY_BOUND_MS);
//   3. the bystander conversation's files are intact afterwards (names, sizes,
//      SHA-256 of each download);
//   4. no container of ours is left (asked of the engine itself, by the
//      server's instance label and the case's sandbox directory).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { containersWith, runContainers, runLabels } from './engine.mjs';
import { sleep, startServer } from './server.mjs';

export const LATENCY_BOUND_MS = Number(process.env.HOSTILE_LATENCY_MS || 2500);
export const CALL_TIMEOUT_MS = 90_000;
const CONTAINER_GONE_MS = 20_000;

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function waitFor(probe, { timeoutMs, intervalMs = 200 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value || Date.now() >= deadline) return value;
    await sleep(intervalMs);
  }
}

export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
export const b64 = (data) => Buffer.from(data).toString('base64');

export function textOf(result) {
  return (result.content ?? []).filter((block) => block.type === 'text').map((block) => block.text).join('\n');
}

/** An official SDK (1.x) client over Streamable HTTP with the server's token. */
export async function connect(server, token = server.token) {
  const client = new Client({ name: 'mcp-sandbox-hostile', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', server.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

export function callTool(client, name, args, options = {}) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS, ...options });
}

/** The sandbox directory name and path of a signed download URL. */
export function parseFileUrl(url) {
  const parsed = new URL(url);
  const match = /^\/files\/([0-9a-f]{32})\/(.+)$/.exec(parsed.pathname);
  assert.ok(match, `not a /files/<sandbox>/<path> URL: ${url}`);
  return { url: parsed, sandbox: match[1], path: match[2], exp: parsed.searchParams.get('exp'), sig: parsed.searchParams.get('sig') };
}

/** One conversation (its own /data) used through one client. */
export class Conversation {
  constructor(client, label) {
    this.client = client;
    this.id = `hostile-${label.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60)}-${randomBytes(4).toString('hex')}`;
    this.sandbox = null;
  }

  /** Learns the sandbox directory's name (from an upload's URL, then deletes the upload). */
  async open() {
    const uploaded = this.succeeded(await this.call('upload_file', { filename: '.hostile-marker', content: b64('x') }));
    this.sandbox = parseFileUrl(uploaded.file.url).sandbox;
    this.succeeded(await this.call('delete_file', { path: '.hostile-marker' }));
    return this;
  }

  call(name, args = {}, options = {}) {
    return callTool(this.client, name, { conversationId: this.id, ...args }, options);
  }

  /** structuredContent of a call that must have succeeded. */
  succeeded(result) {
    assert.notEqual(result.isError, true, `tool call failed: ${textOf(result)}`);
    assert.ok(result.structuredContent, `no structuredContent in ${JSON.stringify(result).slice(0, 500)}`);
    return result.structuredContent;
  }

  /** The text of a call that must have failed as a tool error (isError: true). */
  failed(result) {
    assert.equal(result.isError, true, `expected a tool error, got: ${JSON.stringify(result).slice(0, 500)}`);
    return textOf(result);
  }

  /** run_code; resolves { result, run (structuredContent), text, ms (wall time of the call) }. */
  async run(language, code, extra = {}) {
    const started = Date.now();
    const result = await this.call('run_code', { language, code, ...extra });
    const ms = Date.now() - started;
    assert.ok(result.structuredContent, `run_code gave no structuredContent: ${textOf(result).slice(0, 1000)}`);
    return { result, run: result.structuredContent, text: textOf(result), ms };
  }

  async upload(filename, bytes) {
    return this.succeeded(await this.call('upload_file', { filename, content: b64(bytes) })).file;
  }

  async list(path) {
    return this.succeeded(await this.call('list_files', path === undefined ? {} : { path }));
  }
}

/** Asserts the fields of a run_code structuredContent that are given in `expected`, with stderr in the message. */
export function assertOutcome(run, expected) {
  for (const [field, value] of Object.entries(expected)) {
    assert.deepEqual(run[field], value, `${field}: expected ${JSON.stringify(value)}, got ${JSON.stringify(run[field])}` +
      ` (exit ${run.exitCode}, stderr: ${String(run.stderr).slice(0, 400)}, stdout: ${String(run.stdout).slice(0, 400)})`);
  }
}

/**
 * The other client: its own session and conversation with three files. While a case runs it
 * lists tools in a loop (and, when asked, runs a small program); after the case its files must
 * be exactly as uploaded.
 */
class Bystander {
  static async create(server) {
    const client = await connect(server);
    const conversation = await new Conversation(client, 'bystander').open();
    const files = new Map([
      ['notes.txt', Buffer.from('the bystander was here\n')],
      ['data/blob.bin', randomBytes(64 * 1024)],
      ['ünïcode näme.txt', Buffer.from('ünïcode\n')],
    ]);
    const digests = new Map();
    for (const [name, bytes] of files) {
      await conversation.upload(name, bytes);
      digests.set(name, { size: bytes.length, sha256: sha256(bytes) });
    }
    return new Bystander(client, conversation, digests);
  }

  constructor(client, conversation, digests) {
    this.client = client;
    this.conversation = conversation;
    this.digests = digests;
  }

  /** Starts watching; `stop()` resolves { calls, maxMs, errors, runs } once the loop has ended. */
  watch({ run = false } = {}) {
    const stats = { calls: 0, maxMs: 0, errors: [], runs: [] };
    let stopped = false;
    const loop = (async () => {
      while (!stopped || stats.calls === 0) {
        const started = Date.now();
        try {
          const { tools } = await this.client.listTools(undefined, { timeout: 30_000 });
          if (tools.length !== 6) stats.errors.push(`tools/list gave ${tools.length} tools`);
        } catch (error) {
          stats.errors.push(`tools/list: ${error.message}`);
        }
        stats.maxMs = Math.max(stats.maxMs, Date.now() - started);
        stats.calls += 1;
        await sleep(100);
      }
    })();
    const runs = run ? (async () => {
      await sleep(300);
      const { run: outcome } = await this.conversation.run('bash', 'echo "bystander $((6 * 7))"');
      stats.runs.push(outcome);
    })().catch((error) => stats.errors.push(`bystander run: ${error.message}`)) : Promise.resolve();
    return {
      stop: async () => {
        stopped = true;
        await Promise.all([loop, runs]);
        return stats;
      },
    };
  }

  /** Asserts the conversation holds exactly the uploaded files, each download byte-identical. */
  async verify() {
    const listing = await this.conversation.list();
    const names = listing.files.map((f) => f.name).sort();
    assert.deepEqual(names, [...this.digests.keys()].sort(), 'the bystander conversation holds exactly its own files');
    for (const file of listing.files) {
      const expected = this.digests.get(file.name);
      assert.equal(file.size, expected.size, `bystander ${file.name}: size`);
      const response = await fetch(file.url);
      assert.equal(response.status, 200, `bystander ${file.name}: download`);
      assert.equal(sha256(Buffer.from(await response.arrayBuffer())), expected.sha256, `bystander ${file.name}: content`);
    }
  }

  async close() {
    await this.client.close();
  }
}

/**
 * A run that sleeps while the engine is asked for containers in its sandbox: proves the run
 * containers carry the kind/instance/conversation labels and learns this server's instance id.
 */
async function discoverInstance(client) {
  const conversation = await new Conversation(client, 'instance-probe').open();
  const pending = conversation.run('bash', 'sleep 4; echo probed');
  let seen = null;
  const deadline = Date.now() + 30_000;
  let settled = false;
  pending.finally(() => { settled = true; }).catch(() => {});
  while (!seen && !settled && Date.now() < deadline) {
    const found = await containersWith([`${runLabels.kind}=run`, `${runLabels.conversation}=${conversation.sandbox}`]);
    if (found.length > 0) seen = found[0];
    else await sleep(100);
  }
  const { run } = await pending;
  assertOutcome(run, { exitCode: 0, stdout: 'probed\n' });
  assert.ok(seen, 'the probe run container was seen by the engine while it ran');
  const instance = seen.labels[runLabels.instance];
  assert.match(instance ?? '', /\S/, `run containers carry ${runLabels.instance}: ${JSON.stringify(seen.labels)}`);
  return instance;
}

/** Asserts that, within a bounded wait, no container of `instance` (in `sandbox`, when given) exists. */
export async function assertNoContainersLeft(instance, sandbox, timeoutMs = CONTAINER_GONE_MS) {
  const gone = await waitFor(async () => (await runContainers(instance, sandbox)).length === 0, { timeoutMs, intervalMs: 250 });
  if (!gone) {
    const left = await runContainers(instance, sandbox);
    assert.fail(`containers of ours still exist ${timeoutMs} ms after the case: ` +
      JSON.stringify(left.map((c) => ({ id: c.id.slice(0, 12), state: c.state }))));
  }
}

/**
 * Declares the file's server (started before the first test, stopped after the last) and returns
 * the shared state: { server, client, bystander, instance } filled in by the before() hook.
 */
/** The bound on a hostile server's peak resident memory (VmHWM), MiB. */
export const PEAK_BOUND_MIB = 64;

/** A process's peak resident memory in MiB, or null once it is gone. */
export function peakMemoryMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)[1]) / 1024;
  } catch {
    return null;
  }
}

export function useHostileServer(name, options = {}) {
  const suite = { server: null, client: null, bystander: null, instance: null };
  before(async () => {
    suite.server = await startServer(name, options);
    suite.client = await connect(suite.server);
    suite.instance = await discoverInstance(suite.client);
    suite.server.recordInstance(suite.instance);
    suite.bystander = await Bystander.create(suite.server);
  }, { timeout: 90_000 });
  after(async () => {
    await suite.bystander?.close().catch(() => {});
    await suite.client?.close().catch(() => {});
    if (!suite.server) return;
    // docs/limits.md: with the defaults the server's peak memory stays well inside this through
    // everything a hostile file does to it.
    const peak = peakMemoryMiB(suite.server.pid);
    assert.ok(peak === null || peak < PEAK_BOUND_MIB, `the ${name} server's peak RSS was ${peak} MiB (bound ${PEAK_BOUND_MIB})`);
    const stopped = await suite.server.stop('SIGTERM');
    assert.ok(stopped, `the ${name} server did not stop within 15 s of SIGTERM:\n${suite.server.logTail()}`);
    assert.deepEqual(stopped, { code: 0, signal: null }, `the ${name} server's exit:\n${suite.server.logTail()}`);
    if (suite.instance) await assertNoContainersLeft(suite.instance);
  }, { timeout: 60_000 });
  return suite;
}

/**
 * One hostile case: `body(conversation, t)` gets a fresh, opened conversation on the file's
 * server and asserts the caller's outcome; this wrapper adds the bystander, file and container
 * checks. `bystanderRun`: the bystander also runs a program during the case.
 */
export function hostileCase(suite, name, body, { timeoutMs = 120_000, bystanderRun = false, skip } = {}) {
  test(name, { timeout: timeoutMs, skip }, async (t) => {
    const conversation = await new Conversation(suite.client, name).open();
    const watch = suite.bystander.watch({ run: bystanderRun });
    let failure = null;
    try {
      await body(conversation, t);
    } catch (error) {
      failure = error;
    }
    const stats = await watch.stop();
    if (failure) throw failure;
    assert.deepEqual(stats.errors, [], 'the bystander client was answered throughout');
    assert.ok(stats.maxMs < LATENCY_BOUND_MS,
      `the bystander's slowest tools/list took ${stats.maxMs} ms (bound ${LATENCY_BOUND_MS} ms, ${stats.calls} calls)`);
    for (const run of stats.runs) assertOutcome(run, { exitCode: 0, stdout: 'bystander 42\n', timedOut: false });
    await assertNoContainersLeft(suite.instance, conversation.sandbox);
    await suite.bystander.verify();
  });
}
