// Runaway programs: each one is contained by a limit, and the caller is told
// exactly which one (timedOut, oomKilled, truncated, the exit code, the text).
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { assertOutcome, hostileCase, useHostileServer } from './lib/harness.mjs';
import { residentKiB } from './lib/server.mjs';

const suite = useHostileServer('programs');
const OUTPUT_CAP = 65536;     // RUN_OUTPUT_BYTES of the hostile servers (lib/server.mjs)
const SHORT = 3;              // timeoutSeconds the runaway cases ask for
const KILL_SLACK_MS = 12_000; // past the deadline: kill, wait, inspect and remove on a busy 2-core machine

/** A run that had to be stopped at its deadline: killed (137), reported as such and not as OOM. */
function assertTimedOut({ run, text, ms }) {
  assertOutcome(run, { timedOut: true, oomKilled: false, exitCode: 137 });
  assert.match(text, new RegExp(`killed after ${SHORT} s`));
  assert.ok(run.durationMs >= SHORT * 1000 && ms < SHORT * 1000 + KILL_SLACK_MS, `run ${run.durationMs} ms, call ${ms} ms`);
}

describe('time', { concurrency: 3 }, () => {
  hostileCase(suite, 'a busy loop is killed at its deadline', async (c) => {
    const outcome = await c.run('python', 'print("spinning", flush=True)\nwhile True:\n    pass', { timeoutSeconds: SHORT });
    assertTimedOut(outcome);
    assert.equal(outcome.run.stdout, 'spinning\n', 'output printed before the kill is kept');
  }, { bystanderRun: true });

  hostileCase(suite, 'sleeping forever while ignoring SIGTERM, SIGINT and SIGHUP is killed at its deadline', async (c) => {
    const outcome = await c.run('bash', "trap '' TERM INT HUP\necho sleeping\nsleep infinity", { timeoutSeconds: SHORT });
    assertTimedOut(outcome);
    assert.equal(outcome.run.stdout, 'sleeping\n');
  });

  hostileCase(suite, 'a detached child outliving its parent ends with the parent', async (c) => {
    // One child detached with its output closed, one (double-forked, new session) still holding stdout.
    const { run, ms } = await c.run('bash', [
      'setsid nohup sleep 600 >/dev/null 2>&1 </dev/null &',
      'disown',
      '( setsid sleep 600 & )',
      'echo parent-exits',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, timedOut: false, oomKilled: false, stdout: 'parent-exits\n', stderr: '' });
    assert.ok(ms < 15_000, `the call ended when the parent did, not at the 20 s cap (${ms} ms)`);
  });
});

describe('processes and memory', { concurrency: 3 }, () => {
  hostileCase(suite, 'a fork bomb stops at the process limit (EAGAIN), and the run ends normally', async (c) => {
    const { run } = await c.run('python', [
      'import os, time',
      'n = 0',
      'try:',
      '    while True:',
      '        if os.fork() == 0:',
      '            time.sleep(60)',
      '            os._exit(0)',
      '        n += 1',
      'except OSError as e:',
      '    print(f"fork refused after {n} children: errno {e.errno}")',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, timedOut: false, oomKilled: false });
    const match = /^fork refused after (\d+) children: errno 11\n$/.exec(run.stdout);
    assert.ok(match, `stdout: ${run.stdout}`);
    assert.ok(Number(match[1]) < 128, `at most RUN_PIDS_LIMIT (128) processes: ${match[1]} children`);
  }, { bystanderRun: true });

  hostileCase(suite, 'the classic shell fork bomb is contained and killed at its deadline', async (c) => {
    const outcome = await c.run('bash', 'bomb() { bomb | bomb & }\nbomb\nsleep 60', { timeoutSeconds: SHORT });
    assertTimedOut(outcome);
  }, { bystanderRun: true });

  hostileCase(suite, 'a thread bomb stops at the process limit', async (c) => {
    const { run } = await c.run('python', [
      'import threading',
      'n = 0',
      'hold = threading.Event()',
      'try:',
      '    while True:',
      '        threading.Thread(target=hold.wait, daemon=True).start()',
      '        n += 1',
      'except RuntimeError as e:',
      '    print(f"thread refused after {n}: {e}")',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, timedOut: false, oomKilled: false });
    const match = /^thread refused after (\d+): can't start new thread\n$/.exec(run.stdout);
    assert.ok(match, `stdout: ${run.stdout}`);
    assert.ok(Number(match[1]) < 128, `threads count against RUN_PIDS_LIMIT (128): ${match[1]}`);
  });

  hostileCase(suite, 'a memory bomb is reported as OOM', async (c) => {
    const { run, text } = await c.run('python', 'hog = []\nwhile True:\n    hog.append(b"x" * (8 << 20))');
    assertOutcome(run, { exitCode: 137, timedOut: false, oomKilled: true });
    assert.match(text, /killed for using more than 256 MiB of memory/);
  }, { bystanderRun: true });

  hostileCase(suite, 'a self-inflicted SIGKILL (exit 137) is not reported as OOM', async (c) => {
    const { run, text } = await c.run('python', [
      'import subprocess, sys',
      'child = subprocess.run(["sh", "-c", "kill -KILL $$"])',
      'print("child", child.returncode)',
      'sys.exit(128 - child.returncode)',
    ].join('\n'));
    assertOutcome(run, { exitCode: 137, timedOut: false, oomKilled: false, stdout: 'child -9\n' });
    assert.match(text, /exited with code 137/);
    assert.doesNotMatch(text, /memory/);
  });
});

describe('output', { concurrency: 2 }, () => {
  hostileCase(suite, 'a 64 MiB line on stdout is cut at RUN_OUTPUT_BYTES and marked truncated', async (c) => {
    const { run, text } = await c.run('python', [
      'import sys',
      'sys.stdout.write("x" * (64 << 20))',
      'sys.stdout.flush()',
      'sys.stderr.write("done\\n")',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, timedOut: false, truncated: true, stdout: 'x'.repeat(OUTPUT_CAP), stderr: 'done\n' });
    assert.match(text, new RegExp(`Output was longer than ${OUTPUT_CAP} bytes per stream and was cut`));
  });

  hostileCase(suite, 'endless lines on stdout and stderr keep the server\'s memory flat', async (c) => {
    const before = residentKiB(suite.server.pid);
    const outcome = await c.run('bash', 'yes "flood line" >&2 &\nyes "flood line"', { timeoutSeconds: SHORT });
    assertTimedOut(outcome);
    const expected = 'flood line\n'.repeat(Math.ceil(OUTPUT_CAP / 11)).slice(0, OUTPUT_CAP);
    assertOutcome(outcome.run, { truncated: true, stdout: expected, stderr: expected });
    const grown = residentKiB(suite.server.pid) - before;
    assert.ok(grown < 64 * 1024, `the server's resident memory grew by ${grown} KiB during the flood`);
  });

  hostileCase(suite, 'invalid UTF-8 and fake engine stream headers on stdout come back as data, on stdout', async (c) => {
    const { run } = await c.run('python', [
      'import sys',
      'out = sys.stdout.buffer',
      'out.write(b"bad:\\xff\\xfe|\\xc3\\x28|\\xed\\xa0\\x80|")',                       // invalid bytes, a bad continuation, a surrogate
      'out.write(b"\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x05hello")',                   // a stderr frame header
      'out.write(b"\\x01\\x00\\x00\\x00\\xff\\xff\\xff\\xff")',                        // a stdout frame claiming 4 GiB
      'out.flush()',
    ].join('\n'));
    assertOutcome(run, {
      exitCode: 0,
      truncated: false,
      stdout: 'bad:\ufffd\ufffd|\ufffd(|\ufffd\ufffd\ufffd|\x02\x00\x00\x00\x00\x00\x00\x05hello\x01\x00\x00\x00\ufffd\ufffd\ufffd\ufffd',
      stderr: '',
    });
  });
});

describe('disk', { concurrency: 2 }, () => {
  hostileCase(suite, 'filling /tmp stops at its tmpfs size; /data stays writable', async (c) => {
    const { run } = await c.run('bash', [
      'head -c 100M /dev/zero > /tmp/fill; echo "head exit $?"',
      'echo "tmp bytes $(stat -c %s /tmp/fill)"',
      'echo ok > after.txt && echo "data writable"',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, timedOut: false });
    assert.match(run.stderr, /No space left on device/);
    const match = /^head exit 1\ntmp bytes (\d+)\ndata writable\n$/.exec(run.stdout);
    assert.ok(match, `stdout: ${run.stdout}`);
    assert.ok(Number(match[1]) <= 64 << 20 && Number(match[1]) > 60 << 20, `/tmp held ${match[1]} bytes (RUN_TMP_MB is 64)`);
    assert.deepEqual(run.files.map((f) => f.name), ['after.txt']);
  });

  hostileCase(suite, 'a sparse 100 GiB file is refused by RUN_FILE_SIZE_MB; a 511 MiB sparse file is listed and served without reading it', async (c) => {
    const { run } = await c.run('bash', [
      'truncate -s 100G sparse-100g; echo "100g exit $?"',
      'truncate -s 511M sparse-511m; echo "511m exit $?"',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, timedOut: false, stdout: '100g exit 153\n511m exit 0\n' });
    assert.match(run.stderr, /File size limit exceeded/);
    const sizes = Object.fromEntries(run.files.map((f) => [f.name, f.size]));
    assert.deepEqual(sizes, { 'sparse-100g': 0, 'sparse-511m': 511 << 20 });

    const read = c.failed(await c.call('read_file', { path: 'sparse-511m' }));
    assert.match(read, /sparse-511m is 535822336 bytes; at most 1048576 can be read this way/);
    const url = run.files.find((f) => f.name === 'sparse-511m').url;
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(511 << 20));
    const tail = await fetch(url, { headers: { Range: `bytes=${(511 << 20) - 16}-` } });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), Buffer.alloc(16));
  });

  hostileCase(suite, 'FIFOs and sockets in /data never block the file tools or downloads', async (c) => {
    const swapped = await c.upload('pipe', 'a regular file, for now');
    const { run } = await c.run('python', [
      'import os, socket',
      'os.remove("pipe"); os.mkfifo("pipe")',
      'os.mkfifo("fifo")',
      's = socket.socket(socket.AF_UNIX); s.bind("sock")',
      'print("planted")',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, stdout: 'planted\n', files: [], filesTruncated: false });
    assert.deepEqual((await c.list()).files, [], 'special files are not listed as files');
    const started = Date.now();
    assert.match(c.failed(await c.call('read_file', { path: 'fifo' })), /fifo is not a regular file/);
    assert.match(c.failed(await c.call('read_file', { path: 'sock' })), /sock is not a regular file|cannot read sock: not a regular file/);
    assert.match(c.failed(await c.call('upload_file', { filename: 'fifo', content: 'eA==' })), /cannot write fifo: not a regular file/);
    const download = await fetch(swapped.url, { signal: AbortSignal.timeout(10_000) });
    assert.equal(download.status, 404, 'a signed URL whose file became a FIFO');
    await download.text();
    assert.ok(Date.now() - started < 10_000, 'nothing waited on a FIFO');
    for (const name of ['fifo', 'sock', 'pipe']) c.succeeded(await c.call('delete_file', { path: name }));
  });

  hostileCase(suite, '100k files: the result scan stays bounded and says it was cut', async (c) => {
    const { run, ms } = await c.run('bash', 'mkdir many && cd many && seq -w 1 100000 | xargs touch && ls | wc -l');
    assertOutcome(run, { exitCode: 0, timedOut: false, stdout: '100000\n', filesTruncated: true });
    assert.equal(run.files.length, 200, 'at most 200 files listed in a result');
    assert.ok(ms - run.durationMs < 10_000, `the scans around the run took ${ms - run.durationMs} ms`);
    const started = Date.now();
    const listing = await c.list();
    assert.equal(listing.truncated, true);
    assert.equal(listing.files.length, 200);
    assert.ok(Date.now() - started < 5_000, `list_files took ${Date.now() - started} ms`);
    c.succeeded(await c.call('delete_file', { path: 'many' }));
    assert.deepEqual((await c.list()).files, []);
  }, { timeoutMs: 180_000 });

  hostileCase(suite, 'a directory tree 600 levels deep: scans stop at their depth limit, delete refuses it cleanly', async (c) => {
    const { run } = await c.run('python', [
      'import os',
      'for _ in range(600):',
      '    os.mkdir("d")',
      '    os.chdir("d")',
      'open("bottom.txt", "w").write("deep\\n")',
      'print("built")',
    ].join('\n'));
    assertOutcome(run, { exitCode: 0, stdout: 'built\n', files: [], filesTruncated: true });
    const listing = await c.list();
    assert.deepEqual({ ...listing, storage: undefined }, { conversationId: c.id, files: [], truncated: true, storage: undefined });
    // The link-safe tree removal handles any depth (deep levels are moved up first): the delete succeeds.
    assert.equal((await c.call('delete_file', { path: 'd' })).structuredContent.deleted, true);
    const cleaned = await c.run('bash', 'rm -rf d && echo removed');
    assertOutcome(cleaned.run, { exitCode: 0, stdout: 'removed\n' });
  });
});
