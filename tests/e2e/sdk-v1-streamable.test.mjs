// @modelcontextprotocol/sdk 1.x over Streamable HTTP (a 2025 revision, with a session).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  HELLO, LANGUAGES, TOOL_NAMES, assertRun, callTool, checkArgumentErrors, connectStreamableV1, conversationId, succeeded,
} from './lib/harness.mjs';

const READ_ONLY_TOOLS = ['list_files', 'list_runners', 'read_file'];

describe('SDK 1.x Streamable HTTP', () => {
  let client;
  before(async () => {
    client = await connectStreamableV1();
  });
  after(async () => {
    await client?.close();
  });

  test('initialize negotiates revision 2025-11-25 and a session', () => {
    assert.equal(client.transport.protocolVersion, '2025-11-25');
    assert.match(client.transport.sessionId ?? '', /^\S{16,}$/, 'a Mcp-Session-Id of some length');
    assert.equal(client.getServerVersion()?.name, 'mcp-sandbox');
    assert.ok(client.getServerCapabilities()?.tools, 'the tools capability');
  });

  test('tools/list returns all six tools with schemas and annotations', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), TOOL_NAMES);
    for (const tool of tools) {
      assert.equal(typeof tool.description, 'string', `${tool.name}: description`);
      assert.ok(tool.description.length > 0, `${tool.name}: description`);
      assert.equal(tool.inputSchema?.type, 'object', `${tool.name}: inputSchema`);
      assert.equal(tool.outputSchema?.type, 'object', `${tool.name}: outputSchema`);
      assert.equal(typeof tool.annotations, 'object', `${tool.name}: annotations`);
      assert.equal(tool.annotations.readOnlyHint === true, READ_ONLY_TOOLS.includes(tool.name), `${tool.name}: readOnlyHint`);
    }
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    for (const name of ['language', 'code']) assert.ok(byName.run_code.inputSchema.required?.includes(name), `run_code requires ${name}`);
    for (const name of ['filename', 'content']) assert.ok(byName.upload_file.inputSchema.required?.includes(name), `upload_file requires ${name}`);
    for (const name of ['exitCode', 'stdout', 'stderr', 'files']) {
      assert.ok(byName.run_code.outputSchema.properties?.[name], `run_code outputSchema has ${name}`);
    }
  });

  test('list_runners lists the four default languages among the runners', async () => {
    const { runners } = succeeded(await callTool(client, 'list_runners', {}));
    // The others (languages.test.mjs checks them all) are there when their images are built.
    const listed = runners.map((runner) => runner.language);
    for (const language of LANGUAGES) assert.ok(listed.includes(language), `${language} missing from ${listed}`);
    for (const runner of runners) {
      assert.ok(Array.isArray(runner.aliases), `${runner.language}: aliases`);
      assert.equal(typeof runner.image, 'string');
      assert.equal(typeof runner.version, 'string');
    }
  });

  for (const language of LANGUAGES) {
    test(`run_code runs ${language}`, async () => {
      const id = conversationId(`v1-${language}`);
      const result = await callTool(client, 'run_code', { conversationId: id, language, code: HELLO[language].code, stdin: 'from stdin\n' });
      const run = assertRun(result, { language, stdout: HELLO[language].stdout });
      assert.equal(run.conversationId, id);
      assert.ok(result.content.some((block) => block.type === 'text' && block.text.length > 0), 'a text summary in content');
    });
  }

  test('run_code reports a failing program as isError with its exit code and stderr', async () => {
    const result = await callTool(client, 'run_code', {
      conversationId: conversationId('v1-fail'), language: 'python', code: 'import sys\nprint("bad input", file=sys.stderr)\nsys.exit(3)',
    });
    assert.equal(result.isError, true);
    assert.equal(result.structuredContent?.exitCode, 3);
    assert.equal(result.structuredContent?.stderr, 'bad input\n');
  });

  test('run_code with an unknown language is a tool error, not a protocol error', async () => {
    const result = await callTool(client, 'run_code', { conversationId: conversationId('v1-cobol'), language: 'cobol', code: 'DISPLAY "hi".' });
    assert.equal(result.isError, true);
    assert.ok(result.content.length > 0);
  });

  test('bad arguments are a tool execution error, an unknown tool a protocol error (2025-11-25)', async () => {
    await checkArgumentErrors((name, args) => callTool(client, name, args));
  });

  test('a 2025-era caller without conversationId uses the session sandbox', async () => {
    const first = assertRun(
      await callTool(client, 'run_code', { language: 'bash', code: 'echo kept > /data/session-note.txt; echo ok' }),
      { stdout: 'ok\n' },
    );
    const second = assertRun(await callTool(client, 'run_code', { language: 'bash', code: 'cat /data/session-note.txt' }), { stdout: 'kept\n' });
    assert.equal(second.conversationId, first.conversationId);
  });
});
