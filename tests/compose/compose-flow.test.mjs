// The SDK flow through the containerized server (tests/compose/run.sh starts
// it with compose): the server writes under SANDBOX_HOST_PATH inside its
// container, the engine bind-mounts the same host directory into the sibling
// run containers at /data, and the files land on the host where we look.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PNG_SIGNATURE, assertRun, callTool, connectStreamableV1, conversationId, parseFileUrl, succeeded,
} from '../e2e/lib/harness.mjs';

const SANDBOX = process.env.MCP_COMPOSE_SANDBOX;
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
