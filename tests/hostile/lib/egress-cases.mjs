// Hostile cases every egress policy with a way out must pass, on a fixture whose policy allows
// ALLOWED_HOST and PRIVATE_HOST (port 80 and 443) and nothing else: the proxy lets through exactly
// those hosts and refuses the rest, each decision logged; the run has no route but the proxy;
// DNS leads nowhere. Declared by each test file whose server offers the policy, on its own
// fixture (egress.test.mjs: allowlist, packages.test.mjs: packages).
import assert from 'node:assert/strict';

import { ALLOWED_HOST, DENIED_HOST, PRIVATE_HOST, PROXY_ALIAS, python } from './egress.mjs';
import { assertOutcome, hostileCase } from './harness.mjs';

/** What the policy's hosts get through the proxy (HTTP and CONNECT), and every refusal with its logged reason. */
export function proxyCase(suite, fixture, policy) {
  hostileCase(suite, `the allowed host answers over HTTP and CONNECT; another host, an IP literal, another port and an allowed name resolving to a private address are refused, each decision logged (${policy})`, async (c) => {
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
    ), { egress: policy });
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
    assert.deepEqual((await fixture.decisionsOf(runId, policy)).sort(), [
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
}

/** The host, the engine's bridge, another container and the internal gateway, by number, over TCP and UDP. */
export function noRouteCase(suite, fixture, policy) {
  hostileCase(suite, `no route but the proxy: the host, the engine bridge, another container and the internal gateway are unreachable by number, over TCP and UDP (${policy})`, async (c) => {
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
    ), { egress: policy });
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
}

/** Names resolve only to the proxy; the engine's resolver forwards to the run's own loopback only. */
export function dnsCase(suite, fixture, policy) {
  hostileCase(suite, `DNS: outside names resolve nowhere, the proxy's name does, and the engine's resolver forwards only to the run's own loopback (${policy})`, async (c) => {
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
    ), { egress: policy });
    assertOutcome(run, { exitCode: 0 });
    const [allowed, proxyLine, ...rest] = run.stdout.split('\n');
    assert.equal(allowed, 'allowed gaierror');
    // The proxy's address on the internal network (the gateway's /16 or narrower).
    const prefix = fixture.internalGateway.split('.').slice(0, 2).join('.');
    assert.match(proxyLine, new RegExp(`^proxy resolved ${prefix.replace('.', '\\.')}\\.\\d+\\.\\d+$`));
    assert.deepEqual(rest, ['forwarded to the run itself True', 'no answer', '']);
  });
}
