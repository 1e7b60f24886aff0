// A started container lent to a call whose conversation's next container is still starting
// (WARM_LEND, on by default where the server may mount): the lent run sees its own conversation's
// /data and nothing else, what it writes stays there, and no attachment outlives the run, not
// even one whose server was killed mid-run.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';

import { removeContainer, runContainers } from './lib/engine.mjs';
import { Conversation, assertNoContainersLeft, callTool, connect, parseFileUrl, textOf, waitFor } from './lib/harness.mjs';
import { sleep, startServer } from './lib/server.mjs';

/** One counter or gauge of the server's /metrics (0 when absent). */
async function metric(server, name) {
  const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } });
  const text = await response.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Mount points under the server's root that have more than one mount: an attachment left over. */
function stacked(server) {
  const counts = new Map();
  for (const point of server.mountsUnder()) counts.set(point, (counts.get(point) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([point]) => point);
}

/**
 * A new conversation (its first call puts bash in use, so the pool keeps a started container),
 * with one file of its own: { id, sandbox, run(code) }.
 */
async function newConversation(client, label) {
  const id = `hostile-lend-${label}-${randomBytes(4).toString('hex')}`;
  const run = async (code) => {
    const result = await callTool(client, 'run_code', { conversationId: id, language: 'bash', code });
    assert.ok(result.structuredContent, `run_code failed: ${textOf(result).slice(0, 500)}`);
    return result.structuredContent;
  };
  const first = await run('echo mine > mine.txt');
  const sandbox = parseFileUrl(first.files.find((f) => f.name === 'mine.txt').url).sandbox;
  return { id, sandbox, run };
}

/**
 * Sends `code` right after another call's answer, as a script calling back to back does, until
 * the server lends it a pooled container (at most `attempts` pairs); resolves { pending, lent }.
 * `pending` resolves to the lent call's structuredContent.
 */
async function backToBack(server, conversation, code, attempts = 8) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    // The pool's container for bash is started, and the conversation's own next one too: the
    // first call of the pair takes that one, and the second finds the next one still starting.
    await waitFor(async () => (await metric(server, 'mcp_sandbox_warm_new_conversation_ready')) >= 1, { timeoutMs: 20_000 });
    await sleep(1500);
    await conversation.run('true');
    const before = await metric(server, 'mcp_sandbox_warm_lent_total');
    const pending = conversation.run(code);
    pending.catch(() => {});
    const lent = await waitFor(async () => (await metric(server, 'mcp_sandbox_warm_lent_total')) > before, { timeoutMs: 3_000, intervalMs: 50 });
    if (lent) return { pending, lent: true };
    await pending;
  }
  return { pending: null, lent: false };
}

describe('lending a started container', () => {
  test('the lent run sees only its conversation, writes into it, and nothing stays attached', { timeout: 180_000 }, async () => {
    // The suite's servers run without warm containers (HOSTILE_SETTINGS); lending needs them.
    const server = await startServer('lend', { settings: { WARM_MAX: '16' } });
    const client = await connect(server);
    try {
      assert.match(server.log(), /WARM_LEND: on/, 'lending is on for a root server on this host');
      const bystander = await new Conversation(client, 'lend-bystander').open();
      await bystander.upload('secret-b.txt', 'the bystander\'s');
      const conversation = await newConversation(client, 'own');
      const code = [
        'ls -A',
        'ls -A /data',
        'echo "url=$FILE_BASE_URL"',
        'find / -name secret-b.txt -not -path "/proc/*" 2>/dev/null',
        'echo written > from-lent.txt',
      ].join('\n');
      const { pending, lent } = await backToBack(server, conversation, code);
      assert.ok(lent, `no call was lent a started container in 8 back-to-back pairs:\n${server.logTail()}`);
      const run = await pending;
      assert.equal(run.exitCode, 0, run.stderr);
      assert.equal(run.stdout,
        `mine.txt\nmine.txt\nurl=${server.url}/files/${conversation.sandbox}/\n`,
        'the working directory and /data are the conversation\'s, FILE_BASE_URL names it, no other conversation is reachable');
      assert.deepEqual(run.files.map((f) => f.name).sort(), ['from-lent.txt', 'mine.txt']);
      // The file is the conversation's: its next (own) run reads it; the bystander is untouched.
      assert.equal((await conversation.run('cat from-lent.txt')).stdout, 'written\n');
      assert.deepEqual((await bystander.list()).files.map((f) => f.name), ['secret-b.txt']);
      assert.deepEqual(stacked(server), [], 'no attachment is left on a pooled directory');
    } finally {
      await client.close().catch(() => {});
      const stopped = await server.stop('SIGTERM');
      assert.deepEqual(stopped, { code: 0, signal: null }, server.logTail());
      assert.deepEqual(server.mountsUnder(), [], 'every volume and attachment is unmounted at exit');
    }
  });

  test('SIGKILL during a lent run: the next start removes the pooled directory, the conversation keeps its files', { timeout: 180_000 }, async () => {
    const server = await startServer('lend-kill', { settings: { WARM_MAX: '16', REAPER_INTERVAL_SECONDS: '5' } });
    let instance;
    try {
      const client = await connect(server);
      const conversation = await newConversation(client, 'killed');
      const { pending, lent } = await backToBack(server, conversation, 'echo before > before.txt; sleep 600');
      assert.ok(lent, `no call was lent a started container in 8 back-to-back pairs:\n${server.logTail()}`);
      instance = instanceOf(server);
      const attached = await waitFor(async () => stacked(server).length === 1, { timeoutMs: 10_000 });
      assert.ok(attached, `the conversation is attached on the pooled directory while the run runs: ${server.mountsUnder()}`);
      assert.deepEqual(await server.stop('SIGKILL'), { code: null, signal: 'SIGKILL' });
      await pending.catch(() => {});
      await client.close().catch(() => {});
      assert.equal(stacked(server).length, 1, 'the killed server left the attachment');

      await server.start();
      const cleared = await waitFor(async () => stacked(server).length === 0, { timeoutMs: 20_000 });
      assert.ok(cleared, `the restarted server removed the attachment: ${stacked(server)}\n${server.logTail()}`);
      await assertNoContainersLeft(instance, undefined, 20_000);  // the lent container and the pool's: orphans, reaped
      const again = await connect(server);
      const result = await callTool(again, 'run_code', { conversationId: conversation.id, language: 'bash', code: 'cat mine.txt before.txt' });
      assert.equal(result.structuredContent?.stdout, 'mine\nbefore\n', textOf(result));
      await again.close().catch(() => {});
      const stopped = await server.stop('SIGTERM');
      assert.deepEqual(stopped, { code: 0, signal: null }, server.logTail());
      assert.deepEqual(server.mountsUnder(), [], 'every volume is unmounted at exit');
      await assertNoContainersLeft(instance);
    } finally {
      await server.stop('SIGKILL');
      for (const c of instance ? await runContainers(instance) : []) await removeContainer(c.id);
    }
  });
});

/** The instance id the server logged at start. */
function instanceOf(server) {
  return /instance id (\S+)/.exec(server.log())?.[1];
}
