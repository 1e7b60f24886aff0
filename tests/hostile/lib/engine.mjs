// The Docker engine, asked directly over its socket (not through the server):
// the hostile suite's independent witness of which containers exist.
import http from 'node:http';


/** Where the engine listens, from DOCKER_HOST as the server reads it (unix socket or tcp). */
function engineAddress() {
  const host = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('tcp://')) {
    const url = new URL(`http://${host.slice('tcp://'.length)}`);
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  throw new Error(`DOCKER_HOST=${host}: the hostile suite can only reach unix:// or tcp:// engines`);
}

export const ENGINE_ADDRESS = engineAddress();

/** The label keys the executor puts on every run container (server/runner/labels.hpp). */
export const runLabels = {
  kind: 'io.mcp-sandbox.kind',
  instance: 'io.mcp-sandbox.instance',
  conversation: 'io.mcp-sandbox.conversation',
};

/** One Engine API call; resolves { status, body } with body parsed when it is JSON. */
export function engineCall(method, path, { timeoutMs = 15_000, address = ENGINE_ADDRESS } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request({ ...address, method, path, timeout: timeoutMs }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body = text;
        if ((response.headers['content-type'] ?? '').includes('json') && text) body = JSON.parse(text);
        resolve({ status: response.statusCode, body });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`engine ${method} ${path}: no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end();
  });
}

/**
 * Every container (running, exited or only created) carrying all of `labels`
 * ("key=value" strings): [{ id, state, labels }].
 */
export async function containersWith(labels) {
  const filters = encodeURIComponent(JSON.stringify({ label: labels }));
  const { status, body } = await engineCall('GET', `/containers/json?all=1&filters=${filters}`);
  if (status !== 200) throw new Error(`engine: listing containers answered ${status}: ${JSON.stringify(body)}`);
  return body.map((c) => ({ id: c.Id, state: c.State, labels: c.Labels ?? {} }));
}

/** The run containers of one server instance, optionally only those of one sandbox directory. */
export function runContainers(instance, sandbox) {
  const labels = [`${runLabels.kind}=run`, `${runLabels.instance}=${instance}`];
  if (sandbox) labels.push(`${runLabels.conversation}=${sandbox}`);
  return containersWith(labels);
}

/** Removes one container of ours (force: also when it runs). A container already gone is fine. */
export async function removeContainer(id) {
  const { status, body } = await engineCall('DELETE', `/containers/${id}?force=1&v=1`);
  if (status !== 204 && status !== 404) throw new Error(`engine: removing ${id} answered ${status}: ${JSON.stringify(body)}`);
}

/** The gateway address of the engine's default bridge (the host as a container on docker0 sees it), or null. */
export async function bridgeGateway() {
  const { status, body } = await engineCall('GET', '/networks/bridge');
  if (status !== 200) return null;
  return body?.IPAM?.Config?.find((c) => c.Gateway)?.Gateway ?? null;
}
