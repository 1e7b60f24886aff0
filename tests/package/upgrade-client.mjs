// The MCP client side of the upgrade test (tests/package/upgrade.sh), plain
// fetch with no SDK: "write" stores a file in a new conversation through one
// server; "check" proves that another server, started later on the same
// state, still lists and serves it.
//
//   node upgrade-client.mjs write <base-url> <token> <expected-version> <state-file>
//   node upgrade-client.mjs check <base-url> <token> <expected-version> <state-file>
import { readFileSync, writeFileSync } from "node:fs";

const [mode, base, token, expectedVersion, stateFile] = process.argv.slice(2);
const content = "written by the previous release\n";
const auth = { authorization: `Bearer ${token}` };

function fail(message) {
  console.error(`upgrade-client: FAIL: ${message}`);
  process.exit(1);
}

// The server answers a request with JSON or with an SSE stream whose last
// message carries the reply.
async function reply(response) {
  const text = await response.text();
  if (!response.ok) fail(`HTTP ${response.status}: ${text}`);
  if ((response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    const messages = text.split("\n").filter((l) => l.startsWith("data:")).map((l) => JSON.parse(l.slice(5)));
    const last = messages.filter((m) => "result" in m || "error" in m).pop();
    if (!last) fail(`no reply in the stream: ${text}`);
    return last;
  }
  return JSON.parse(text);
}

class Session {
  id = null;
  next = 1;
  async request(method, params) {
    const headers = { ...auth, "content-type": "application/json", accept: "application/json, text/event-stream" };
    if (this.id) Object.assign(headers, { "mcp-session-id": this.id, "mcp-protocol-version": "2025-06-18" });
    const response = await fetch(`${base}/mcp`, {
      method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: this.next++, method, params }),
    });
    this.id ??= response.headers.get("mcp-session-id");
    const message = await reply(response);
    if (message.error) fail(`${method}: ${JSON.stringify(message.error)}`);
    return message.result;
  }
  async notify(method) {
    const response = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", accept: "application/json, text/event-stream",
                 "mcp-session-id": this.id, "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({ jsonrpc: "2.0", method }),
    });
    if (response.status !== 202) fail(`${method}: HTTP ${response.status}`);
  }
  async tool(name, args) {
    const result = await this.request("tools/call", { name, arguments: args });
    if (result.isError) fail(`${name}: ${JSON.stringify(result.content)}`);
    return result.structuredContent;
  }
}

async function connect() {
  const session = new Session();
  const init = await session.request("initialize", {
    protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "upgrade-test", version: "1" },
  });
  if (init.serverInfo?.version !== expectedVersion)
    fail(`serverInfo.version is ${JSON.stringify(init.serverInfo?.version)}, expected ${expectedVersion}`);
  if (!session.id) fail("initialize returned no Mcp-Session-Id");
  await session.notify("notifications/initialized");
  return session;
}

async function download(url, what) {
  const response = await fetch(url);
  const body = await response.text();
  if (response.status !== 200 || body !== content)
    fail(`${what} ${url}: HTTP ${response.status}, ${JSON.stringify(body.slice(0, 80))}`);
}

// Authenticated /metrics names the running release; without the token it is refused.
async function checkMetrics() {
  const open = await fetch(`${base}/metrics`);
  if (open.status !== 401) fail(`/metrics without the token: HTTP ${open.status}`);
  const text = await (await fetch(`${base}/metrics`, { headers: auth })).text();
  if (!text.includes(`mcp_sandbox_build_info{version="${expectedVersion}"} 1`))
    fail(`/metrics has no mcp_sandbox_build_info for ${expectedVersion}`);
}

const session = await connect();
await checkMetrics();
if (mode === "write") {
  const stored = await session.tool("upload_file", {
    conversationId: "upgrade-test", filename: "reports/upgrade.txt",
    content: Buffer.from(content).toString("base64"),
  });
  await download(stored.file.url, "the new upload");
  writeFileSync(stateFile, JSON.stringify({ conversationId: stored.conversationId, url: stored.file.url }));
  console.log(`upgrade-client: ${expectedVersion} stored reports/upgrade.txt in ${stored.conversationId}`);
} else if (mode === "check") {
  const before = JSON.parse(readFileSync(stateFile, "utf8"));
  const listed = await session.tool("list_files", { conversationId: before.conversationId });
  const file = listed.files.find((f) => f.name === "reports/upgrade.txt");
  if (!file) fail(`list_files does not list reports/upgrade.txt: ${JSON.stringify(listed.files)}`);
  if (file.size !== Buffer.byteLength(content)) fail(`reports/upgrade.txt has ${file.size} bytes`);
  await download(file.url, "the listed file");
  await download(before.url, "the link the previous release handed out");
  console.log(`upgrade-client: ${expectedVersion} lists and serves reports/upgrade.txt of ${before.conversationId}`);
} else {
  fail(`unknown mode ${mode}`);
}
