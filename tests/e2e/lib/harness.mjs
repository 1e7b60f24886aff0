// What every e2e test file shares: where the servers are (from run.sh), the
// three kinds of official client, and small readers for tool results.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as SSEClientTransportV1 } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableHTTPClientTransportV2 } from '@modelcontextprotocol/client';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the e2e tests through tests/e2e/run.sh`);
  return value;
}

export const BASE_URL = required('MCP_E2E_URL');
export const SHORT_TTL_URL = required('MCP_E2E_SHORT_TTL_URL');
export const TOKEN = required('MCP_E2E_TOKEN');
const DOCKER = process.env.MCP_E2E_DOCKER || 'docker';

export const TOOL_NAMES = ['delete_file', 'list_files', 'list_runners', 'read_file', 'run_code', 'upload_file'];
export const LANGUAGES = ['python', 'typescript', 'javascript', 'bash'];
export const MODERN_VERSION = '2026-07-28';

// Runs take a container start each; on a busy 2-core machine give them room.
export const CALL_TIMEOUT_MS = 90_000;

export function authHeaders(token = TOKEN) {
  return { Authorization: `Bearer ${token}` };
}

/** A conversation id no other test (or earlier run) uses. */
export function conversationId(label) {
  return `e2e-${label}-${randomBytes(6).toString('hex')}`;
}

const clientInfo = { name: 'mcp-sandbox-e2e', version: '1.0.0' };

/** SDK 1.x over Streamable HTTP (a 2025 revision with a session). */
export async function connectStreamableV1(baseUrl = BASE_URL, token = TOKEN) {
  const client = new ClientV1(clientInfo);
  const transport = new StreamableHTTPClientTransportV1(new URL('/mcp', baseUrl), {
    requestInit: { headers: authHeaders(token) },
  });
  await client.connect(transport);
  return client;
}

/** SDK 1.x over the legacy HTTP+SSE transport (2024-11-05): GET `path`, POST /messages. */
export async function connectLegacySseV1(path = '/sse', baseUrl = BASE_URL) {
  const client = new ClientV1(clientInfo);
  // In 1.x the transport adds requestInit.headers to the GET that opens the stream as well as to the POSTs.
  const transport = new SSEClientTransportV1(new URL(path, baseUrl), {
    requestInit: { headers: authHeaders() },
  });
  await client.connect(transport);
  return client;
}

/**
 * @modelcontextprotocol/client 2.x. `negotiation` is its ClientOptions.versionNegotiation.mode:
 * `{ pin: '2026-07-28' }` (stateless revision only, no fallback) or `'auto'` (server/discover probe,
 * falling back to initialize).
 */
export async function connectV2(mode, baseUrl = BASE_URL) {
  const client = new ClientV2(clientInfo, { versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransportV2(new URL('/mcp', baseUrl), {
    requestInit: { headers: authHeaders() },
  });
  await client.connect(transport);
  return client;
}

/** Calls a tool with the generous timeout runs need; `options` are the SDK's RequestOptions. */
export function callTool(client, name, args, options = {}) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: CALL_TIMEOUT_MS, ...options });
}

/** Same for the 2.x client, whose callTool takes (params, options). */
export function callToolV2(client, name, args, options = {}) {
  return client.callTool({ name, arguments: args }, { timeout: CALL_TIMEOUT_MS, ...options });
}

export function textOf(result) {
  return (result.content ?? []).filter((block) => block.type === 'text').map((block) => block.text).join('\n');
}

/** structuredContent of a result that must have succeeded; the message shows what came back if not. */
export function succeeded(result) {
  assert.notEqual(result.isError, true, `tool call failed: ${textOf(result)}`);
  assert.ok(result.structuredContent, `no structuredContent in ${JSON.stringify(result)}`);
  return result.structuredContent;
}

/** Asserts one run_code result came from a clean exit with exactly this stdout. */
export function assertRun(result, { language, stdout }) {
  const run = succeeded(result);
  assert.equal(run.exitCode, 0, `exit ${run.exitCode}, stderr: ${run.stderr}`);
  assert.equal(run.timedOut, false);
  assert.equal(run.oomKilled, false);
  assert.equal(run.stdout, stdout, `stderr: ${run.stderr}`);
  if (language) assert.equal(run.language, language);
  assert.equal(typeof run.conversationId, 'string');
  assert.equal(typeof run.durationMs, 'number');
  assert.ok(Array.isArray(run.files));
  return run;
}

/** A small program per language that prints `<language> 42` and echoes one stdin line. */
export const HELLO = {
  python: { code: 'import sys\nprint("python", 6 * 7)\nprint(sys.stdin.readline().strip())', stdout: 'python 42\nfrom stdin\n' },
  typescript: {
    code: 'import { readFileSync } from "node:fs";\nconst n: number = 6 * 7;\nconsole.log(`typescript ${n}`);\nconst line: string = readFileSync(0, "utf8");\nconsole.log(line.trim());',
    stdout: 'typescript 42\nfrom stdin\n',
  },
  javascript: {
    code: 'console.log(`javascript ${[6, 7].reduce((a, b) => a * b)}`);\nconsole.log(require("fs").readFileSync(0, "utf8").trim());',
    stdout: 'javascript 42\nfrom stdin\n',
  },
  bash: { code: 'echo "bash $((6 * 7))"\nread -r line\necho "$line"', stdout: 'bash 42\nfrom stdin\n' },
};

/** Polls `probe` until it returns a truthy value or the deadline passes; returns the last value. */
export async function waitFor(probe, { timeoutMs, intervalMs = 200 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** IDs of the run containers of one sandbox (the `io.mcp-sandbox.conversation` label). */
export async function runContainers(sandboxName) {
  const { stdout } = await promisify(execFile)(DOCKER, [
    'ps', '-q', '--filter', 'label=io.mcp-sandbox.kind=run', '--filter', `label=io.mcp-sandbox.conversation=${sandboxName}`,
  ]);
  return stdout.split('\n').filter(Boolean);
}

/** The sandbox directory name and file path of a signed download URL. */
export function parseFileUrl(url) {
  const parsed = new URL(url);
  const match = /^\/files\/([0-9a-f]+)\/(.+)$/.exec(parsed.pathname);
  assert.ok(match, `not a /files/<sandbox>/<path> URL: ${url}`);
  return { url: parsed, sandbox: match[1], path: match[2], exp: parsed.searchParams.get('exp'), sig: parsed.searchParams.get('sig') };
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A JSON-RPC initialize body for raw requests. */
export function initializeBody(id = 1) {
  return {
    jsonrpc: '2.0', id, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo },
  };
}

const SLEEP_LONG = 'import time\nprint("started", flush=True)\ntime.sleep(25)\nprint("not cancelled")';

/**
 * Starts a 25 s run with `call(name, args, options)` (`requestOptions` may add e.g. onprogress),
 * aborts it through an AbortSignal as soon as its container runs, and checks that the call
 * rejects, the container goes away and the next call in the same conversation works.
 */
export async function checkCancellation(call, id, requestOptions = {}) {
  const uploaded = succeeded(await call('upload_file', { conversationId: id, filename: 'marker.txt', content: Buffer.from('x').toString('base64') }));
  const { sandbox } = parseFileUrl(uploaded.file.url);
  const controller = new AbortController();
  const started = Date.now();
  const pending = call('run_code', { conversationId: id, language: 'python', code: SLEEP_LONG, timeoutSeconds: 30 }, { ...requestOptions, signal: controller.signal });
  pending.catch(() => {});  // observed below; keeps an early rejection from being reported as unhandled
  const running = await waitFor(async () => (await runContainers(sandbox)).length > 0, { timeoutMs: 20_000 });
  controller.abort(new Error('the test cancels the run'));
  assert.ok(running, 'the run container was seen running before the test cancelled');
  await assert.rejects(pending, (error) => /abort|cancel/i.test(`${error?.name} ${error?.message} ${error}`), 'the call rejects as aborted');
  assert.ok(Date.now() - started < 20_000, 'aborted long before the program would end');
  const gone = await waitFor(async () => (await runContainers(sandbox)).length === 0, { timeoutMs: 10_000 });
  assert.ok(gone, `the run container is gone within 10 s of the cancellation: ${await runContainers(sandbox)}`);
  assertRun(await call('run_code', { conversationId: id, language: 'bash', code: HELLO.bash.code, stdin: 'from stdin\n' }), { stdout: HELLO.bash.stdout });
}

/**
 * Invalid arguments of a known tool are a tool execution error (isError: true, a message the model
 * can act on) since revision 2025-11-25 (SEP-1303); an unknown tool stays a JSON-RPC -32602 error.
 */
export async function checkArgumentErrors(call) {
  const cases = [
    [{ language: 'python' }, /code/],
    [{ language: 'python', code: 42 }, /code/],
    [{ language: 'python', code: 'print(1)', timeoutSeconds: 'soon' }, /timeoutSeconds/],
  ];
  for (const [args, mentions] of cases) {
    let result;
    try {
      result = await call('run_code', { conversationId: conversationId('badargs'), ...args });
    } catch (error) {
      assert.fail(`run_code ${JSON.stringify(args)} was answered with JSON-RPC error ${error?.code} (${error?.message}); ` +
        'since revision 2025-11-25 (SEP-1303) input validation errors are tool results with isError: true');
    }
    assert.equal(result.isError, true, `run_code ${JSON.stringify(args)}: isError`);
    assert.match(textOf(result), mentions, `run_code ${JSON.stringify(args)}: the message names the argument`);
  }
  await assert.rejects(call('no_such_tool', {}), (error) => error?.code === -32602, 'an unknown tool is -32602');
}
