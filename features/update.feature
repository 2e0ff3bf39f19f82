@api-server @update @conformance
Feature: A pod can only be updated in the ways Kubernetes allows
  # "Kubernetes doesn't prevent you from managing Pods directly. It is possible to update some
  # fields of a running Pod, in place. However, Pod update operations like patch, and replace
  # have some limitations: Most of the metadata about a Pod is immutable. ... The
  # spec.containers[*].image, spec.initContainers[*].image, spec.activeDeadlineSeconds,
  # spec.terminationGracePeriodSeconds or spec.tolerations fields can be updated ... For
  # spec.activeDeadlineSeconds field, two types of updates are allowed: setting the unassigned
  # field to a positive number; updating the field from a positive number to a smaller,
  # non-negative number."
  #   kubernetes.io/docs/concepts/workloads/pods/#pod-update-and-replacement
  # The rules and their texts: pkg/apis/core/validation/validation.go ValidatePodUpdate,
  # ValidateContainerUpdates; apimachinery pkg/api/validation/objectmeta.go
  # ValidateObjectMetaUpdate; apiserver pkg/registry/rest/update.go BeforeUpdate;
  # pkg/registry/core/pod/strategy.go (generation).
  # "I set/remove/add to field" reads the pod and writes the whole object back (a PUT with its
  # resourceVersion); "I patch pod" sends a JSON merge patch.

  Background:
    Given a running pod "web":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        labels:
          app: web
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
        tolerations:
        - key: example.com/slow
          operator: Equal
          value: "yes"
          effect: NoSchedule
      """

  # ValidateContainerUpdates: spec.containers[*].image may change.
  Scenario: A container's image may be changed, and the generation grows by one
    Given field "metadata.generation" of pod "web" is "1"
    When I set field "spec.containers[name=app].image" of pod "web" to "busybox:1.35"
    Then the request succeeds
    And field "spec.containers[name=app].image" of pod "web" is "busybox:1.35"
    And field "metadata.generation" of pod "web" is "2"

  # ValidateContainerUpdates: "if len(ctr.Image) == 0 { field.Required(...) }".
  Scenario: A container's image may not be emptied
    Given I remember pod "web"
    When I set field "spec.containers[name=app].image" of pod "web" to ""
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: spec.containers[0].image: Required value
      """
    And pod "web" is unchanged

  # ValidateContainerUpdates: "must not have leading or trailing whitespace".
  Scenario: A container's image may not have leading or trailing whitespace
    Given I remember pod "web"
    When I set field "spec.containers[name=app].image" of pod "web" to " busybox:1.35"
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: spec.containers[0].image: Invalid value: " busybox:1.35": must not have leading or trailing whitespace
      """
    And pod "web" is unchanged

  # ValidatePodUpdate, updatablePodSpecFields: any other spec change is refused with the list of
  # what may change, followed by a diff.
  Scenario: Changing the restart policy is refused with the list of updatable fields
    Given I remember pod "web"
    When I set field "spec.restartPolicy" of pod "web" to "Never"
    Then the request is refused with code 422 and reason "Invalid"
    And the error message starts with:
      """
      Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)
      """
    And pod "web" is unchanged

  # The same rule, through a JSON merge patch instead of a whole-object update.
  Scenario: A merge patch that changes the hostname is refused the same way
    Given I remember pod "web"
    When I patch pod "web" with:
      """
      spec:
        hostname: other
      """
    Then the request is refused with code 422 and reason "Invalid"
    And the error message starts with:
      """
      Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`
      """
    And pod "web" is unchanged

  # updatablePodSpecFields: terminationGracePeriodSeconds may only go from a negative value to 1.
  Scenario: The termination grace period of a pod may not be changed
    Given I remember pod "web"
    When I set field "spec.terminationGracePeriodSeconds" of pod "web" to 5
    Then the request is refused with code 422 and reason "Invalid"
    And the error message starts with:
      """
      Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than
      """
    And pod "web" is unchanged

  # ValidateContainerUpdates: "pod updates may not add or remove containers".
  Scenario: A container may not be added
    Given I remember pod "web"
    When I add to field "spec.containers" of pod "web":
      """
      name: extra
      image: busybox:1.36
      command: ["sleep", "3600"]
      """
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: spec.containers: Forbidden: pod updates may not add or remove containers
      """
    And pod "web" is unchanged

  # ValidatePodUpdate, activeDeadlineSeconds: "from nil to a positive value", then "from a
  # positive value to a lesser, non-negative value".
  Scenario: The active deadline may be set, then lowered
    When I set field "spec.activeDeadlineSeconds" of pod "web" to 3000
    Then the request succeeds
    When I set field "spec.activeDeadlineSeconds" of pod "web" to 2000
    Then the request succeeds
    And field "spec.activeDeadlineSeconds" of pod "web" is "2000"

  # ValidatePodUpdate: "must be less than or equal to previous value".
  Scenario: The active deadline may not be raised
    Given I set field "spec.activeDeadlineSeconds" of pod "web" to 2000
    And I remember pod "web"
    When I set field "spec.activeDeadlineSeconds" of pod "web" to 3000
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: spec.activeDeadlineSeconds: Invalid value: 3000: must be less than or equal to previous value
      """
    And pod "web" is unchanged

  # ValidatePodUpdate: "must not update from a positive integer to nil value".
  Scenario: The active deadline may not be unset once set
    Given I set field "spec.activeDeadlineSeconds" of pod "web" to 2000
    And I remember pod "web"
    When I remove field "spec.activeDeadlineSeconds" of pod "web"
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: spec.activeDeadlineSeconds: Invalid value: "null": must not update from a positive integer to nil value
      """
    And pod "web" is unchanged

  # ValidatePodSpec (which an update also passes through): activeDeadlineSeconds "must be
  # between 1 and 2147483647, inclusive", so a lower value of 0 is refused.
  Scenario: The active deadline may not be lowered to zero
    Given I set field "spec.activeDeadlineSeconds" of pod "web" to 2000
    When I set field "spec.activeDeadlineSeconds" of pod "web" to 0
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive
      """

  # validateOnlyAddedTolerations: additions pass.
  Scenario: A toleration may be added
    When I add to field "spec.tolerations" of pod "web":
      """
      key: example.com/gpu
      operator: Exists
      effect: NoSchedule
      """
    Then the request succeeds
    And field "spec.tolerations[key=example.com/gpu].operator" of pod "web" is "Exists"
    And field "spec.tolerations[key=example.com/slow].value" of pod "web" is "yes"

  # validateOnlyAddedTolerations: "existing toleration can not be modified except its
  # tolerationSeconds".
  Scenario: An existing toleration may not be changed
    Given I remember pod "web"
    When I set field "spec.tolerations[key=example.com/slow].value" of pod "web" to "no"
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds
      """
    And pod "web" is unchanged

  # ValidateObjectMetaUpdate: ValidateImmutableField(uid) -> "field is immutable".
  Scenario: The uid is immutable
    Given I remember pod "web"
    When I patch pod "web" with:
      """
      metadata:
        uid: 00000000-0000-0000-0000-000000000000
      """
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: metadata.uid: Invalid value: "00000000-0000-0000-0000-000000000000": field is immutable
      """
    And pod "web" is unchanged

  # rest.BeforeUpdate: "ignore changes to timestamp" (creationTimestamp is copied from the stored
  # pod before validation) and "Ensure requests cannot update generation".
  Scenario: Changes to creationTimestamp and generation are ignored
    Given I remember pod "web"
    When I patch pod "web" with:
      """
      metadata:
        creationTimestamp: "2001-01-01T00:00:00Z"
        generation: 7
      """
    Then the request succeeds
    And field "metadata.creationTimestamp" of pod "web" is unchanged
    And field "metadata.generation" of pod "web" is "1"

  # pod strategy updatePodGeneration: generation grows only when the spec changes; labels are
  # metadata and may change.
  # conformance: [sig-node] Pods should be updated [NodeConformance] [Conformance]
  Scenario: A label change is accepted and does not change the generation
    When I patch pod "web" with:
      """
      metadata:
        labels:
          tier: front
      """
    Then the request succeeds
    And field "metadata.labels.tier" of pod "web" is "front"
    And field "metadata.generation" of pod "web" is "1"

  # Generation only grows: two image changes, two steps up.
  Scenario: Each spec change raises the generation by one
    When I set field "spec.containers[name=app].image" of pod "web" to "busybox:1.35"
    And I set field "spec.containers[name=app].image" of pod "web" to "busybox:1.36"
    Then field "metadata.generation" of pod "web" is "3"

  # ValidateObjectMetaUpdate: ValidateNoNewFinalizers once deletionTimestamp is set; the pod goes
  # when its last finalizer is removed.
  #   kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/
  Scenario: Once a pod is being deleted, finalizers may be removed but none added
    Given a running pod "held":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: held
        finalizers:
        - example.com/hold
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    When I delete pod "held"
    Then field "metadata.deletionTimestamp" of pod "held" is set
    When I patch pod "held" with:
      """
      metadata:
        finalizers: ["example.com/hold", "example.com/other"]
      """
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/other"}
      """
    When I patch pod "held" with:
      """
      metadata:
        finalizers: null
      """
    Then the request succeeds
    And pod "held" is gone

  # The API server's update and patch handlers (apiserver pkg/endpoints/handlers/rest.go
  # checkName): "the name of the object (X) does not match the name on the URL (Y)", 400.
  Scenario: A whole-object update that renames the pod is a bad request
    Given I remember pod "web"
    When I set field "metadata.name" of pod "web" to "other"
    Then the request is refused with code 400 and reason "BadRequest"
    And the error message is:
      """
      the name of the object (other) does not match the name on the URL (web)
      """
    And pod "web" is unchanged

  # The same rule, through a JSON merge patch.
  Scenario: A merge patch that renames the pod is a bad request
    Given I remember pod "web"
    When I patch pod "web" with:
      """
      metadata:
        name: other
      """
    Then the request is refused with code 400 and reason "BadRequest"
    And the error message is:
      """
      the name of the object (other) does not match the name on the URL (web)
      """
    And pod "web" is unchanged

  # ValidateObjectMetaUpdate validates labels as on create (IsValidLabelValue).
  Scenario: An invalid label value is refused on update too
    Given I remember pod "web"
    When I patch pod "web" with:
      """
      metadata:
        labels:
          app: not a valid value!
      """
    Then the request is refused with code 422 and reason "Invalid"
    And the error message is:
      """
      Pod "web" is invalid: metadata.labels: Invalid value: "not a valid value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')
      """
    And pod "web" is unchanged

  # ValidateAnnotations applies on update too.
  Scenario: An invalid annotation key is refused on update too
    Given I remember pod "web"
    When I patch pod "web" with:
      """
      metadata:
        annotations:
          "a/b/c": x
      """
    Then the request is refused with code 422 and reason "Invalid"
    And the error message starts with:
      """
      Pod "web" is invalid: metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters
      """
    And pod "web" is unchanged

  # Defaulting applies to every object the API server decodes: a whole-object update that leaves
  # out a defaulted field gets the default back, so it changes nothing.
  Scenario: An update that leaves out a defaulted field changes nothing
    When I remove field "spec.dnsPolicy" of pod "web"
    Then the request succeeds
    And field "spec.dnsPolicy" of pod "web" is "ClusterFirst"
    And field "metadata.generation" of pod "web" is "1"
