"""A watcher of `podspec serve` that stops reading, run as a process of its own by
tests/it/serve_hostile.rs. Usage: stalled_watch.py PORT TOKEN PATCHES STALL_SECONDS

Creates pod `stalled-watch` in `default`, opens a watch on the pods of `default` and reads only
its response head; then, on another connection, patches the pod PATCHES times with a 200 kB
annotation (each a MODIFIED event of that size, more than the socket buffers hold), never
reading the watch. STALL_SECONDS after the last patch (however long the patches took: serve's
writes can only stall once they are all sent) it reads the watch until its end or 10 s of silence and
prints one JSON line: {"closed": true|false, "bytes": n, "patch_seconds": s} (closed: serve ended the watch).
Everything goes to 127.0.0.1:PORT only.
"""

import json
import socket
import ssl
import sys
import time

port, token, patches, stall = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE


def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")


def request(s, method, path, body=b"", content_type="application/json"):
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    s.sendall(head.encode() + body)


def answer(s):
    """Reads one response (Content-Length bodies only); returns (code, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"connection closed in a response head: {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    code = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return code, rest


api = connect()
pod = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "stalled-watch"},
    "spec": {
        "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}],
    },
}
request(api, "POST", "/api/v1/namespaces/default/pods", json.dumps(pod).encode())
code, body = answer(api)
if code != 201:
    sys.exit(f"creating the pod: {code} {body[:300]!r}")

watch = connect()
request(watch, "GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1800")
head = b""
while b"\r\n\r\n" not in head:
    head += watch.recv(1)
if not head.startswith(b"HTTP/1.1 200"):
    sys.exit(f"the watch was answered {head!r}")

started = time.monotonic()
for i in range(patches):
    fill = chr(ord("a") + i % 26) * 200_000
    patch = json.dumps({"metadata": {"annotations": {"fill": fill}}}).encode()
    request(api, "PATCH", "/api/v1/namespaces/default/pods/stalled-watch", patch, "application/merge-patch+json")
    code, body = answer(api)
    if code != 200:
        sys.exit(f"patch {i}: {code} {body[:300]!r}")
request(api, "DELETE", "/api/v1/namespaces/default/pods/stalled-watch?gracePeriodSeconds=0")
answer(api)
api.close()

patching = time.monotonic() - started
time.sleep(stall)
watch.settimeout(10)
received, closed = 0, False
try:
    while True:
        chunk = watch.recv(1 << 20)
        if not chunk:
            closed = True
            break
        received += len(chunk)
except (ConnectionError, ssl.SSLError) as e:
    closed = True
except socket.timeout:
    closed = False
print(json.dumps({"closed": closed, "bytes": received, "patch_seconds": round(patching, 1)}), flush=True)
