// Starts and stops mcp-sandbox servers for the hostile suite: each on a free
// loopback port, with a fresh sandbox root, token and FILE_SECRET, its log in
// the suite's work directory. Every pid and instance id is also written to
// $MCP_HOSTILE_WORK/servers.txt so that run.sh can stop and clean up after a
// test process that died without doing so itself.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the hostile suite through tests/hostile/run.sh`);
  return value;
}

export const BIN = required('MCP_HOSTILE_BIN');
export const WORK = process.env.MCP_HOSTILE_WORK || mkdtempSync(join(tmpdir(), 'mcp-hostile-'));
const REGISTRY = join(WORK, 'servers.txt');

/** Settings every hostile server gets unless a test overrides them: short limits keep the suite fast. */
export const HOSTILE_SETTINGS = {
  RUN_TIMEOUT_SECONDS: '20',   // the cap; runaway cases ask for 3 s themselves
  RUN_OUTPUT_BYTES: '65536',
  MAX_BODY_BYTES: '1048576',
  LOG_LEVEL: 'info',
  // Warm containers are ours and legitimately outlive a run; "nothing of ours left after the case"
  // can only be asserted without them (the warm pool has its own tests).
  WARM_MAX: '0',
  // The suite's own traffic must not trip the limits it does not test; the capacity cases set their own.
  RATE_LIMIT_CALLS_PER_MINUTE: '0',
  HTTP_MAX_CONNECTIONS_PER_PEER: '0',
  SANDBOX_QUOTA_FILES: '150000',
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once the process exits (or at once when it already has); false after `timeoutMs`. */
function exited(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

const live = new Set();
// A test process that ends without its after() hooks must not leave a server behind.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export class ServerHandle {
  constructor({ name, settings, args }) {
    this.name = name;
    this.dir = mkdtempSync(join(WORK, `${name}-`));
    this.root = join(this.dir, 'sandboxes');
    mkdirSync(this.root);
    this.logPath = join(this.dir, 'server.log');
    this.token = randomBytes(32).toString('hex');
    this.fileSecret = randomBytes(32).toString('hex');
    this.settings = { ...HOSTILE_SETTINGS, ...settings };
    this.args = args;
    this.child = null;
    this.instance = null;
  }

  get url() { return `http://127.0.0.1:${this.port}`; }
  get pid() { return this.child?.pid; }

  /** Starts the process (again, after stop or kill: same root, secrets and port) and waits until /readyz is 200. */
  async start() {
    this.port ??= await freePort();
    const log = openSync(this.logPath, 'a');
    this.child = spawn(BIN, ['serve', '--http-addr', `127.0.0.1:${this.port}`, '--sandbox-root', this.root,
      '--public-base-url', this.url, ...this.args], {
      env: { ...process.env, ...this.settings, MCP_API_TOKEN: this.token, FILE_SECRET: this.fileSecret },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    live.add(this.child);
    const child = this.child;
    child.once('exit', () => live.delete(child));
    appendFileSync(REGISTRY, `pid ${child.pid}\n`);
    await this.#waitReady(child);
    return this;
  }

  async #waitReady(child) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the ${this.name} server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${this.logTail()}`);
      }
      try {
        const ready = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
        const text = await ready.text();
        if (ready.status === 200) return;
        if (Date.now() > deadline) throw new Error(`the ${this.name} server is not ready: ${ready.status} ${text}`);
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`the ${this.name} server did not answer within 30 s: ${error.message}\n${this.logTail()}`);
      }
      await sleep(100);
    }
  }

  /** Remembers the instance label of this server's containers, for run.sh's last check. */
  recordInstance(instance) {
    this.instance = instance;
    appendFileSync(REGISTRY, `instance ${instance}\n`);
  }

  /** Sends `signal` and waits up to `timeoutMs` for the exit; resolves { code, signal } or null when still running. */
  async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
    const child = this.child;
    if (!child) return { code: null, signal: null };
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    if (!(await exited(child, timeoutMs))) return null;
    return { code: child.exitCode, signal: child.signalCode };
  }

  /** Mount points under this server's sandbox root (conversation quota volumes), from /proc/self/mountinfo. */
  mountsUnder() {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((line) => line.split(' ')[4])
      .filter((point) => point?.startsWith(`${this.root}/`));
  }

  /** The last lines of the server's log, for failure messages. */
  logTail(lines = 40) {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  log() {
    return readFileSync(this.logPath, 'utf8');
  }
}

/** A started server; `settings` are environment variables (over HOSTILE_SETTINGS), `args` extra serve flags. */
export async function startServer(name, { settings = {}, args = [] } = {}) {
  return new ServerHandle({ name, settings, args }).start();
}

/** Resident memory of a process in KiB (VmRSS), or null when it is gone. */
export function residentKiB(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

export { sleep };
