#!/usr/bin/env python3
"""A local https server for the outbound fetch tests (tests/unit/test_outbound_fetch_json.cpp).

Usage: https_server.py WORKDIR
Makes a test CA and a certificate for localhost with openssl in WORKDIR (ca.pem is the CA the
tests trust), listens on loopback only, and prints "READY <port> <other_port>" once both listeners
are up: <port> serves the paths below with the trusted certificate, <other_port> the same paths
with a certificate from a CA nobody trusts (to prove TLS is verified). Runs until killed.

Paths (each request is counted; /hits?path=P answers how often P was requested):
  /doc.json         a client metadata document, Cache-Control: max-age=60
  /nostore.json     the same with Cache-Control: no-store
  /typed.json       Content-Type application/oauth-client+json
  /redirect         302 to /doc.json
  /huge-length      1 MiB of JSON with a Content-Length
  /huge-chunked     1 MiB of JSON, chunked (no length announced)
  /drip             a JSON document sent one byte every 100 ms, for up to a minute
  /text             a JSON body served as text/html
  /invalid          application/json that is not JSON
  /array            a JSON array, not an object
  /missing          404
  /big-headers      the document after 64 KiB of response headers
  /request-headers  the request's own headers, as a JSON object (lower-case names)
  /held             the document, once /release has been requested (waits up to 30 s)
  /release          lets every /held request answer
"""

import http.server
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HUGE = 1024 * 1024


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(work: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
            "-keyout", str(work / f"{name}.key"), "-out", str(work / f"{name}.pem"))


def make_server_cert(work: Path, ca: str, name: str) -> None:
    extensions = work / f"{name}.ext"
    extensions.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                          "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
            "-keyout", str(work / f"{name}.key"), "-out", str(work / f"{name}.csr"))
    openssl("x509", "-req", "-in", str(work / f"{name}.csr"), "-CA", str(work / f"{ca}.pem"),
            "-CAkey", str(work / f"{ca}.key"), "-CAcreateserial", "-days", "2", "-extfile", str(extensions),
            "-out", str(work / f"{name}.pem"))


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.released = threading.Event()
        self.port = 0


STATE = State()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: the test prints what matters
        pass

    def send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def document(self, path: str) -> bytes:
        return json.dumps({"client_id": f"https://localhost:{STATE.port}{path}", "client_name": "Test client",
                           "redirect_uris": ["https://client.example/callback"]}).encode()

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        url = urlsplit(self.path)
        path = url.path
        if path != "/hits":
            with STATE.lock:
                STATE.hits[path] = STATE.hits.get(path, 0) + 1
        try:
            self.route(path, parse_qs(url.query))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client stopped reading: what the size and time caps are for

    def route(self, path: str, query: dict) -> None:
        if path == "/hits":
            with STATE.lock:
                count = STATE.hits.get(query.get("path", [""])[0], 0)
            self.send(200, json.dumps({"hits": count}).encode(), Cache_Control="no-store")
        elif path in ("/doc.json", "/held"):
            if path == "/held":
                STATE.released.wait(30)
            self.send(200, self.document(path), Cache_Control="public, max-age=60")
        elif path == "/nostore.json":
            self.send(200, self.document(path), Cache_Control="no-store")
        elif path == "/typed.json":
            self.send(200, self.document(path), "application/oauth-client+json; charset=utf-8")
        elif path == "/release":
            STATE.released.set()
            self.send(200, b'{"released": true}', Cache_Control="no-store")
        elif path == "/redirect":
            self.send(302, b"{}", Location="/doc.json")
        elif path == "/huge-length":
            self.send(200, b'{"padding": "' + b"x" * HUGE + b'"}')
        elif path == "/huge-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 16384
            self.wfile.write(b'3\r\n{"a\r\n')
            for _ in range(HUGE // len(chunk)):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            body = b'{"padding": "' + b"x" * 600 + b'"}'
            for byte in body:
                self.wfile.write(b"1\r\n%c\r\n" % byte)
                self.wfile.flush()
                time.sleep(0.1)  # the server's pace, which the client's time cap must cut short
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/big-headers":
            body = self.document(path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for index in range(256):
                self.send_header(f"X-Filler-{index}", "y" * 256)
            self.end_headers()
            self.wfile.write(body)
        elif path == "/request-headers":
            self.send(200, json.dumps({name.lower(): value for name, value in self.headers.items()}).encode(),
                      Cache_Control="no-store")
        elif path == "/text":
            self.send(200, b'{"client_id": "x"}', "text/html")
        elif path == "/invalid":
            self.send(200, b'{"client_id": ')
        elif path == "/array":
            self.send(200, b"[1, 2]")
        else:
            self.send(404, b'{"error": "not found"}')


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, family, context: ssl.SSLContext) -> None:
        self.address_family = family
        super().__init__(address, Handler)
        self.socket = context.wrap_socket(self.socket, server_side=True)


def context_for(work: Path, name: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(work / f"{name}.pem", work / f"{name}.key")
    return context


def serve(address, family, context: ssl.SSLContext) -> Server:
    server = Server(address, family, context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    work = Path(sys.argv[1])
    make_ca(work, "ca")
    make_server_cert(work, "ca", "server")
    make_ca(work, "other-ca")
    make_server_cert(work, "other-ca", "other-server")

    trusted = serve(("127.0.0.1", 0), socket.AF_INET, context_for(work, "server"))
    STATE.port = trusted.server_address[1]
    try:
        # The same port on ::1 too, for a resolver that lists it for localhost; loopback only either way.
        serve(("::1", STATE.port), socket.AF_INET6, context_for(work, "server"))
    except OSError:
        pass
    untrusted = serve(("127.0.0.1", 0), socket.AF_INET, context_for(work, "other-server"))
    print(f"READY {STATE.port} {untrusted.server_address[1]}", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
