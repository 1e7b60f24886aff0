// The MCP end-to-end flow under gVisor (RUNNER_RUNTIME=runsc), started by
// tests/gvisor/run.sh against its own disposable engine: every default
// language, warm containers, the disk quota, progress, cancellation, the
// deadline and out-of-memory, each as under runc, and the documented
// differences (docs/limits.md, "Under gVisor"), each asserted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  BASE_URL, HELLO, LANGUAGES, assertRun, authHeaders, callTool, checkCancellation, connectStreamableV1, conversationId,
  succeeded, waitFor,
} from '../e2e/lib/harness.mjs';

const QUOTA_MB = Number(process.env.MCP_GVISOR_QUOTA_MB);

/** The outcome of a run that must have been reported as a tool error. */
function failed(result) {
  assert.equal(result.isError, true, `expected a tool error, got: ${JSON.stringify(result.structuredContent)}`);
  assert.ok(result.structuredContent, 'a failed run still has its outcome');
  return result.structuredContent;
}

/** The value of one Prometheus sample (`labels` empty: one without labels), 0 when absent. */
async function metric(name, labels = '') {
  const response = await fetch(new URL('/metrics', BASE_URL), { headers: authHeaders() });
  assert.equal(response.status, 200);
  const text = await response.text();
  const starts = labels ? [`${name}{${labels}}`, `${name}{${labels},`] : [`${name} `];
  const line = text.split('\n').find((l) => starts.some((start) => l.startsWith(start)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('MCP under gVisor (runsc)', () => {
  let client;
  let programGets;
  before(async () => {
    client = await connectStreamableV1();
  });
  after(async () => {
    await client?.close();
  });
  const call = (name, args, options) => callTool(client, name, args, options);

  test('list_runners names the runtime and what a program gets of the limits under it', async () => {
    const { limits } = succeeded(await call('list_runners', {}));
    assert.equal(limits.runtime, 'runsc');
    assert.ok(limits.runtimeShare, 'gVisor\'s share of the limits is stated');
    assert.equal(limits.programGets.memoryMb, limits.memoryMb - limits.runtimeShare.memoryMb);
    assert.ok(limits.programGets.threads >= 4, `a program gets ${limits.programGets.threads} threads`);
    programGets = limits.programGets;
  });

  // Documented difference: gVisor's threads count against RUN_PIDS_LIMIT.
  test('a program gets the threads list_runners states; far more fails the run, not the host', async () => {
    // The count includes the runner's own processes (its shell, the command
    // substitutions below): leave them room.
    const within = Math.max(1, programGets.threads - 6);
    const fits = await call('run_code', { conversationId: conversationId('gvisor-pids'), language: 'bash',
      code: `for i in $(seq ${within}); do sleep 5 & done; echo "$(jobs -r | wc -l) running"; kill $(jobs -p)` });
    assertRun(fits, { stdout: `${within} running\n` });
    const beyond = failed(await call('run_code', { conversationId: conversationId('gvisor-pids-over'), language: 'bash',
      code: `for i in $(seq ${programGets.threads * 3}); do sleep 5 & done; wait; echo all ran` }));
    assert.notEqual(beyond.exitCode, 0);
    assert.equal(beyond.timedOut, false);
    assert.notEqual(beyond.stdout, 'all ran\n');
  });

  // Documented difference: gVisor's kernel is charged to RUN_MEMORY_MB.
  test('a program can use the memory list_runners states', async () => {
    const mib = programGets.memoryMb - 48;
    const run = await call('run_code', { conversationId: conversationId('gvisor-memory'), language: 'python',
      code: `b = bytearray(${mib} * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint(len(b) >> 20)` });
    assertRun(run, { stdout: `${mib}\n` });
  });

  for (const language of LANGUAGES) {
    test(`${language} runs with the default limits`, async () => {
      const { code, stdout } = HELLO[language];
      assertRun(await call('run_code', { conversationId: conversationId(`gvisor-${language}`), language, code, stdin: 'from stdin\n' }),
        { language, stdout });
    });
  }

  test('a conversation\'s next run is served by a warm container', async () => {
    const id = conversationId('gvisor-warm');
    const idle = await metric('mcp_sandbox_warm_containers_idle');
    assertRun(await call('run_code', { conversationId: id, language: 'python', code: 'print(1)' }), { stdout: '1\n' });
    // As after an assistant's thinking: its next container has started. A call sent at once can
    // find that start still queued behind others, and then starts cold (docs/performance.md).
    assert.ok(await waitFor(async () => (await metric('mcp_sandbox_warm_containers_idle')) > idle, { timeoutMs: 20_000 }),
      'the conversation\'s next container never became ready');
    const hits = await metric('mcp_sandbox_warm_claims_total', 'result="hit"');
    assertRun(await call('run_code', { conversationId: id, language: 'python', code: 'print(2)' }), { stdout: '2\n' });
    assert.equal(await metric('mcp_sandbox_warm_claims_total', 'result="hit"'), hits + 1);
  });

  test('the conversation\'s disk quota holds: writing past it fails with ENOSPC', async () => {
    const code = `import os\ntry:\n    with open("/data/big", "wb") as f:\n        for _ in range(${QUOTA_MB * 2}):\n            f.write(b"x" * 1048576)\n            f.flush()\n            os.fsync(f.fileno())\n    print("wrote it all")\nexcept OSError as e:\n    print("errno", e.errno)`;
    const run = assertRun(await call('run_code', { conversationId: conversationId('gvisor-quota'), language: 'python', code }), { stdout: 'errno 28\n' });
    assert.equal(run.exitCode, 0);
  });

  test('progress notifications arrive while a 3 s run runs', async () => {
    let first;
    const result = await call('run_code', { conversationId: conversationId('gvisor-progress'), language: 'python', code: 'import time\ntime.sleep(3)\nprint("slept")' },
      { onprogress: () => { first ??= Date.now(); } });
    const answered = Date.now();
    assertRun(result, { stdout: 'slept\n' });
    assert.ok(first !== undefined, 'at least one progress notification');
    assert.ok(answered - first >= 1500, `the first progress came ${answered - first} ms before the result`);
  });

  test('aborting a run cancels it and removes its container', async () => {
    await checkCancellation(call, conversationId('gvisor-cancel'));
  });

  test('a run past its deadline is killed and reported as timed out', async () => {
    const started = Date.now();
    const run = failed(await call('run_code', { conversationId: conversationId('gvisor-timeout'), language: 'bash', code: 'echo begun; while :; do :; done', timeoutSeconds: 2 }));
    assert.equal(run.timedOut, true);
    assert.equal(run.exitCode, 137);
    assert.equal(run.stdout, 'begun\n');
    assert.ok(Date.now() - started < 15_000, 'killed near its deadline');
  });

  test('a program over the memory limit is reported as out of memory', async () => {
    const code = 'chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))';
    const run = failed(await call('run_code', { conversationId: conversationId('gvisor-oom'), language: 'python', code }));
    assert.equal(run.oomKilled, true, `exit ${run.exitCode}, stderr: ${run.stderr}`);
    assert.equal(run.exitCode, 137);
    assert.equal(run.timedOut, false);
  });
});
