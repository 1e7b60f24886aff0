// The OAuth consent page in a real browser (Debian's Chromium, driven by playwright-core): the form
// is there, nothing scrolls sideways on a phone, and no other page can frame it. Screenshots at
// desktop and phone widths are kept in build/test-artifacts/ (docs/images/ has copies).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

// The server with OAUTH_ENABLED (run.sh).
const BASE_URL = process.env.MCP_E2E_OAUTH_URL;

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'test-artifacts');
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
let browser;
let consentUrl;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.MCP_E2E_CHROMIUM || '/usr/bin/chromium',
    // No background traffic: this machine (and CI) has no way out, and tests never send any.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const registered = await fetch(new URL('/register', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_name: 'Claude <i>with a long name that must wrap on a phone screen</i>', redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], token_endpoint_auth_method: 'none' }),
  }).then((response) => response.json());
  const url = new URL('/authorize', BASE_URL);
  url.search = new URLSearchParams({
    client_id: registered.client_id,
    redirect_uri: 'https://claude.ai/api/mcp/auth_callback',
    response_type: 'code',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    state: 'browser',
  });
  consentUrl = url.toString();
});

after(async () => {
  await browser?.close();
});

for (const [name, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 375, height: 740 }]]) {
  test(`the consent page at ${viewport.width} px: the form, the client escaped, nothing scrolls sideways`, async () => {
    const context = await browser.newContext({ viewport, deviceScaleFactor: name === 'phone' ? 2 : 1 });
    const page = await context.newPage();
    const blocked = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(BASE_URL)) blocked.push(request.url());
    });
    const response = await page.goto(consentUrl);
    assert.equal(response.status(), 200);
    assert.equal(await page.locator('form input[type=password]').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Allow' }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Deny' }).count(), 1);
    assert.match(await page.locator('main').innerText(), /Claude <i>with a long name/); // shown as text, not markup
    assert.equal(await page.locator('main i').count(), 0);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the ${viewport.width} px screen`);
    assert.deepEqual(blocked, [], 'the page loads nothing from anywhere else');
    await page.screenshot({ path: join(ARTIFACTS, `consent-${name}.png`), fullPage: true });
    await context.close();
  });
}

test('no page can frame the consent page', async () => {
  const page = await browser.newPage();
  // A page of another origin (about:blank here) framing it, as a clickjacking page would.
  await page.setContent(`<iframe id="victim" src="${consentUrl}" width="600" height="600"></iframe>`);
  const frame = await (await page.$('#victim')).contentFrame();
  await frame.waitForLoadState('load');
  assert.equal(await frame.locator('input[type=password]').count(), 0, 'the consent form rendered inside a frame');
  await page.close();
});
