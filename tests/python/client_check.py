"""The official Kubernetes Python client against podspec serve: create, list, watch, exec
through its stream module (WebSocket v4.channel.k8s.io) and delete. Usage: client_check.py KUBECONFIG"""

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
print("python client: create, list, watch, exec (stream), delete passed")
