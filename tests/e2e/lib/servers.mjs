// Servers a test starts and stops itself (for signals and engine faults), and
// a proxy in front of the engine's socket that a test can cut and restore
// without ever touching the shared engine.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, existsSync, unlinkSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { TOKEN, waitFor } from './harness.mjs';

const BIN = process.env.MCP_E2E_BIN;
const DOCKER = process.env.MCP_E2E_DOCKER || 'docker';
const ENGINE_SOCKET = (process.env.MCP_E2E_ENGINE_HOST || 'unix:///var/run/docker.sock').replace(/^unix:\/\//, '');

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(label) {
  const path = mkdtempSync(join(tmpdir(), `mcp-e2e-${label}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A unix-socket proxy to the engine. stop() closes the listener and every
 * connection (the server sees the engine vanish); start() brings it back on
 * the same path. Half-closes are forwarded, as the attach stream needs them.
 */
export class EngineProxy {
  constructor(path) {
    this.path = path;
    this.connections = new Set();
    this.server = null;
  }

  get dockerHost() { return `unix://${this.path}`; }

  async start() {
    if (existsSync(this.path)) unlinkSync(this.path);
    this.server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ path: ENGINE_SOCKET, allowHalfOpen: true });
      for (const socket of [client, upstream]) {
        this.connections.add(socket);
        socket.on('error', () => { client.destroy(); upstream.destroy(); });
        socket.on('close', () => this.connections.delete(socket));
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise((resolve, reject) => this.server.once('error', reject).listen(this.path, resolve));
  }

  async stop() {
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const socket of this.connections) socket.destroy();
    await closed;
    this.server = null;
  }
}

function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts `mcp-sandbox serve` on a free port with `env` added (DOCKER_HOST,
 * INSTANCE_ID, ...), waits until /readyz says ready and resolves to
 * { url, process, exited (a promise of { code, signal }), log() }.
 */
export async function startServer({ sandboxRoot, env = {}, args = [] }) {
  assert.ok(BIN, 'MCP_E2E_BIN is not set: run the e2e tests through tests/e2e/run.sh');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child = spawn(BIN, ['serve', '--http-addr', `127.0.0.1:${port}`, '--sandbox-root', sandboxRoot,
    '--public-base-url', url, ...args], {
    // Quota volumes are not what these servers test: plain directories leave no
    // mounts behind a SIGKILL and let a test see a run's /data directly.
    env: {
      ...process.env, MCP_API_TOKEN: TOKEN, FILE_SECRET: randomBytes(32).toString('hex'), LOG_LEVEL: 'info',
      SANDBOX_QUOTA_MB: '0', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = await waitFor(async () => (await readyz(url).catch(() => 0)) === 200 || child.exitCode !== null,
    { timeoutMs: 30_000 });
  assert.ok(ready && child.exitCode === null, `the server did not become ready:\n${output}`);
  return { url, process: child, exited, log: () => output };
}

/**
 * Waits up to `ms` for the server to exit; resolves to { code, signal, took }.
 * A server still running then is SIGKILLed and the assertion shows its log.
 */
export async function exitWithin(server, ms) {
  const started = Date.now();
  let timer;
  const outcome = await Promise.race([server.exited, new Promise((resolve) => { timer = setTimeout(resolve, ms, null); })]);
  clearTimeout(timer);
  if (outcome === null) {
    if (process.env.MCP_E2E_STACKS) {
      const { execFileSync } = await import('node:child_process');
      try { process.stderr.write(execFileSync('gdb', ['-p', String(server.process.pid), '-batch', '-ex', 'thread apply all bt 8'], { encoding: 'utf8' })); } catch (e) { process.stderr.write(String(e)); }
    }
    server.process.kill('SIGKILL');
    await server.exited;
    assert.fail(`the server did not exit within ${ms} ms:\n${server.log()}`);
  }
  return { ...outcome, took: Date.now() - started };
}

/** The HTTP status of /readyz (rejects when nothing answers). */
export async function readyz(url, timeoutMs = 10_000) {
  const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  return response.status;
}

/** IDs of every container (any state) labelled with `instance`. */
export async function instanceContainers(instance) {
  const { stdout } = await promisify(execFile)(DOCKER, ['ps', '-aq', '--filter', `label=io.mcp-sandbox.instance=${instance}`]);
  return stdout.split('\n').filter(Boolean);
}

/** Removes what a failed test left of `instance` (only that instance's containers). */
export async function removeInstanceContainers(instance) {
  const ids = await instanceContainers(instance);
  if (ids.length > 0) await promisify(execFile)(DOCKER, ['rm', '-f', ...ids]);
}

/** The instance id a server keeps in its sandbox root. */
export function storedInstanceId(sandboxRoot) {
  return readFileSync(join(sandboxRoot, '.instance-id'), 'utf8').trim();
}
