// Runs with egress against the real engine and the real egress proxy (lib/egress.mjs): what the
// allowlist lets through, everything else a run tries on the way out — other hosts, IP
// literals, the host, the engine's bridge, another container, DNS — and the proxy dying under
// a run. Every address involved is this machine's or a container's the test made; the names
// exist only in the proxy's own resolver.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { ALLOWED_HOST, DENIED_HOST, EgressFixture, PRIVATE_HOST, PROXY_ALIAS } from './lib/egress.mjs';
import { assertOutcome, hostileCase, textOf, useHostileServer } from './lib/harness.mjs';

const fixture = new EgressFixture();
before(() => fixture.start(), { timeout: 60_000 });
const suite = useHostileServer('egress', { settings: fixture.serverSettings() });
after(() => fixture.stop(), { timeout: 60_000 });

// Python helpers every run below starts with: requests through the proxy as clients make them
// (urllib reads http_proxy), tunnels (CONNECT with the run's credentials), direct connections.
const PRELUDE = String.raw`
import base64, errno, http.client, os, socket, urllib.error, urllib.parse, urllib.request
proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
def get(url, opener=None):
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=10) as r:
            return f"{r.status} {r.read().decode().strip()}"
    except urllib.error.HTTPError as e:
        return str(e.code)
    except Exception as e:
        return type(e).__name__
def tunnel(host, port):
    c = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=10)
    auth = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
    c.set_tunnel(host, port, headers={"Proxy-Authorization": "Basic " + auth})
    try:
        c.request("GET", "/hello-tunnel")
        r = c.getresponse()
        return f"{r.status} {r.read().decode().strip()}"
    except OSError as e:
        return str(e)
def direct(host, port, kind=socket.SOCK_STREAM, timeout=5):
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        if kind == socket.SOCK_DGRAM:
            # A datagram's failure to leave comes back on the connected socket.
            s.send(b"egress probe")
            s.recv(16)
        return "REACHED"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
`;

const python = (...lines) => `${PRELUDE}\n${lines.join('\n')}`;

/** The proxy's decision lines for one run, "<allowed|denied> <CONNECT|HTTP> host:port reason=…". */
async function decisionsOf(runId) {
  const logs = await fixture.proxyLogs();
  return logs.split('\n')
    .map((line) => new RegExp(`egress (allowed|denied) run=${runId} policy=allowlist (\\S+) (\\S+) (reason=\\S+)`).exec(line))
    .filter(Boolean)
    .map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
}

describe('egress allowlist through the proxy', { concurrency: 3 }, () => {
  hostileCase(suite, 'the allowed host answers over HTTP and CONNECT; another host, an IP literal, another port and an allowed name resolving to a private address are refused, each decision logged', async (c) => {
    const host = fixture.hostAddress;
    const { run } = await c.run('python', python(
      'print("run", proxy.username)',
      `print("http allowed", get("http://${ALLOWED_HOST}/hello"))`,
      `print("connect allowed", tunnel("${ALLOWED_HOST}", 80))`,
      `print("http denied", get("http://${DENIED_HOST}/hello"))`,
      `print("connect denied", tunnel("${DENIED_HOST}", 443))`,
      `print("http literal", get("http://${host}/hello"))`,
      `print("connect literal", tunnel("${host}", 80))`,
      `print("http port", get("http://${ALLOWED_HOST}:8000/hello"))`,
      `print("http private", get("http://${PRIVATE_HOST}/hello"))`,
      // A client that does not present the run's credentials is not a run with egress.
      `print("http anonymous", get("http://${ALLOWED_HOST}/hello", urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://{proxy.hostname}:{proxy.port}"}))))`,
    ), { egress: 'allowlist' });
    const runId = /^run (\S+)$/m.exec(run.stdout)?.[1];
    assertOutcome(run, {
      exitCode: 0,
      stdout: [
        `run ${runId}`,
        'http allowed 200 hello from the allowed host',
        'connect allowed 200 hello from the allowed host',
        'http denied 403',
        'connect denied Tunnel connection failed: 403 Forbidden',
        'http literal 403',
        'connect literal Tunnel connection failed: 403 Forbidden',
        'http port 403',
        'http private 403',
        'http anonymous 407',
        '',
      ].join('\n'),
    });
    assert.match(runId, /^[0-9a-f]{8,}$/);
    // Exactly the two allowed requests reached the test's server, with the name the run used.
    assert.deepEqual(fixture.requests.filter((r) => r.startsWith('GET /hello ') || r.startsWith('GET /hello-tunnel ')).sort(),
      [`GET /hello ${ALLOWED_HOST}`, `GET /hello-tunnel ${ALLOWED_HOST}`]);
    assert.deepEqual((await decisionsOf(runId)).sort(), [
      `allowed CONNECT ${ALLOWED_HOST}:80 reason=allowed`,
      `allowed HTTP ${ALLOWED_HOST}:80 reason=allowed`,
      `denied CONNECT ${DENIED_HOST}:443 reason=host_not_allowed`,
      `denied CONNECT ${host}:80 reason=host_not_allowed`,
      `denied HTTP ${ALLOWED_HOST}:8000 reason=port_not_allowed`,
      `denied HTTP ${DENIED_HOST}:80 reason=host_not_allowed`,
      `denied HTTP ${PRIVATE_HOST}:80 reason=address_refused`,
      `denied HTTP ${host}:80 reason=host_not_allowed`,
    ].sort());
  });

  hostileCase(suite, 'no route but the proxy: the host, the engine bridge, another container and the internal gateway are unreachable by number, over TCP and UDP', async (c) => {
    const { run } = await c.run('python', python(
      'print("interfaces", " ".join(sorted(os.listdir("/sys/class/net"))))',
      `print("host tcp", direct("${fixture.hostAddress}", 80))`,
      // A datagram's failure reaches its sender only sometimes (the neighbour lookup's error may
      // come back on the socket, or nothing does); that nothing arrived is asserted at the listener.
      `udp = direct("${fixture.hostAddress}", ${fixture.udpPort}, socket.SOCK_DGRAM)`,
      'print("host udp", "no reply" if udp in ("EHOSTUNREACH", "timeout") else udp)',
      `print("bridge tcp", direct("${fixture.bridgeGateway}", 80))`,
      `print("container tcp", direct("${fixture.targetAddress}", 8000))`,
      `print("gateway tcp", direct("${fixture.internalGateway}", 80))`,
      'print("proxy", direct(proxy.hostname, proxy.port))',
    ), { egress: 'allowlist' });
    // The engine gives the run a default route through the internal network's gateway
    // address, which nothing holds (inhibit_ipv4: the host has no address on that bridge), so
    // every address off the subnet fails as the gateway's neighbour lookup does.
    assertOutcome(run, {
      exitCode: 0,
      stdout: [
        'interfaces eth0 lo',
        'host tcp EHOSTUNREACH',
        'host udp no reply',
        'bridge tcp EHOSTUNREACH',
        'container tcp EHOSTUNREACH',
        'gateway tcp EHOSTUNREACH',
        'proxy REACHED',
        '',
      ].join('\n'),
    });
    // The host's UDP listener saw nothing, well after the datagram was sent.
    assert.deepEqual(fixture.datagrams, []);
  });

  hostileCase(suite, 'DNS: outside names resolve nowhere, the proxy\'s name does, and the engine\'s resolver forwards only to the run\'s own loopback', async (c) => {
    const { run } = await c.run('python', python(
      'import struct, threading, time',
      'def lookup(name):',
      '    try:',
      '        return "resolved " + socket.getaddrinfo(name, 80, socket.AF_INET)[0][4][0]',
      '    except socket.gaierror as e:',
      '        return "gaierror"',
      `print("allowed", lookup("${ALLOWED_HOST}"))`,
      `print("proxy", lookup("${PROXY_ALIAS}"))`,
      // The run listens where the engine's resolver forwards (127.0.0.1:53 of its own
      // namespace), asks 127.0.0.11 directly for a name, and reports where the query went.
      'listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      'listener.bind(("127.0.0.1", 53))',
      'listener.settimeout(5)',
      'query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(p)]) + p for p in b"egress-probe.invalid".split(b".")) + b"\\0" + struct.pack(">HH", 1, 1)',
      'asker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      'asker.settimeout(3)',
      'asker.sendto(query, ("127.0.0.11", 53))',
      'try:',
      '    data, _ = listener.recvfrom(4096)',
      '    print("forwarded to the run itself", b"egress-probe" in data)',
      'except socket.timeout:',
      '    print("not forwarded here")',
      'try:',
      '    answer, _ = asker.recvfrom(4096)',
      '    print("answer rcode", answer[3] & 15, "answers", struct.unpack(">H", answer[6:8])[0])',
      'except socket.timeout:',
      '    print("no answer")',
    ), { egress: 'allowlist' });
    assertOutcome(run, { exitCode: 0 });
    const [allowed, proxyLine, ...rest] = run.stdout.split('\n');
    assert.equal(allowed, 'allowed gaierror');
    // The proxy's address on the internal network (the gateway's /16 or narrower).
    const prefix = fixture.internalGateway.split('.').slice(0, 2).join('.');
    assert.match(proxyLine, new RegExp(`^proxy resolved ${prefix.replace('.', '\\.')}\\.\\d+\\.\\d+$`));
    assert.deepEqual(rest, ['forwarded to the run itself True', 'no answer', '']);
  });

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
