// The flow an assistant goes through: upload data, analyse and plot it, show
// the plot inline, hand out a link anyone can download without the token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  PNG_SIGNATURE, SHORT_TTL_URL, assertRun, callTool, connectStreamableV1, conversationId, parseFileUrl, succeeded, waitFor,
} from './lib/harness.mjs';

const CSV = 'month,amount\njan,120\nfeb,95\nmar,143\napr,170\n';

const ANALYSIS = `
import pandas as pd
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

df = pd.read_csv("/data/input/sales.csv")
print(int(df["amount"].sum()), len(df))
ax = df.plot(x="month", y="amount", kind="bar", legend=False)
ax.set_ylabel("amount")
plt.tight_layout()
plt.savefig("/data/sales.png")
`;

describe('full flow: upload CSV, pandas + matplotlib, inline image, signed download', () => {
  let client;
  const id = conversationId('flow');
  let run;
  let result;

  before(async () => {
    client = await connectStreamableV1();
  });
  after(async () => {
    await client?.close();
  });

  test('upload_file stores the CSV under a sub-folder and returns a download URL', async () => {
    const uploaded = succeeded(await callTool(client, 'upload_file', {
      conversationId: id, filename: 'input/sales.csv', content: Buffer.from(CSV).toString('base64'),
    }));
    assert.equal(uploaded.conversationId, id);
    assert.equal(uploaded.file?.name, 'input/sales.csv');
    assert.equal(uploaded.file?.size, CSV.length);
    const download = await fetch(uploaded.file.url);
    assert.equal(download.status, 200);
    assert.equal(await download.text(), CSV);
  });

  test('run_code reads it with pandas and saves a PNG with matplotlib', async () => {
    result = await callTool(client, 'run_code', { conversationId: id, language: 'python', code: ANALYSIS });
    run = assertRun(result, { language: 'python', stdout: '528 4\n' });
  });

  test('the result shows the PNG inline as an image content block', () => {
    assert.ok(result, 'the run ran');
    const images = result.content.filter((block) => block.type === 'image');
    assert.equal(images.length, 1, `one image block, got ${JSON.stringify(result.content.map((b) => b.type))}`);
    assert.equal(images[0].mimeType, 'image/png');
    const bytes = Buffer.from(images[0].data, 'base64');
    assert.ok(bytes.length > 1000, `a real plot, not ${bytes.length} bytes`);
    assert.deepEqual(bytes.subarray(0, 8), PNG_SIGNATURE);
  });

  test('the files list has the PNG with its size, type and URL', () => {
    assert.ok(run, 'the run ran');
    const png = run.files.find((file) => file.name === 'sales.png');
    assert.ok(png, `sales.png in ${JSON.stringify(run.files)}`);
    assert.equal(png.mimeType, 'image/png');
    assert.ok(png.size > 1000);
    assert.match(png.url, /^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]+\/sales\.png\?/);
    for (const file of run.files) {
      assert.equal(typeof file.size, 'number', `${file.name}: size`);
      assert.equal(typeof file.mimeType, 'string', `${file.name}: mimeType`);
      assert.match(file.url, /\/files\/[0-9a-f]+\/.+\?exp=\d+&sig=/, `${file.name}: url`);
    }
    assert.equal(run.filesTruncated, false);
  });

  describe('signed download URL', () => {
    // The PNG's files entry (asserted inside each test, so that a filtered run does not fail a hook).
    const pngEntry = () => {
      assert.ok(run, 'the run ran');
      const entry = run.files.find((file) => file.name === 'sales.png');
      assert.ok(entry, 'sales.png is listed');
      return entry;
    };

    test('plain fetch without the token downloads the PNG', async () => {
      const png = pngEntry();
      const inline = Buffer.from(result.content.find((block) => block.type === 'image').data, 'base64');
      const response = await fetch(png.url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'image/png');
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.match(response.headers.get('content-disposition') ?? '', /filename="sales\.png"/);
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(Number(response.headers.get('content-length')), body.length);
      assert.equal(body.length, png.size);
      assert.deepEqual(body, inline, 'the same bytes as the inline image');
    });

    test('HEAD and Range requests work', async () => {
      const png = pngEntry();
      const head = await fetch(png.url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers.get('content-length')), png.size);
      const range = await fetch(png.url, { headers: { Range: 'bytes=0-7' } });
      assert.equal(range.status, 206);
      assert.deepEqual(Buffer.from(await range.arrayBuffer()), PNG_SIGNATURE);
    });

    test('a tampered signature gets 403', async () => {
      const png = pngEntry();
      const { url, sig } = parseFileUrl(png.url);
      const flipped = (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1);
      url.searchParams.set('sig', flipped);
      const response = await fetch(url);
      assert.equal(response.status, 403);
      await response.arrayBuffer();
      const noSig = new URL(png.url);
      noSig.searchParams.delete('sig');
      assert.equal((await fetch(noSig)).status, 403);
    });

    test('a later expiry with the same signature gets 403', async () => {
      const png = pngEntry();
      const { url, exp } = parseFileUrl(png.url);
      url.searchParams.set('exp', String(Number(exp) + 86400));
      assert.equal((await fetch(url)).status, 403);
    });

    test('the signature of one file does not open another file of the same sandbox', async () => {
      const png = pngEntry();
      const { url, sandbox } = parseFileUrl(png.url);
      url.pathname = `/files/${sandbox}/input/sales.csv`;
      const response = await fetch(url);
      assert.equal(response.status, 403);
      assert.doesNotMatch(await response.text(), /month,amount/);
    });
  });

  test('an expired link gets 410 (server with FILE_URL_TTL=1)', async () => {
    const shortLived = await connectStreamableV1(SHORT_TTL_URL);
    try {
      const uploaded = succeeded(await callTool(shortLived, 'upload_file', {
        conversationId: conversationId('ttl'), filename: 'soon-gone.txt', content: Buffer.from('bye\n').toString('base64'),
      }));
      const { exp } = parseFileUrl(uploaded.file.url);
      assert.ok(Number(exp) <= Date.now() / 1000 + 2, `exp ${exp} is about one second from now`);
      // Wait for the wall clock to pass the link's expiry (a deadline, not a guess).
      const passed = await waitFor(() => Math.floor(Date.now() / 1000) > Number(exp), { timeoutMs: 5000, intervalMs: 100 });
      assert.ok(passed, 'the clock passed exp');
      const response = await fetch(uploaded.file.url);
      assert.equal(response.status, 410);
      assert.doesNotMatch(await response.text(), /bye/);
    } finally {
      await shortLived.close();
    }
  });
});
