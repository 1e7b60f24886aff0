// The egress deployment for the hostile suite, made of real parts on this machine only: an
// internal network like the one `./build.sh serve` creates (internal, no host address on its
// bridge), the egress proxy started as the deployment starts it (a container of the server
// image running `mcp-sandbox egress-proxy`, hardened the same way, on that network under an
// alias and on a network with a way out) but running this build's binary, an HTTP server of the
// test's own on the host, and a bystander container on the engine's default bridge.
//
// No name the runs use exists anywhere but here: the proxy resolves the test's host names
// through its own /etc/hosts (--add-host), each to an address of this machine (the way-out
// network's gateway, i.e. the host) or of a container the test made. Nothing is sent off it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { BIN, WORK } from './server.mjs';

const run = promisify(execFile);
export const DOCKER = process.env.DOCKER_CLI || '/usr/bin/docker';

/** The names runs may ask the proxy for, and where the proxy's resolver sends them. */
export const ALLOWED_HOST = 'allowed.egress.test';
export const DENIED_HOST = 'denied.egress.test';
/** Allowlisted, but resolves to another container's private address: the address check refuses it. */
export const PRIVATE_HOST = 'private.egress.test';
export const PROXY_ALIAS = 'egress-proxy.hostile.test';
/** Every container and network the fixture makes carries this label, for run.sh's clean-up. */
export const WORK_LABEL = 'io.mcp-sandbox.hostile-work';

// Python helpers every probe run starts with: requests through the proxy as clients make them
// (urllib reads http_proxy), tunnels (CONNECT with the run's credentials), direct connections.
export const PRELUDE = String.raw`
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

/** A Python program: the helpers, then `lines`. */
export const python = (...lines) => `${PRELUDE}\n${lines.join('\n')}`;

async function docker(...args) {
  const { stdout } = await run(DOCKER, args, { maxBuffer: 16 << 20 });
  return stdout.trim();
}

async function inspectGateway(network) {
  return docker('network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', network);
}

export class EgressFixture {
  constructor() {
    const suffix = randomBytes(4).toString('hex');
    this.internal = `mcp-hostile-egress-${suffix}`;
    this.outside = `mcp-hostile-egress-out-${suffix}`;
    this.proxyName = `mcp-hostile-egress-proxy-${suffix}`;
    this.targetName = `mcp-hostile-egress-target-${suffix}`;
    this.grants = mkdtempSync(join(WORK, 'egress-grants-'));
    this.requests = [];   // "<method> <path> <host>" of every request the test's server saw
    this.waiters = [];
    this.handlers = [];   // (url, response) => true when it answered the request (lib/registry.mjs)
  }

  /** The settings a server with egress gets (over HOSTILE_SETTINGS). */
  serverSettings() {
    return {
      EGRESS_POLICIES: 'allowlist',
      EGRESS_ALLOWLIST: `${ALLOWED_HOST},${PRIVATE_HOST}`,
      EGRESS_NETWORK: this.internal,
      EGRESS_PROXY: `${PROXY_ALIAS}:3128`,
      EGRESS_GRANTS_DIR: this.grants,
    };
  }

  async start() {
    const label = `${WORK_LABEL}=${WORK}`;
    // As ./build.sh serve creates it: internal, and inhibit_ipv4 so the host has no address on it.
    await docker('network', 'create', '--internal', '--label', label,
      '-o', 'com.docker.network.bridge.inhibit_ipv4=true', this.internal);
    this.internalGateway = await inspectGateway(this.internal);
    await docker('network', 'create', '--label', label, this.outside);
    // The host as the proxy sees it: where the test's HTTP server listens.
    this.hostAddress = await inspectGateway(this.outside);
    this.bridgeGateway = await inspectGateway('bridge');

    this.httpServer = http.createServer((request, response) => this.#serve(request, response));
    await new Promise((resolve, reject) => {
      this.httpServer.once('error', reject);
      this.httpServer.listen(80, this.hostAddress, resolve);
    });

    // A UDP listener on the host too: runs must not get a datagram to it.
    this.datagrams = [];
    this.udp = dgram.createSocket('udp4');
    this.udp.on('message', (message, from) => this.datagrams.push(`${from.address}: ${message}`));
    await new Promise((resolve, reject) => {
      this.udp.once('error', reject);
      this.udp.bind(0, this.hostAddress, resolve);
    });
    this.udpPort = this.udp.address().port;

    // Another container, on the engine's default bridge: runs must not reach it in any way.
    await docker('run', '-d', '--name', this.targetName, '--label', label, '--user', '1000', '--read-only',
      '--cap-drop', 'ALL', '--entrypoint', 'python3', 'mcp-sandbox/runner-python:latest',
      '-m', 'http.server', '--bind', '0.0.0.0', '8000');
    this.targetAddress = await docker('inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', this.targetName);

    await this.startProxy();
  }

  /** The proxy container, with the flags of ./build.sh serve's (no restart policy: a test kills it). */
  async startProxy() {
    const label = `${WORK_LABEL}=${WORK}`;
    await docker('run', '-d', '--name', this.proxyName, '--label', label, '--label', 'io.mcp-sandbox.kind=egress-proxy',
      '--network', this.outside,
      '--user', `${process.getuid()}:${process.getgid()}`, '--cap-drop', 'ALL',
      '--security-opt', 'no-new-privileges:true', '--read-only',
      '-v', `${this.grants}:/grants:ro`, '-v', `${BIN}:/usr/local/bin/mcp-sandbox:ro`,
      '-e', 'EGRESS_GRANTS_DIR=/grants', '-e', 'EGRESS_LISTEN=0.0.0.0:3128',
      // The host (the test's server) is a private address: permitted exactly, as an operator
      // permits an internal mirror. The other container's address is not.
      '-e', `EGRESS_PERMITTED_RANGES=${this.hostAddress}/32`,
      '--add-host', `${ALLOWED_HOST}:${this.hostAddress}`, '--add-host', `${DENIED_HOST}:${this.hostAddress}`,
      '--add-host', `${PRIVATE_HOST}:${this.targetAddress}`,
      'mcp-sandbox/server:latest', 'egress-proxy');
    await docker('network', 'connect', '--alias', PROXY_ALIAS, this.internal, this.proxyName);
    await this.#waitListening();
  }

  // The proxy logs its start line once it listens (the only readiness signal it gives).
  async #waitListening() {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const logs = await this.proxyLogs();
      if (logs.includes('egress proxy listening on')) return;
      if (Date.now() > deadline) throw new Error(`the egress proxy did not start:\n${logs}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async proxyLogs() {
    const { stdout, stderr } = await run(DOCKER, ['logs', this.proxyName], { maxBuffer: 16 << 20 });
    return stdout + stderr;
  }

  /** The proxy's decision lines for one run, "<allowed|denied> <CONNECT|HTTP> host:port reason=…". */
  async decisionsOf(runId, policy) {
    const logs = await this.proxyLogs();
    return logs.split('\n')
      .map((line) => new RegExp(`egress (allowed|denied) run=${runId} policy=${policy} (\\S+) (\\S+) (reason=\\S+)`).exec(line))
      .filter(Boolean)
      .map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
  }

  async killProxy() {
    await docker('kill', this.proxyName);
  }

  /** Resolves with the next request to `path` the test's server sees. */
  nextRequest(path) {
    return new Promise((resolve) => this.waiters.push({ path, resolve }));
  }

  #serve(request, response) {
    this.requests.push(`${request.method} ${request.url} ${request.headers.host}`);
    for (const waiter of this.waiters.filter((w) => w.path === request.url)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(request);
    }
    if (this.handlers.some((handler) => handler(request.url, response))) return;
    if (request.url.startsWith('/hello')) {
      response.end('hello from the allowed host\n');
    } else if (request.url === '/slow') {
      // The head and a first chunk, then nothing: the body never ends while the test holds it.
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      response.write('first chunk\n');
      this.slowResponses = [...(this.slowResponses ?? []), response];
    } else {
      response.statusCode = 404;
      response.end('not found\n');
    }
  }

  async stop() {
    for (const response of this.slowResponses ?? []) response.destroy();
    this.httpServer?.closeAllConnections();
    this.udp?.close();
    await new Promise((resolve) => (this.httpServer ? this.httpServer.close(resolve) : resolve()));
    for (const name of [this.proxyName, this.targetName]) await docker('rm', '-f', name).catch(() => {});
    for (const name of [this.internal, this.outside]) await docker('network', 'rm', name).catch(() => {});
  }
}
