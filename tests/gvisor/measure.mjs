// What a run costs through the server under runc and under runsc, measured
// interleaved (the machine is noisy): a cold run (a new conversation, a fresh
// container started for it) and a warm one (the conversation's next run, its
// container already started). Prints medians; judges nothing.
//   node measure.mjs <runc server URL> <runsc server URL>   (MCP_E2E_TOKEN set;
//   servers with a WARM_MAX above the conversations they have seen)
import { authHeaders, callTool, connectStreamableV1, conversationId, succeeded, waitFor } from '../e2e/lib/harness.mjs';

const [runcUrl, runscUrl] = process.argv.slice(2);
const ROUNDS = 7;
const servers = [
  { runtime: 'runc', url: runcUrl, client: await connectStreamableV1(runcUrl), cold: [], warm: [] },
  { runtime: 'runsc', url: runscUrl, client: await connectStreamableV1(runscUrl), cold: [], warm: [] },
];

async function warmIdle(url) {
  const text = await (await fetch(new URL('/metrics', url), { headers: authHeaders() })).text();
  const line = text.split('\n').find((l) => l.startsWith('mcp_sandbox_warm_containers_idle '));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function timedRun(client, id) {
  const started = performance.now();
  const run = succeeded(await callTool(client, 'run_code', { conversationId: id, language: 'python', code: 'print(1)' }));
  if (run.exitCode !== 0 || run.stdout !== '1\n') throw new Error(`run failed: ${JSON.stringify(run)}`);
  return performance.now() - started;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

for (let round = 0; round < ROUNDS; ++round) {
  for (const server of servers) {
    const id = conversationId(`measure-${server.runtime}`);
    const idleBefore = await warmIdle(server.url);
    server.cold.push(await timedRun(server.client, id));
    // The conversation's next container is started in the background: wait
    // until it is idle and ready, or the warm figure would include its start.
    if (!(await waitFor(async () => (await warmIdle(server.url)) > idleBefore, { timeoutMs: 10_000 }))) {
      throw new Error(`no warm container appeared under ${server.runtime}`);
    }
    server.warm.push(await timedRun(server.client, id));
  }
}
for (const server of servers) {
  console.log(`python print(1) through MCP under ${server.runtime.padEnd(5)}: cold ${median(server.cold).toFixed(0)} ms, ` +
    `warm ${median(server.warm).toFixed(0)} ms (median of ${ROUNDS})`);
}
for (const server of servers) await server.client.close();
