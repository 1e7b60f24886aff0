// @modelcontextprotocol/sdk 1.x over the legacy HTTP+SSE transport (2024-11-05):
// GET /sse (or /mcp/events) for the stream, POST /messages?sessionId= for requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { HELLO, TOOL_NAMES, assertRun, callTool, connectLegacySseV1, conversationId } from './lib/harness.mjs';

for (const path of ['/sse', '/mcp/events']) {
  describe(`SDK 1.x SSEClientTransport at ${path}`, () => {
    let client;
    before(async () => {
      client = await connectLegacySseV1(path);
    });
    after(async () => {
      await client?.close();
    });

    test('the endpoint event points at /messages with a session id', () => {
      const endpoint = client.transport._endpoint;
      assert.ok(endpoint instanceof URL, 'the transport received the endpoint event');
      assert.equal(endpoint.pathname, '/messages');
      assert.ok(endpoint.searchParams.get('sessionId'), 'a sessionId query parameter');
    });

    test('tools/list returns all six tools', async () => {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), TOOL_NAMES);
      for (const tool of tools) assert.equal(tool.inputSchema?.type, 'object', `${tool.name}: inputSchema`);
    });

    test('run_code runs python', async () => {
      const id = conversationId('sse');
      const result = await callTool(client, 'run_code', { conversationId: id, language: 'python', code: HELLO.python.code, stdin: 'from stdin\n' });
      const run = assertRun(result, { language: 'python', stdout: HELLO.python.stdout });
      assert.equal(run.conversationId, id);
    });

    test('ping', async () => {
      assert.equal(typeof (await client.ping()), 'object');
    });
  });
}
