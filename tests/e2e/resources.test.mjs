// Files as MCP resources: resource_link blocks in tool results (and none in older revisions), resources/list and read, change
// notifications (2025: resources/subscribe on the session's GET stream; 2026-07-28: subscriptions/listen),
// one identity's conversations kept from another's list, and the file tools' path rules.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import {
  BASE_URL, MODERN_VERSION, PNG_SIGNATURE, assertRun, authHeaders, callTool, callToolV2, connectStreamableV1, connectV2,
  conversationId, textOf,
} from './lib/harness.mjs';

const OTHER_TOKEN = process.env.MCP_E2E_OTHER_TOKEN;
if (!OTHER_TOKEN) throw new Error('MCP_E2E_OTHER_TOKEN is not set: run the e2e tests through tests/e2e/run.sh');

const DOWNLOAD_URL = 'mcp-sandbox/downloadUrl';
const NOTIFICATION_TIMEOUT_MS = 30_000;

// Writes data.csv (its text from `row`) and plot.png (a 4x4 PNG made by hand: no imports to wait for).
function writeFiles(row) {
  return `
import struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
raw = b"".join(b"\\x00" + b"".join(bytes([x * 60, y * 60, 200]) for x in range(4)) for y in range(4))
png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open("plot.png", "wb").write(png)
open("data.csv", "w").write("x,y\\n${row}\\n")
print("written")
`;
}

function resourceUri(id, path) {
  return `sandbox://conversations/${id}/${path}`;
}

function linksOf(result) {
  return (result.content ?? []).filter((block) => block.type === 'resource_link');
}

/** Every resource of resources/list, following nextCursor. */
async function listAll(list) {
  const resources = [];
  let cursor;
  for (let page = 0; page < 50; page += 1) {
    const result = await list(cursor === undefined ? {} : { cursor });
    resources.push(...result.resources);
    cursor = result.nextCursor;
    if (!cursor) return resources;
  }
  throw new Error('resources/list never ended');
}

async function fetchBytes(url) {
  const response = await fetch(url);  // no token: the signed URL is its own permission
  assert.equal(response.status, 200, `GET ${url}`);
  return Buffer.from(await response.arrayBuffer());
}

/** Checks a run's resource links (data.csv and plot.png, with sizes, types and download URLs). */
function checkLinks(result, id) {
  const links = Object.fromEntries(linksOf(result).map((link) => [link.name, link]));
  assert.deepEqual(Object.keys(links).sort(), ['data.csv', 'plot.png'], `links: ${JSON.stringify(result.content)}`);
  assert.equal(links['data.csv'].uri, resourceUri(id, 'data.csv'));
  assert.equal(links['data.csv'].mimeType, 'text/csv');
  assert.equal(links['plot.png'].uri, resourceUri(id, 'plot.png'));
  assert.equal(links['plot.png'].mimeType, 'image/png');
  const files = Object.fromEntries(result.structuredContent.files.map((file) => [file.name, file]));
  for (const name of ['data.csv', 'plot.png']) {
    assert.equal(links[name].size, files[name].size, `${name}: size`);
    assert.match(links[name]._meta?.[DOWNLOAD_URL] ?? '', /^http:\/\/127\.0\.0\.1:\d+\/files\//, `${name}: download URL`);
  }
  return links;
}

/** resources/read of each link gives the bytes its signed URL gives: text for the CSV, a blob for the PNG. */
async function checkReads(read, links) {
  const csv = (await read({ uri: links['data.csv'].uri })).contents;
  assert.equal(csv.length, 1);
  assert.equal(csv[0].uri, links['data.csv'].uri);
  assert.equal(csv[0].text, (await fetchBytes(links['data.csv']._meta[DOWNLOAD_URL])).toString('utf8'));
  const png = (await read({ uri: links['plot.png'].uri })).contents;
  assert.equal(png[0].mimeType, 'image/png');
  const bytes = Buffer.from(png[0].blob, 'base64');
  assert.deepEqual(bytes.subarray(0, 8), PNG_SIGNATURE);
  assert.deepEqual(bytes, await fetchBytes(links['plot.png']._meta[DOWNLOAD_URL]));
}

/** Collects notifications; waitFor resolves with the next one `matches` accepts, or rejects after the timeout. */
function notificationWaiter() {
  const seen = [];
  const waiting = [];
  return {
    push(notification) {
      seen.push(notification);
      for (const waiter of [...waiting]) {
        if (waiter.matches(notification)) {
          waiting.splice(waiting.indexOf(waiter), 1);
          clearTimeout(waiter.timer);
          waiter.resolve(notification);
        }
      }
    },
    // Only what arrives from now on counts: call it before the action that should cause the notification.
    waitFor(matches, what) {
      return new Promise((resolve, reject) => {
        const waiter = { matches, resolve };
        waiter.timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(waiter), 1);
          reject(new Error(`no ${what} within ${NOTIFICATION_TIMEOUT_MS} ms; saw ${JSON.stringify(seen)}`));
        }, NOTIFICATION_TIMEOUT_MS);
        waiting.push(waiter);
      });
    },
  };
}

describe('resources with SDK 1.x over Streamable HTTP (2025-11-25)', () => {
  let client;
  let other;
  const id = conversationId('res-v1');
  const theirs = conversationId('res-v1-other');
  const notifications = notificationWaiter();
  let links;

  before(async () => {
    client = await connectStreamableV1();
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => notifications.push(n));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => notifications.push(n));
    other = await connectStreamableV1(undefined, OTHER_TOKEN);
  });
  after(async () => {
    await client?.close();
    await other?.close();
  });

  test('the server declares resources with subscriptions and list changes', () => {
    assert.deepEqual(client.getServerCapabilities()?.resources, { subscribe: true, listChanged: true });
  });

  test('a run that writes a CSV and a PNG returns a resource link for each', async () => {
    const result = await callTool(client, 'run_code', { conversationId: id, language: 'python', code: writeFiles('1,2') });
    assertRun(result, { stdout: 'written\n' });
    links = checkLinks(result, id);
  });

  test('resources/list shows them, resources/read returns the bytes of the signed URL', async () => {
    const listed = await listAll((params) => client.listResources(params));
    const ours = listed.filter((resource) => resource.uri.startsWith(resourceUri(id, '')));
    assert.deepEqual(ours.map((resource) => resource.name).sort(), ['data.csv', 'plot.png']);
    assert.equal(ours.find((resource) => resource.name === 'plot.png').size, links['plot.png'].size);
    await checkReads((params) => client.readResource(params), links);
  });

  test('the template names any conversation file', async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((template) => template.uriTemplate), ['sandbox://conversations/{conversationId}/{+path}']);
  });

  test('resources/subscribe: a second run that changes the CSV sends notifications/resources/updated', async () => {
    await client.subscribeResource({ uri: links['data.csv'].uri });
    const updated = notifications.waitFor(
      (n) => n.method === 'notifications/resources/updated' && n.params.uri === links['data.csv'].uri, 'resources/updated');
    const result = await callTool(client, 'run_code', {
      conversationId: id, language: 'bash', code: 'echo "3,4" >> data.csv; echo changed',
    });
    assertRun(result, { stdout: 'changed\n' });
    assert.deepEqual(linksOf(result).map((link) => link.name), ['data.csv'], 'only the changed file is linked');
    await updated;
    const read = await client.readResource({ uri: links['data.csv'].uri });
    assert.equal(read.contents[0].text, 'x,y\n1,2\n3,4\n');
    await client.unsubscribeResource({ uri: links['data.csv'].uri });
  });

  test('a new file makes notifications/resources/list_changed', async () => {
    const changed = notifications.waitFor((n) => n.method === 'notifications/resources/list_changed', 'list_changed');
    const uploaded = await callTool(client, 'upload_file', {
      conversationId: id, filename: 'notes/new.txt', content: Buffer.from('new').toString('base64'),
    });
    assert.deepEqual(linksOf(uploaded).map((link) => link.uri), [resourceUri(id, 'notes/new.txt')]);
    await changed;
  });

  test("another identity's conversations are not listed", async () => {
    const run = await callTool(other, 'run_code', { conversationId: theirs, language: 'bash', code: 'echo secret > mine.txt; echo ok' });
    assertRun(run, { stdout: 'ok\n' });
    const theirList = await listAll((params) => other.listResources(params));
    assert.ok(theirList.some((resource) => resource.uri === resourceUri(theirs, 'mine.txt')), 'their own file is listed to them');
    assert.ok(!theirList.some((resource) => resource.uri.includes(id)), `none of ours: ${JSON.stringify(theirList)}`);
    const ourList = await listAll((params) => client.listResources(params));
    assert.ok(!ourList.some((resource) => resource.uri.includes(theirs)), 'none of theirs');
  });

  test('traversal, links and special files are refused as the file tools refuse them', async () => {
    const setup = await callTool(client, 'run_code', {
      conversationId: id, language: 'bash',
      code: 'ln -s /etc/passwd link; ln -s / root; mkfifo fifo; mkdir -p folder; echo ready',
    });
    assertRun(setup, { stdout: 'ready\n' });
    const cases = [
      { path: 'link', uri: resourceUri(id, 'link') },
      { path: 'root/etc/passwd', uri: resourceUri(id, 'root/etc/passwd') },
      { path: 'fifo', uri: resourceUri(id, 'fifo') },
      { path: 'folder', uri: resourceUri(id, 'folder') },
      { path: '../x', uri: resourceUri(id, '../x') },
      { path: 'a/./b', uri: resourceUri(id, 'a/./b') },
    ];
    for (const { path, uri } of cases) {
      const tool = await callTool(client, 'read_file', { conversationId: id, path });
      assert.equal(tool.isError, true, `read_file ${path} is refused`);
      await assert.rejects(client.readResource({ uri }), (error) => {
        assert.equal(error.code, -32602, `${uri}: ${error.message}`);
        assert.ok(error.message.includes(textOf(tool)), `${uri}: "${error.message}" says what read_file says: "${textOf(tool)}"`);
        return true;
      });
    }
    await assert.rejects(client.readResource({ uri: resourceUri(id, 'missing.txt') }), (error) => error.code === -32002);
    await assert.rejects(client.readResource({ uri: 'file:///etc/passwd' }), (error) => error.code === -32602);
  });
});

// The SDK clients always ask for their newest revision, so an older one is spoken over raw HTTP.
describe('resources in revision 2025-03-26 (raw HTTP)', () => {
  const OLD = '2025-03-26';
  async function post(body, session) {
    const headers = { ...authHeaders(), 'Content-Type': 'application/json', Accept: 'application/json', 'MCP-Protocol-Version': OLD };
    if (session) headers['Mcp-Session-Id'] = session;
    const response = await fetch(new URL('/mcp', BASE_URL), { method: 'POST', headers, body: JSON.stringify(body) });
    assert.equal(response.status, 200);
    return { session: response.headers.get('mcp-session-id'), message: await response.json() };
  }

  test('results keep their content without resource links, which that revision does not have', async () => {
    const { session, message: init } = await post({
      jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { protocolVersion: OLD, capabilities: {}, clientInfo: { name: 'old-client', version: '1' } },
    });
    assert.equal(init.result.protocolVersion, OLD);
    assert.deepEqual(init.result.capabilities.resources, { subscribe: true, listChanged: true });
    const id = conversationId('res-old');
    const { message: ran } = await post({
      jsonrpc: '2.0', id: 2, method: 'tools/call',
      params: { name: 'run_code', arguments: { conversationId: id, language: 'python', code: writeFiles('5,6') } },
    }, session);
    assert.equal(ran.result.isError, false, JSON.stringify(ran));
    assert.deepEqual(linksOf(ran.result), []);
    assert.match(textOf(ran.result), /plot\.png/, 'the text still names the files');
    // The resources methods exist in every revision.
    const { message: read } = await post({
      jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: resourceUri(id, 'data.csv') },
    }, session);
    assert.equal(read.result.contents[0].text, 'x,y\n5,6\n');
  });
});

describe(`resources with @modelcontextprotocol/client 2.x pinned to ${MODERN_VERSION}`, () => {
  let client;
  const id = conversationId('res-v2');
  let links;

  before(async () => {
    client = await connectV2({ pin: MODERN_VERSION });
  });
  after(async () => {
    await client?.close();
  });

  test('a run that writes a CSV and a PNG returns resource links; list and read find them', async () => {
    const result = await callToolV2(client, 'run_code', { conversationId: id, language: 'python', code: writeFiles('7,8') });
    assertRun(result, { stdout: 'written\n' });
    links = checkLinks(result, id);
    const listed = await listAll((params) => client.listResources(params));
    const ours = listed.filter((resource) => resource.uri.startsWith(resourceUri(id, '')));
    assert.deepEqual(ours.map((resource) => resource.name).sort(), ['data.csv', 'plot.png']);
    await checkReads((params) => client.readResource(params), links);
  });

  test('subscriptions/listen: a second run that changes the CSV sends notifications/resources/updated', async () => {
    const seen = notificationWaiter();
    client.setNotificationHandler('notifications/resources/updated', (n) => seen.push(n));
    client.setNotificationHandler('notifications/resources/list_changed', (n) => seen.push(n));
    const subscription = await client.listen({ resourceSubscriptions: [links['data.csv'].uri], resourcesListChanged: true });
    try {
      assert.deepEqual(subscription.honoredFilter.resourceSubscriptions, [links['data.csv'].uri]);
      assert.equal(subscription.honoredFilter.resourcesListChanged, true);
      const updated = seen.waitFor((n) => n.method === 'notifications/resources/updated' && n.params.uri === links['data.csv'].uri,
        'resources/updated');
      const changed = seen.waitFor((n) => n.method === 'notifications/resources/list_changed', 'list_changed');
      const result = await callToolV2(client, 'run_code', {
        conversationId: id, language: 'bash', code: 'echo "9,10" >> data.csv; echo extra > extra.txt; echo changed',
      });
      assertRun(result, { stdout: 'changed\n' });
      await updated;
      await changed;
    } finally {
      await subscription.close();
    }
  });
});
