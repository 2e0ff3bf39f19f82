"""A hostile local client of `podspec serve`, run as a process of its own by
tests/it/serve_hostile.rs. Usage: hostile_clients.py PORT IDLE STALLED_TLS SLOW_HEADERS [KEEP_ALIVE TOKEN]

Opens, to 127.0.0.1:PORT only:
- IDLE TCP connections that never send a byte;
- STALLED_TLS connections that send the first bytes of a TLS ClientHello and stop;
- SLOW_HEADERS connections that finish TLS, then send a request head one byte a second;
- KEEP_ALIVE connections that send one request with TOKEN (GET /version), read the answer and
  then stay open, idle.
Connections the server refuses or closes at once are counted, not retried. Prints one JSON
line `{"opened": {...}}` when all are open, then reads commands on stdin, one a line:
`status` prints `{"closed": {group: n}, "open": {group: n}}` (a connection counts as closed
once the server ended it); `exit` (or the end of stdin, or 300 s) closes everything and exits.
"""

import json
import resource
import select
import socket
import ssl
import sys
import time

port, idle_n, tls_n, slow_n = (int(a) for a in sys.argv[1:5])
keep_n = int(sys.argv[5]) if len(sys.argv) > 5 else 0
token = sys.argv[6] if len(sys.argv) > 6 else ""
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

groups = {"idle": [], "stalled_tls": [], "slow_headers": [], "keep_alive": []}
closed = {g: 0 for g in groups}
refused = {g: 0 for g in groups}


def connect():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


for _ in range(idle_n):
    try:
        groups["idle"].append(connect())
    except OSError:
        refused["idle"] += 1

# A TLS record header (handshake, TLS 1.0 record version, 512 bytes announced) and the
# ClientHello's first bytes: the server waits for the rest.
hello_start = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
for _ in range(tls_n):
    try:
        s = connect()
        s.sendall(hello_start)
        groups["stalled_tls"].append(s)
    except OSError:
        refused["stalled_tls"] += 1

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
head = b"GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
for _ in range(slow_n):
    try:
        s = ctx.wrap_socket(connect(), server_hostname="127.0.0.1")
        groups["slow_headers"].append([s, 0])
    except OSError:
        refused["slow_headers"] += 1

request = f"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
for _ in range(keep_n):
    try:
        s = ctx.wrap_socket(connect(), server_hostname="127.0.0.1")
        s.sendall(request)
        answer = s.recv(65536)
        if not answer.startswith(b"HTTP/1.1 200"):
            sys.exit(f"GET /version with the token was answered {answer[:200]!r}")
        groups["keep_alive"].append(s)
    except OSError:
        refused["keep_alive"] += 1

print(json.dumps({"opened": {g: len(v) for g, v in groups.items()}, "refused": refused}), flush=True)


def is_closed(s):
    """Whether the server ended this connection (EOF or reset), without blocking."""
    try:
        p = select.poll()
        p.register(s, select.POLLIN)
        if not p.poll(0):
            return False
        if isinstance(s, ssl.SSLSocket):
            s.setblocking(False)
            try:
                return s.recv(1) == b""
            except ssl.SSLWantReadError:
                return False
            finally:
                s.setblocking(True)
        return s.recv(1, socket.MSG_DONTWAIT) == b""
    except (ConnectionError, ssl.SSLError, OSError):
        return True


def sweep():
    for g in ("idle", "stalled_tls", "keep_alive"):
        still = []
        for s in groups[g]:
            if is_closed(s):
                closed[g] += 1
                s.close()
            else:
                still.append(s)
        groups[g] = still
    still = []
    for s, sent in groups["slow_headers"]:
        if is_closed(s):
            closed["slow_headers"] += 1
            s.close()
            continue
        try:
            if sent < len(head):
                s.setblocking(False)
                s.send(head[sent : sent + 1])
                s.setblocking(True)
                sent += 1
            still.append([s, sent])
        except (ssl.SSLWantWriteError, BlockingIOError):
            s.setblocking(True)
            still.append([s, sent])
        except OSError:
            closed["slow_headers"] += 1
            s.close()
    groups["slow_headers"] = still


stdin = select.poll()
stdin.register(sys.stdin, select.POLLIN)
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    r = stdin.poll(1000)
    sweep()
    if r:
        line = sys.stdin.readline()
        if not line or line.strip() == "exit":
            break
        if line.strip() == "status":
            sweep()
            print(json.dumps({"closed": closed, "open": {g: len(v) for g, v in groups.items()}}), flush=True)
