// Runs with egress against the real engine and the real egress proxy (lib/egress.mjs): what the
// allowlist lets through, everything else a run tries on the way out — other hosts, IP
// literals, the host, the engine's bridge, another container, DNS — and the proxy dying under
// a run. Every address involved is this machine's or a container's the test made; the names
// exist only in the proxy's own resolver.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { ALLOWED_HOST, EgressFixture, python } from './lib/egress.mjs';
import { dnsCase, noRouteCase, proxyCase } from './lib/egress-cases.mjs';
import { assertOutcome, hostileCase, textOf, useHostileServer } from './lib/harness.mjs';

const fixture = new EgressFixture();
before(() => fixture.start(), { timeout: 60_000 });
const suite = useHostileServer('egress', { settings: fixture.serverSettings() });
after(() => fixture.stop(), { timeout: 60_000 });

describe('egress allowlist through the proxy', { concurrency: 3 }, () => {
  proxyCase(suite, fixture, 'allowlist');
  noRouteCase(suite, fixture, 'allowlist');
  dnsCase(suite, fixture, 'allowlist');

  hostileCase(suite, 'none on a server that offers egress: only lo; a policy not offered is refused with the ones that are', async (c) => {
    const { run } = await c.run('python', [
      'import errno, os, socket',
      'print("interfaces", " ".join(sorted(os.listdir("/sys/class/net"))))',
      's = socket.socket()',
      's.settimeout(3)',
      'try:',
      `    s.connect(("${fixture.hostAddress}", 80))`,
      '    print("REACHED")',
      'except OSError as e:',
      '    print(errno.errorcode[e.errno])',
    ].join('\n'), { egress: 'none' });
    assertOutcome(run, { exitCode: 0, stdout: 'interfaces lo\nENETUNREACH\n' });
    const refused = await c.call('run_code', { language: 'bash', code: 'echo hi', egress: 'open' });
    assert.equal(refused.isError, true);
    assert.equal(textOf(refused), "The run could not happen: egress 'open' is not offered by this server; it offers: none, allowlist");
  });
});

hostileCase(suite, 'the proxy dying mid-run: the run\'s transfer fails at once, not at the deadline; the next run with egress is refused at once naming the missing proxy; the server keeps serving', async (c) => {
  const started = Date.now();
  const seen = fixture.nextRequest('/slow');
  const pending = c.run('python', python(
    `r = urllib.request.urlopen("http://${ALLOWED_HOST}/slow", timeout=60)`,
    'print(r.readline().decode().strip(), flush=True)',
    'try:',
    '    print("read ended", len(r.read()))',
    'except Exception as e:',
    '    print("read failed", type(e).__name__)',
  ), { egress: 'allowlist' });
  await seen;
  const killed = Date.now();
  await fixture.killProxy();
  const { run } = await pending;
  assertOutcome(run, { exitCode: 0, timedOut: false });
  assert.match(run.stdout, /^first chunk\nread failed (IncompleteRead|ConnectionResetError|RemoteDisconnected)\n$/);
  // Well inside the 20 s run deadline: the run learnt at once that its way out was gone.
  assert.ok(Date.now() - killed < 10_000, `the run ended ${Date.now() - killed} ms after the proxy was killed`);

  // The next run with egress is refused before any container, saying what is missing.
  const refusedAt = Date.now();
  const refused = await c.call('run_code', { language: 'python', code: 'print(1)', egress: 'allowlist' });
  assert.equal(refused.isError, true);
  assert.equal(textOf(refused), 'The run could not happen: egress unavailable: no egress proxy is running on network ' +
    `${fixture.internal} (a container labelled io.mcp-sandbox.kind=egress-proxy; docs/security.md, Egress)`);
  assert.ok(Date.now() - refusedAt < 5_000, `the refusal took ${Date.now() - refusedAt} ms`);
  // Runs without egress are not affected.
  const { run: plain } = await c.run('bash', 'echo still serving');
  assertOutcome(plain, { exitCode: 0, stdout: 'still serving\n' });
  assert.ok(Date.now() - started < 60_000);
});
