// What a run costs through the server under runc and under runsc, measured
// interleaved (the machine is noisy), Python print(1):
//   cold     a new conversation on a server that keeps no containers ready
//            for new conversations: a fresh container is started for it;
//   pooled   a new conversation on a server that does: it takes one of them;
//   warm     the conversation's next run: its own next container, started
//            after the previous run and waiting.
// Prints medians; judges nothing.
//   node measure.mjs <runc URL, no pool> <runsc URL, no pool> <runc URL, pool> <runsc URL, pool>
//   (MCP_E2E_TOKEN set; servers with a WARM_MAX above the conversations they have seen)
import { authHeaders, callTool, connectStreamableV1, conversationId, succeeded, waitFor } from '../e2e/lib/harness.mjs';

const [runcCold, runscCold, runcPooled, runscPooled] = process.argv.slice(2);
const ROUNDS = 7;
const server = async (url) => ({ url, client: await connectStreamableV1(url) });
const runtimes = [
  { runtime: 'runc', plain: await server(runcCold), pooling: await server(runcPooled), cold: [], pooled: [], warm: [] },
  { runtime: 'runsc', plain: await server(runscCold), pooling: await server(runscPooled), cold: [], pooled: [], warm: [] },
];

async function gauge(url, name) {
  const text = await (await fetch(new URL('/metrics', url), { headers: authHeaders() })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function timedRun({ client }, id) {
  const started = performance.now();
  const run = succeeded(await callTool(client, 'run_code', { conversationId: id, language: 'python', code: 'print(1)' }));
  if (run.exitCode !== 0 || run.stdout !== '1\n') throw new Error(`run failed: ${JSON.stringify(run)}`);
  return performance.now() - started;
}

// Until `name` on the server at `url` passes `above`; a figure measured before
// that would include a container's start.
async function readyAbove(runtime, url, name, above) {
  if (!(await waitFor(async () => (await gauge(url, name)) > above, { timeoutMs: 20_000 }))) {
    throw new Error(`${name} stayed at ${above} under ${runtime}`);
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// The pooling servers start their pool for a language once it is used.
for (const r of runtimes) await timedRun(r.pooling, conversationId(`measure-${r.runtime}-first`));

for (let round = 0; round < ROUNDS; ++round) {
  for (const r of runtimes) {
    const id = conversationId(`measure-${r.runtime}`);
    const idleBefore = await gauge(r.plain.url, 'mcp_sandbox_warm_containers_idle');
    r.cold.push(await timedRun(r.plain, id));
    await readyAbove(r.runtime, r.plain.url, 'mcp_sandbox_warm_containers_idle', idleBefore);
    r.warm.push(await timedRun(r.plain, id));
    await readyAbove(r.runtime, r.pooling.url, 'mcp_sandbox_warm_new_conversation_ready', 0);
    r.pooled.push(await timedRun(r.pooling, conversationId(`measure-${r.runtime}-pooled`)));
  }
}
for (const r of runtimes) {
  console.log(`python print(1) through MCP under ${r.runtime.padEnd(5)}: cold ${median(r.cold).toFixed(0)} ms, ` +
    `new conversation from the pool ${median(r.pooled).toFixed(0)} ms, ` +
    `warm ${median(r.warm).toFixed(0)} ms (medians of ${ROUNDS})`);
}
for (const r of runtimes) {
  await r.plain.client.close();
  await r.pooling.client.close();
}
