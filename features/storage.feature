@storage
Feature: An emptyDir volume is shared by the pod's containers and outlives their restarts
  # "All containers in the Pod can read and write the same files in the emptyDir volume, though
  # that volume can be mounted at the same or different paths in each container. When a Pod is
  # removed from a node for any reason, the data in the emptyDir is deleted permanently."
  # "A container crashing does not remove a Pod from a node. The data in an emptyDir volume is
  # safe across container crashes."
  #   kubernetes.io/docs/concepts/storage/volumes/#emptydir

  # e2e: test/e2e/common/storage/empty_dir.go, "pod should support shared volumes between containers".
  # conformance: [sig-storage] EmptyDir volumes pod should support shared volumes between containers [Conformance]
  @conformance
  Scenario: Each container sees the other's writes to an emptyDir mounted at different paths
    Given a running pod from fixture "shared-emptydir.yaml"
    Then running "echo from-writer > /data/note" in container "writer" of pod "shared-emptydir" succeeds
    And running "cat /shared/note" in container "reader" of pod "shared-emptydir" prints "from-writer"
    And running "echo from-reader > /shared/reply" in container "reader" of pod "shared-emptydir" succeeds
    And running "cat /data/reply" in container "writer" of pod "shared-emptydir" prints "from-reader"

  # volumes/#emptydir: "The data in an emptyDir volume is safe across container crashes."
  # Pod lifecycle: with restartPolicy Always, the kubelet restarts a container that exits.
  @conformance
  Scenario: A file in the emptyDir survives a restart of the container that wrote it
    Given a running pod from fixture "shared-emptydir.yaml"
    And running "echo kept > /data/kept" in container "writer" of pod "shared-emptydir" succeeds
    When the main process of container "writer" of pod "shared-emptydir" dies
    Then container "writer" of pod "shared-emptydir" is running with restart count 1
    And running "cat /data/kept" in container "writer" of pod "shared-emptydir" prints "kept"

  # The container's own filesystem is a writable layer of that container instance: a restarted
  # container starts again from its image (kubernetes.io/docs/concepts/storage/volumes/:
  # "On-disk files in a container are ephemeral ... the kubelet restarts it with a clean state").
  @conformance
  Scenario: A file outside any volume is gone after the container restarts
    Given a running pod from fixture "shared-emptydir.yaml"
    And running "echo lost > /tmp/lost" in container "writer" of pod "shared-emptydir" succeeds
    When the main process of container "writer" of pod "shared-emptydir" dies
    Then container "writer" of pod "shared-emptydir" is running with restart count 1
    And running "cat /tmp/lost" in container "writer" of pod "shared-emptydir" fails with "No such file or directory"

  # volumes/#emptydir: "When a Pod is removed from a node for any reason, the data in the
  # emptyDir is deleted permanently."
  @node-access
  Scenario: The emptyDir's directory is gone from the node once the pod is deleted
    Given a running pod from fixture "shared-emptydir.yaml"
    And running "echo bye > /data/bye" in container "writer" of pod "shared-emptydir" succeeds
    And volume "data" of pod "shared-emptydir" exists on the node
    When I delete pod "shared-emptydir"
    Then pod "shared-emptydir" is gone
    And volume "data" of pod "shared-emptydir" no longer exists on the node
