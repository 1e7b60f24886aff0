// The built-in OAuth 2.1 authorization server, through the official SDK clients' own OAuth support
// (discovery, registration, PKCE, token, refresh): the test plays the owner by submitting the consent
// form it was redirected to. Then the refusals, one by one, against a server with OAUTH_ENABLED.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { auth as authV1, UnauthorizedError as UnauthorizedV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
  UnauthorizedError as UnauthorizedV2,
} from '@modelcontextprotocol/client';

import { CALL_TIMEOUT_MS, TOOL_NAMES, assertRun, conversationId, initializeBody } from './lib/harness.mjs';

// The server with OAUTH_ENABLED (run.sh).
const BASE_URL = process.env.MCP_E2E_OAUTH_URL;

const OWNER_PASSWORD = process.env.MCP_E2E_OWNER_PASSWORD;
const MAIN_ROOT = process.env.MCP_E2E_OAUTH_ROOT;
const BIN = process.env.MCP_E2E_BIN;
const REDIRECT = 'http://127.0.0.1:9/oauth/callback'; // never contacted: the test reads the redirect itself
const clientInfo = { name: 'mcp-sandbox-e2e-oauth', version: '1.0.0' };

/** An OAuthClientProvider that keeps everything in memory and remembers where it was sent. */
class MemoryProvider {
  constructor(name) {
    this.name = name;
    this.saved = {};
    this.authorizationUrl = undefined;
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: this.name,
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    return 'state-' + this.name;
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(info) {
    this.saved.client = info;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.tokens = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = new URL(url);
  }
  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    return this.saved.verifier;
  }
  saveDiscoveryState(state) {
    this.saved.discovery = state;
  }
  discoveryState() {
    return this.saved.discovery;
  }
}

/** The consent page of `url`: its status, hidden fields and CSRF cookie. */
async function openConsent(url) {
  const response = await fetch(url, { redirect: 'manual' });
  const html = await response.text();
  const field = (name) => html.match(new RegExp(`name="${name}" value="([^"]*)"`))?.[1];
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
  return { response, html, request: field('request'), csrf: field('csrf'), cookie };
}

/** Submits the consent form as the owner would; returns the response (a 303 to the client on success). */
async function submitConsent(consent, { password = OWNER_PASSWORD, decision = 'approve', csrf = consent.csrf, cookie = consent.cookie } = {}) {
  const body = new URLSearchParams({ request: consent.request, csrf: csrf ?? '', password, decision });
  return fetch(new URL('/authorize', BASE_URL), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(cookie ? { Cookie: cookie } : {}) },
    body,
  });
}

/** Plays the owner on `authorizationUrl`: approves and returns the callback's query parameters. */
async function approveAsOwner(authorizationUrl) {
  const consent = await openConsent(authorizationUrl);
  assert.equal(consent.response.status, 200, consent.html);
  assert.ok(consent.request && consent.csrf && consent.cookie, 'the consent page has its form and CSRF cookie');
  const answer = await submitConsent(consent);
  assert.equal(answer.status, 303);
  const location = new URL(answer.headers.get('location'));
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  return location.searchParams;
}

function form(params) {
  return { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) };
}

async function register(metadata) {
  return fetch(new URL('/register', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(metadata),
  });
}

/** A registered public client and an authorization code for it, obtained by hand (no SDK). */
async function codeByHand() {
  const registered = await (await register({ client_name: 'by hand', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' })).json();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL('/authorize', BASE_URL);
  url.search = new URLSearchParams({
    client_id: registered.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 's1',
    resource: `${BASE_URL}/mcp`,
  });
  const callback = await approveAsOwner(url);
  return { clientId: registered.client_id, verifier, challenge, code: callback.get('code'), authorizeUrl: url };
}

async function exchange({ clientId, code, verifier }, extra = {}) {
  const response = await fetch(new URL('/token', BASE_URL), form({
    grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: REDIRECT, code_verifier: verifier, ...extra,
  }));
  return { status: response.status, body: await response.json() };
}

async function mcpStatus(accessToken) {
  const response = await fetch(new URL('/mcp', BASE_URL), {
    method: 'POST',
    headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify(initializeBody()),
  });
  await response.arrayBuffer();
  return response.status;
}

test('discovery: a 401 names the protected resource metadata, which names this server as its authorization server', async () => {
  const response = await fetch(new URL('/mcp', BASE_URL), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(response.status, 401);
  const challenge = response.headers.get('www-authenticate');
  assert.match(challenge, /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp", scope="sandbox"$/);
  const resource = await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', BASE_URL))).json();
  assert.equal(resource.resource, `${BASE_URL}/mcp`);
  assert.deepEqual(resource.authorization_servers, [BASE_URL]);
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const metadata = await (await fetch(new URL(path, BASE_URL))).json();
    assert.equal(metadata.issuer, BASE_URL);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.equal(metadata.authorization_response_iss_parameter_supported, true);
    assert.equal(metadata.client_id_metadata_document_supported, true);
  }
  const wrong = await fetch(new URL('/mcp', BASE_URL), { method: 'POST', headers: { Authorization: 'Bearer mcp_at_nope', 'Content-Type': 'application/json' }, body: '{}' });
  assert.match(wrong.headers.get('www-authenticate'), /error="invalid_token"/);
});

test('SDK 1.x: discovery, registration, consent, PKCE, token, tools and a run, then a refresh', { timeout: 4 * CALL_TIMEOUT_MS }, async () => {
  const provider = new MemoryProvider('SDK 1.x e2e');
  const url = new URL('/mcp', BASE_URL);
  let transport = new TransportV1(url, { authProvider: provider });
  await assert.rejects(new ClientV1(clientInfo).connect(transport), UnauthorizedV1);
  assert.ok(provider.saved.client?.client_id, 'the SDK registered a client');
  assert.equal(provider.authorizationUrl?.pathname, '/authorize');
  assert.equal(provider.authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
  const callback = await approveAsOwner(provider.authorizationUrl);
  assert.equal(callback.get('state'), 'state-SDK 1.x e2e');
  assert.equal(callback.get('iss'), BASE_URL);
  await transport.finishAuth(callback.get('code'));
  assert.match(provider.saved.tokens.access_token, /^mcp_at_/);

  transport = new TransportV1(url, { authProvider: provider });
  const client = new ClientV1(clientInfo);
  await client.connect(transport);
  try {
    const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
    assert.deepEqual(tools, TOOL_NAMES);
    const result = await client.callTool({ name: 'run_code', arguments: { language: 'python', code: 'print(6 * 7)', conversationId: conversationId('oauth-v1') } },
      undefined, { timeout: CALL_TIMEOUT_MS });
    assertRun(result, { language: 'python', stdout: '42\n' });
  } finally {
    await client.close();
  }

  const before = provider.saved.tokens;
  assert.equal(await authV1(provider, { serverUrl: url }), 'AUTHORIZED');
  assert.notEqual(provider.saved.tokens.refresh_token, before.refresh_token, 'refresh tokens rotate');
  assert.equal(await mcpStatus(provider.saved.tokens.access_token), 200);

  // The owner lists the grant and revokes it; the token stops working at once.
  const { stdout } = await promisify(execFile)(BIN, ['oauth', 'list', '--sandbox-root', MAIN_ROOT]);
  const line = stdout.split('\n').find((l) => l.includes('SDK 1.x e2e'));
  assert.ok(line, stdout);
  const grant = line.trim().split(/\s+/)[0];
  await promisify(execFile)(BIN, ['oauth', 'revoke', grant, '--sandbox-root', MAIN_ROOT]);
  assert.equal(await mcpStatus(provider.saved.tokens.access_token), 401);
});

test('client 2.x (2026-07-28): the same flow, the authorization response issuer checked', { timeout: 3 * CALL_TIMEOUT_MS }, async () => {
  const provider = new MemoryProvider('client 2.x e2e');
  const url = new URL('/mcp', BASE_URL);
  let transport = new TransportV2(url, { authProvider: provider });
  await assert.rejects(new ClientV2(clientInfo).connect(transport), UnauthorizedV2);
  const callback = await approveAsOwner(provider.authorizationUrl);
  await transport.finishAuth(callback.get('code'), callback.get('iss'));
  transport = new TransportV2(url, { authProvider: provider });
  const client = new ClientV2(clientInfo);
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: 'run_code', arguments: { language: 'bash', code: 'echo oauth', conversationId: conversationId('oauth-v2') } },
      { timeout: CALL_TIMEOUT_MS });
    assert.match(result.content[0].text, /oauth/);
  } finally {
    await client.close();
  }
});

test('authorization requests: unregistered or open redirects get a page, never a redirect; PKCE plain and missing go back as errors', async () => {
  const { clientId, challenge } = await codeByHand();
  const base = { client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' };
  const ask = async (params) => {
    const url = new URL('/authorize', BASE_URL);
    url.search = new URLSearchParams(params);
    const response = await fetch(url, { redirect: 'manual' });
    return { status: response.status, location: response.headers.get('location'), html: await response.text() };
  };
  for (const redirect of ['https://attacker.example/cb', `${REDIRECT}/../evil`, 'http://127.0.0.1:9/oauth/callback?next=https://attacker.example']) {
    const answer = await ask({ ...base, redirect_uri: redirect });
    assert.equal(answer.status, 400, redirect);
    assert.equal(answer.location, null);
  }
  assert.equal((await ask({ ...base, client_id: 'mcp-unknown' })).location, null);
  const plain = await ask({ ...base, code_challenge_method: 'plain' });
  assert.equal(plain.status, 302);
  assert.match(plain.location, /^http:\/\/127\.0\.0\.1:9\/oauth\/callback\?error=invalid_request/);
  const none = await ask({ ...base, code_challenge: '', code_challenge_method: '' });
  assert.match(none.location, /error=invalid_request/);
  const elsewhere = await ask({ ...base, resource: 'https://other.example/mcp' });
  assert.match(elsewhere.location, /error=invalid_target/);
  const twice = await fetch(`${BASE_URL}/authorize?client_id=${clientId}&client_id=${clientId}`, { redirect: 'manual' });
  assert.equal(twice.status, 400);
  assert.equal(twice.headers.get('location'), null);
});

test('client metadata documents at loopback or private addresses are refused', async () => {
  for (const clientId of ['https://127.0.0.1/client.json', 'https://localhost/client.json', 'https://10.0.0.1/c.json', 'https://169.254.169.254/latest']) {
    const url = new URL('/authorize', BASE_URL);
    url.search = new URLSearchParams({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 400, clientId);
    assert.equal(response.headers.get('location'), null);
    assert.match(await response.text(), /client metadata document could not be used/);
  }
});

test('tokens: codes are single use (a replay revokes what they issued), PKCE must match, resources must be this server', async () => {
  const grant = await codeByHand();
  const wrongVerifier = await exchange(grant, { code_verifier: randomBytes(32).toString('base64url') });
  assert.equal(wrongVerifier.status, 400);
  assert.equal(wrongVerifier.body.error, 'invalid_grant');

  const fresh = await codeByHand();
  const plain = await exchange({ ...fresh, verifier: fresh.challenge });
  assert.equal(plain.body.error, 'invalid_grant');

  const other = await codeByHand();
  assert.equal((await exchange(other, { resource: 'https://other.example/mcp' })).body.error, 'invalid_target');

  const good = await codeByHand();
  const first = await exchange(good);
  assert.equal(first.status, 200);
  assert.equal(await mcpStatus(first.body.access_token), 200);
  const replay = await exchange(good);
  assert.equal(replay.body.error, 'invalid_grant');
  assert.equal(await mcpStatus(first.body.access_token), 401, 'the replayed code revoked its tokens');
});

test('refresh tokens rotate, and a reused one revokes the whole family; revocation (RFC 7009) works', async () => {
  const grant = await codeByHand();
  const issued = (await exchange(grant)).body;
  const refresh = async (token) => {
    const response = await fetch(new URL('/token', BASE_URL), form({ grant_type: 'refresh_token', client_id: grant.clientId, refresh_token: token }));
    return { status: response.status, body: await response.json() };
  };
  const second = await refresh(issued.refresh_token);
  assert.equal(second.status, 200);
  assert.equal((await refresh(issued.refresh_token)).body.error, 'invalid_grant');
  assert.equal(await mcpStatus(second.body.access_token), 401, 'the family is revoked');
  assert.equal((await refresh(second.body.refresh_token)).status, 400);

  const another = (await exchange(await codeByHand())).body;
  const revoked = await fetch(new URL('/revoke', BASE_URL), form({ token: another.access_token, client_id: (await codeByHand()).clientId }));
  assert.equal(revoked.status, 200);
  assert.equal(await mcpStatus(another.access_token), 200, "another client's revocation does nothing");
});

test('the consent form: the CSRF token and cookie are required, a denial goes back as access_denied, the page refuses framing', async () => {
  const { authorizeUrl } = await codeByHand();
  const consent = await openConsent(authorizeUrl);
  assert.match(consent.response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  assert.equal(consent.response.headers.get('x-frame-options'), 'DENY');
  assert.equal(consent.response.headers.get('cache-control'), 'no-store');
  assert.match(consent.cookie, /^mcp_sandbox_csrf=/);
  assert.equal((await submitConsent(consent, { csrf: '' })).status, 403);
  assert.equal((await submitConsent(consent, { cookie: '' })).status, 403);
  assert.equal((await submitConsent(consent, { cookie: 'mcp_sandbox_csrf=forged' })).status, 403);
  const denied = await submitConsent(consent, { decision: 'deny', password: '' });
  assert.equal(denied.status, 303);
  assert.match(denied.headers.get('location'), /error=access_denied.*iss=/);
});

test('wrong owner passwords are refused and, repeated, limited per address (after it, this address cannot approve for 15 minutes)', async () => {
  const consent = await openConsent((await codeByHand()).authorizeUrl);
  let status = 0;
  for (let i = 0; i < 30 && status !== 429; i += 1) {
    const answer = await submitConsent(consent, { password: `wrong-${i}` });
    status = answer.status;
    if (status === 401) {
      const again = await answer.text();
      consent.request = again.match(/name="request" value="([^"]*)"/)[1];
      consent.csrf = again.match(/name="csrf" value="([^"]*)"/)[1];
      consent.cookie = answer.headers.get('set-cookie').split(';')[0];
    }
  }
  assert.equal(status, 429);
  assert.equal((await submitConsent(consent)).status, 429, 'even the right password waits now');
});

test('registration is bounded: huge metadata, bad redirect URIs, and a flood from one address', async () => {
  const huge = await register({ client_name: 'x', redirect_uris: [REDIRECT], padding: 'x'.repeat(64 * 1024) });
  assert.equal(huge.status, 413);
  const badRedirect = await register({ redirect_uris: ['http://attacker.example/cb'] });
  assert.equal(badRedirect.status, 400);
  assert.equal((await badRedirect.json()).error, 'invalid_redirect_uri');
  const tooMany = await register({ redirect_uris: Array.from({ length: 50 }, (_, i) => `https://a.example/${i}`) });
  assert.equal(tooMany.status, 400);
  let limited = 0;
  for (let i = 0; i < 80 && limited === 0; i += 1) {
    const response = await register({ client_name: `bomb ${i}`, redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
    if (response.status === 429) limited += 1;
    else assert.equal(response.status, 201);
  }
  assert.equal(limited, 1, 'one address cannot register without bound');
});
