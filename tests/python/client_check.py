"""The official Kubernetes Python client against podspec serve: create, list, watch, exec
through its stream module (WebSocket v4.channel.k8s.io: stdout, stdin, the exit code, a tty
and its resize), the pod's events, and delete. Usage: client_check.py KUBECONFIG"""

import json
import sys
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
name, ns = "py-web", "default"
pod = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": name, "labels": {"client": "python"}},
    "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}],
    },
}
created = v1.create_namespaced_pod(ns, pod)
assert created.metadata.uid, created

listed = [p.metadata.name for p in v1.list_namespaced_pod(ns, label_selector="client=python").items]
assert listed == [name], listed

running = False
w = watch.Watch()
for event in w.stream(v1.list_namespaced_pod, ns, field_selector=f"metadata.name={name}", timeout_seconds=60):
    statuses = event["object"].status.container_statuses or []
    if statuses and all(s.state.running for s in statuses):
        running = True
        w.stop()
assert running, "the watch never saw the pod running"

out = stream(v1.connect_get_namespaced_pod_exec, name, ns, command=["hostname"], stderr=True, stdin=False, stdout=True, tty=False)
assert out.strip() == name, repr(out)



def session(command, tty):
    return stream(v1.connect_get_namespaced_pod_exec, name, ns, command=command, stderr=not tty, stdin=True,
                  stdout=True, tty=tty, _preload_content=False)


def read_until(resp, wanted, seconds=20):
    seen = ""
    deadline = time.time() + seconds
    while wanted not in seen:
        assert time.time() < deadline and resp.is_open(), f"no {wanted!r} in {seen!r}"
        resp.update(timeout=1)
        seen += resp.read_stdout() if resp.peek_stdout() else ""
    return seen


# exec with stdin: what is written reaches the command; its exit code comes back as a Status.
resp = session(["sh", "-c", "read line; echo got:$line; echo err >&2; exit 5"], tty=False)
resp.write_stdin("hello\n")
read_until(resp, "got:hello")
resp.run_forever(timeout=20)
assert resp.returncode == 5, resp.returncode
resp.close()

# exec with a tty: the command's terminal takes each size sent on the resize channel.
resp = session(["sh", "-c", "read a; stty size; read b; stty size"], tty=True)
resp.write_channel(4, json.dumps({"Width": 100, "Height": 40}))
resp.write_stdin("\n")
read_until(resp, "40 100")
resp.write_channel(4, json.dumps({"Width": 120, "Height": 50}))
resp.write_stdin("\n")
read_until(resp, "50 120")
resp.run_forever(timeout=20)
assert resp.returncode == 0, resp.returncode
resp.close()

# The kubelet's events about the pod, by the field selector kubectl describe uses.
events = v1.list_namespaced_event(ns, field_selector=f"involvedObject.name={name},involvedObject.kind=Pod").items
reasons = {e.reason for e in events}
assert {"Scheduled", "Pulled", "Created", "Started"} <= reasons, reasons
assert all(e.involved_object.uid == created.metadata.uid for e in events), events

v1.delete_namespaced_pod(name, ns)
deadline = time.time() + 60
while True:
    try:
        v1.read_namespaced_pod(name, ns)
    except ApiException as e:
        assert e.status == 404, e
        break
    assert time.time() < deadline, "the pod was not deleted"
    time.sleep(0.1)
print("python client: create, list, watch, exec (stream; stdin, exit code, tty with resize), events, delete passed")
