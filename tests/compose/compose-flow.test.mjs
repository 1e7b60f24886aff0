// The SDK flow through the containerized server (tests/compose/run.sh starts
// it with compose): the server writes under SANDBOX_HOST_PATH inside its
// container, the engine bind-mounts the same host directory into the sibling
// run containers at /data, and the files land on the host where we look.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PNG_SIGNATURE, assertRun, callTool, connectStreamableV1, conversationId, parseFileUrl, succeeded,
} from '../e2e/lib/harness.mjs';

const SANDBOX = process.env.MCP_COMPOSE_SANDBOX;
const QUOTA_MB = Number(process.env.MCP_COMPOSE_QUOTA_MB);
const CSV = 'x,y\n1,2\n2,4\n3,9\n';
const PLOT = `
import csv
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

with open("/data/points.csv") as f:
    rows = list(csv.DictReader(f))
xs = [int(r["x"]) for r in rows]
ys = [int(r["y"]) for r in rows]
plt.plot(xs, ys)
plt.savefig("/data/plot.png")
print(len(rows), sum(ys))
`;

describe('compose: upload, plot with matplotlib into /data, download the signed URL', () => {
  let client;
  const id = conversationId('compose');
  let png;

  before(async () => {
    assert.ok(SANDBOX, 'MCP_COMPOSE_SANDBOX is set by tests/compose/run.sh');
    client = await connectStreamableV1();
  });
  after(async () => {
    await client?.close();
  });

  test('upload_file lands in the host sandbox directory', async () => {
    const uploaded = succeeded(await callTool(client, 'upload_file', {
      conversationId: id, filename: 'points.csv', content: Buffer.from(CSV).toString('base64'),
    }));
    const { sandbox } = parseFileUrl(uploaded.file.url);
    assert.equal(readFileSync(join(SANDBOX, sandbox, 'points.csv'), 'utf8'), CSV);
  });

  test('a python run in a sibling container reads it from /data and saves a plot there', async () => {
    const run = assertRun(await callTool(client, 'run_code', { conversationId: id, language: 'python', code: PLOT }),
      { language: 'python', stdout: '3 15\n' });
    png = run.files.find((file) => file.name === 'plot.png');
    assert.ok(png, `plot.png in ${JSON.stringify(run.files)}`);
    const { sandbox } = parseFileUrl(png.url);
    assert.ok(existsSync(join(SANDBOX, sandbox, 'plot.png')), 'the plot is in the host directory the engine mounted');
  });

  test('the signed URL downloads the PNG with plain fetch and no token', async () => {
    assert.ok(png, 'the run made a plot');
    const response = await fetch(png.url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/png');
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(bytes.length, png.size);
    assert.deepEqual(bytes.subarray(0, 8), PNG_SIGNATURE);
  });
});

describe('compose: the conversation quota holds in the sibling runs', () => {
  let client;
  const id = conversationId('compose-quota');

  before(async () => {
    assert.ok(QUOTA_MB > 0, 'MCP_COMPOSE_QUOTA_MB is set by tests/compose/run.sh');
    client = await connectStreamableV1();
  });
  after(async () => {
    await client?.close();
  });

  test('writing twice the quota into /data stops at ENOSPC, reported as storage full; the host sees the volume', async () => {
    const code = [
      'import os',
      'try:',
      `    with open("/data/fill.bin", "wb") as f:`,
      `        for _ in range(${2 * QUOTA_MB}): f.write(b"x" * 1048576); f.flush(); os.fsync(f.fileno())`,
      '    print("wrote it all")',
      'except OSError as error:',
      '    print("stopped:", error.strerror)',
    ].join('\n');
    const result = await callTool(client, 'run_code', { conversationId: id, language: 'python', code });
    const run = result.structuredContent;
    assert.match(run.stdout, /^stopped: No space left on device\n$/, JSON.stringify(run));
    assert.equal(run.storage?.full, true, JSON.stringify(run.storage));
    const fill = run.files.find((file) => file.name === 'fill.bin');
    assert.ok(fill && fill.size < QUOTA_MB * 1048576, `fill.bin stays under the quota: ${JSON.stringify(fill)}`);
    // The server mounted the volume in its container; rshared made the mount the host's too,
    // which is how the engine's bind of the conversation directory got the volume.
    const { sandbox } = parseFileUrl(fill.url);
    const directory = join(SANDBOX, sandbox);
    const mount = execFileSync('findmnt', ['-n', '-o', 'TARGET,FSTYPE', '--target', directory], { encoding: 'utf8' });
    assert.deepEqual(mount.trim().split(/\s+/), [directory, 'ext4'], 'the conversation directory is its own ext4 mount on the host');
  });
});
