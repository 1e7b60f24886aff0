// Requests no HTTP client library would send as written: exact request bytes
// over a socket (no URL normalisation, duplicate or contradictory headers),
// and download signatures minted with the server's FILE_SECRET to test what
// the server does with a genuine signature on a path it must still refuse.
import { createHmac } from 'node:crypto';
import net from 'node:net';

/**
 * Sends `request` (a string or Buffer, sent as is) to the server and reads until the server
 * closes or `timeoutMs` passes. Resolves { status, headers (lower-case names), body, raw, closed }:
 * status 0 when nothing came back.
 */
export function rawExchange(server, request, { timeoutMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    const chunks = [];
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const head = split < 0 ? raw : raw.slice(0, split);
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
      resolve({ status, headers, body: split < 0 ? '' : raw.slice(split + 4), raw, closed });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', finish);
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(request);
  });
}

/** A GET of exactly `target` (the request-target, unnormalised), connection closed after. */
export function rawGet(server, target, headers = '') {
  return rawExchange(server, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n${headers}Connection: close\r\n\r\n`);
}

/** A POST /mcp with the server's token, `extraHeaders` (raw lines with CRLF) and an exact body. */
export function rawPost(server, body, extraHeaders = '', { contentLength = true } = {}) {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${server.token}\r\n` +
    'Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nConnection: close\r\n' +
    (contentLength ? `Content-Length: ${bytes.length}\r\n` : '') + `${extraHeaders}\r\n`;
  return rawExchange(server, Buffer.concat([Buffer.from(head), bytes]));
}

const hmacHex = (key, message) => createHmac('sha256', key).update(message).digest('hex');

/** The download signature the server would give `path` in `sandbox` expiring at `exp` (sandbox/url_signer.cpp). */
export function mintSignature(server, sandbox, path, exp) {
  const key = hmacHex(server.fileSecret, 'mcp-sandbox/download-url');
  return hmacHex(key, `${sandbox}\0${path}\0${exp}`);
}
