// @modelcontextprotocol/client 2.x: pinned to the stateless 2026-07-28 revision,
// and in 'auto' mode (server/discover probe, falling back to initialize).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  HELLO, LANGUAGES, MODERN_VERSION, TOOL_NAMES, assertRun, callToolV2, checkArgumentErrors, connectV2, conversationId, succeeded,
} from './lib/harness.mjs';

const MODES = [
  { label: `pinned to ${MODERN_VERSION}`, mode: { pin: MODERN_VERSION } },
  { label: 'auto', mode: 'auto' },
];

for (const { label, mode } of MODES) {
  describe(`@modelcontextprotocol/client 2.x ${label}`, () => {
    let client;
    before(async () => {
      client = await connectV2(mode);
    });
    after(async () => {
      await client?.close();
    });

    test(`negotiates the stateless ${MODERN_VERSION} revision`, () => {
      // The server speaks 2026-07-28, so 'auto' must find it too rather than fall back.
      assert.equal(client.getProtocolEra(), 'modern');
      assert.equal(client.getNegotiatedProtocolVersion(), MODERN_VERSION);
      assert.equal(client.getServerVersion()?.name, 'mcp-sandbox');
      assert.ok(client.getDiscoverResult(), 'a server/discover result');
      assert.equal(client.transport.sessionId, undefined, 'no Mcp-Session-Id in the stateless revision');
    });

    test('tools/list returns all six tools with schemas', async () => {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name).sort(), TOOL_NAMES);
      for (const tool of tools) {
        assert.equal(tool.inputSchema?.type, 'object', `${tool.name}: inputSchema`);
        assert.equal(tool.outputSchema?.type, 'object', `${tool.name}: outputSchema`);
      }
    });

    for (const language of LANGUAGES) {
      test(`run_code runs ${language}`, async () => {
        const id = conversationId(`v2-${language}`);
        const result = await callToolV2(client, 'run_code', { conversationId: id, language, code: HELLO[language].code, stdin: 'from stdin\n' });
        const run = assertRun(result, { language, stdout: HELLO[language].stdout });
        assert.equal(run.conversationId, id);
      });
    }

    test('bad arguments are a tool execution error, an unknown tool a protocol error', async () => {
      await checkArgumentErrors((name, args) => callToolV2(client, name, args));
    });

    test('without conversationId a new one is minted, returned and usable on the next call', async () => {
      const first = assertRun(await callToolV2(client, 'run_code', {
        language: 'bash', code: 'echo remembered > /data/note.txt; echo written',
      }), { stdout: 'written\n' });
      assert.ok(first.conversationId, 'a minted conversationId');
      const again = assertRun(await callToolV2(client, 'run_code', {
        conversationId: first.conversationId, language: 'bash', code: 'cat /data/note.txt',
      }), { stdout: 'remembered\n' });
      assert.equal(again.conversationId, first.conversationId);
      const listed = succeeded(await callToolV2(client, 'list_files', { conversationId: first.conversationId }));
      assert.ok(JSON.stringify(listed).includes('note.txt'), `note.txt in ${JSON.stringify(listed)}`);

      // A second minted id is a different, empty sandbox.
      const other = assertRun(await callToolV2(client, 'run_code', {
        language: 'bash', code: 'ls /data | grep -c note.txt || true',
      }), { stdout: '0\n' });
      assert.notEqual(other.conversationId, first.conversationId);
    });
  });
}
