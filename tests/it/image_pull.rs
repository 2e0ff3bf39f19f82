//! The reference node pulls an image that only a registry on loopback holds: Debian's
//! `docker-registry` (the CNCF distribution registry) started on 127.0.0.1, an image pushed
//! into it with `skopeo` from an oci-archive of a fixture image under a name no recipe has.
//! A pod naming it runs on the reference target and through `podspec serve` (kube-rs, and the
//! kube target), with the kubelet's `Pulling` / `Pulled` events; a missing image waits in
//! `ErrImagePull`, then `ImagePullBackOff`, with the kubelet's events; under `Never` in
//! `ErrImageNeverPull`; an index chooses this machine's platform, and a digest names one
//! manifest. Nothing leaves the machine. Needs root (the node runs pods),
//! docker-registry and skopeo (CI installs them: ci/install-debian-packages.sh).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::serve::Serve;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A distribution registry on 127.0.0.1, storing under the test's directory; ended by PID.
struct Registry {
    child: Child,
    address: String,
}

impl Registry {
    fn start(dir: &Path) -> Registry {
        Self::start_with_auth(dir, None)
    }

    /// With `htpasswd` (a bcrypt htpasswd file), the registry asks for Basic credentials.
    fn start_with_auth(dir: &Path, htpasswd: Option<&Path>) -> Registry {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");
        let config = dir.join("registry.yml");
        let auth = match htpasswd {
            Some(file) => format!("auth:\n  htpasswd:\n    realm: podspec-test\n    path: {}\n", file.display()),
            None => String::new(),
        };
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n{auth}",
                dir.join("registry").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { child, address };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.address).is_err() {
            assert!(Instant::now() < deadline, "docker-registry does not listen on {}", registry.address);
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// Pushes the entrypoint fixture image (ENTRYPOINT podspec-agent, CMD paused) to `reference`.
fn push_fixture_image(dir: &Path, reference: &str) {
    push_fixture_image_with(dir, reference, None)
}

/// The same, with `user:password` for a registry that asks for them.
fn push_fixture_image_with(dir: &Path, reference: &str, creds: Option<&str>) {
    push_fixture("localhost/podspec/entrypoint:1", dir, reference, creds)
}

/// The oci-archive `podspec images export --format oci-archive` writes for the fixture image
/// `fixture` (a reference its recipe lists), exported once into `dir/export` with a data
/// directory of its own: image-map.txt names the exported image, and the command's output its
/// archive.
fn exported_archive(dir: &Path, fixture: &str) -> std::path::PathBuf {
    let export = dir.join("export");
    let listing = dir.join("export.out");
    if !listing.exists() {
        let out = Command::new(assert_cmd::cargo::cargo_bin("podspec"))
            .args(["images", "export", "--format", "oci-archive"])
            .arg(&export)
            .env("PODSPEC_DATA_DIR", dir.join("export-data"))
            .output()
            .unwrap();
        assert!(out.status.success(), "podspec images export: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(&listing, &out.stdout).unwrap();
    }
    let map = std::fs::read_to_string(export.join("image-map.txt")).unwrap();
    let exported = map
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{fixture}=")))
        .unwrap_or_else(|| panic!("image-map.txt does not name {fixture}: {map}"))
        .to_string();
    let listing = std::fs::read_to_string(&listing).unwrap();
    let archive = listing
        .lines()
        .find_map(|l| {
            let mut fields = l.split('\t');
            let (path, reference) = (fields.next()?, fields.next()?);
            (reference == exported).then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("podspec images export wrote no archive of {exported}: {listing}"));
    archive.into()
}

/// Pushes the fixture image `fixture` (a reference its recipe lists) to `reference`, from
/// `podspec images export`.
fn push_fixture(fixture: &str, dir: &Path, reference: &str, creds: Option<&str>) {
    let archive = exported_archive(dir, fixture);
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false"])
        .args(creds.map(|c| format!("--dest-creds={c}")))
        .arg(format!("oci-archive:{}", archive.display()))
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&out.stderr));
}

fn pod(name: &str, image: &str, policy: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "app", "image": image, "imagePullPolicy": policy}],
        },
    }))
    .unwrap()
}

fn waiting(pod: &Pod) -> Option<(String, String)> {
    let w = pod.status.as_ref()?.container_statuses.as_ref()?.first()?.state.as_ref()?.waiting.as_ref()?;
    Some((w.reason.clone().unwrap_or_default(), w.message.clone().unwrap_or_default()))
}

/// Polls the pod until `done` says so, or fails after `within` naming what was last seen.
async fn until(pods: &Api<Pod>, name: &str, within: Duration, what: &str, mut done: impl FnMut(&Pod) -> bool) -> Pod {
    let deadline = Instant::now() + within;
    loop {
        let p = pods.get(name).await.unwrap();
        if done(&p) {
            return p;
        }
        assert!(Instant::now() < deadline, "pod {name}: not {what} within {within:?}: {:?}", p.status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The pod's events as `TYPE REASON: MESSAGE`, oldest first.
async fn events_of(client: &Client, name: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let mut list: Vec<Event> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .collect();
    list.sort_by_key(|e| e.metadata.creation_timestamp.clone().map(|t| t.0));
    list.iter()
        .map(|e| {
            format!("{} {}: {}", e.type_.as_deref().unwrap_or(""), e.reason.as_deref().unwrap_or(""), e.message.as_deref().unwrap_or(""))
        })
        .collect()
}

const FEATURE: &str = r#"Feature: An image only a registry on loopback holds
  Scenario: The node pulls the image and runs its entrypoint
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: pulled}
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: IMAGE
      """
    Then pod "pulled" is running
    And the log of container "app" of pod "pulled" is:
      """
      Paused
      """
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the reference node runs pods as root only; needs docker-registry and skopeo"]
async fn an_image_only_the_loopback_registry_holds_is_pulled_and_runs() {
    crate::support::require_root("the reference node runs pods as root only");
    crate::support::require_program("docker-registry");
    crate::support::require_program("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start(dir.path());
    let image = format!("{}/test/only-here:1", registry.address);
    push_fixture_image(dir.path(), &image);

    // Through serve, with kube-rs: the pod runs the pulled image's entrypoint, and the kubelet
    // says what it did.
    let serve_data = dir.path().join("serve-data");
    let serve = Serve::start_with_env(&[("PODSPEC_DATA_DIR", &serve_data)]);
    let kubeconfig = Kubeconfig::read_from(&serve.kubeconfig).unwrap();
    let client = Client::try_from(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap()).unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("pulled", &image, "IfNotPresent")).await.unwrap();
    until(&pods, "pulled", Duration::from_secs(60), "running", |p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = pods.logs("pulled", &LogParams::default()).await.unwrap();
        if log == "Paused\n" {
            break;
        }
        assert!(Instant::now() < deadline, "the pulled image's ENTRYPOINT and CMD did not run: log {log:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events = events_of(&client, "pulled").await;
    let pulling = events.iter().position(|e| e == &format!("Normal Pulling: Pulling image {image:?}"));
    let pulled = events.iter().position(|e| e.starts_with(&format!("Normal Pulled: Successfully pulled image {image:?} in ")));
    assert!(pulling.is_some() && pulled > pulling, "{events:#?}");
    assert!(events[pulled.unwrap()].contains(" including waiting). Image size: "), "{events:#?}");
    assert!(events.iter().any(|e| e == "Normal Started: Started container app"), "{events:#?}");
    // A second pod under IfNotPresent finds it on the node; under Always it is pulled again.
    pods.create(&PostParams::default(), &pod("present", &image, "IfNotPresent")).await.unwrap();
    pods.create(&PostParams::default(), &pod("always", &image, "Always")).await.unwrap();
    for name in ["present", "always"] {
        until(&pods, name, Duration::from_secs(60), "running", |p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .await;
    }
    let events = events_of(&client, "present").await;
    assert!(events.contains(&format!("Normal Pulled: Container image {image:?} already present on machine")), "{events:#?}");
    assert!(!events.iter().any(|e| e.contains("Pulling")), "{events:#?}");
    let events = events_of(&client, "always").await;
    assert!(events.contains(&format!("Normal Pulling: Pulling image {image:?}")), "{events:#?}");
    // Pulled again under Always, the manifest is the one unpacked before: its blobs are not
    // fetched again (each GET once in the registry's log), and the image's size is the same.
    let size_of = |events: &[String]| {
        events.iter().find_map(|e| e.split_once("Image size: ").map(|(_, s)| s.to_string())).unwrap_or_else(|| panic!("no size: {events:#?}"))
    };
    let first = size_of(&events_of(&client, "pulled").await);
    assert_eq!(size_of(&events), first, "{events:#?}");
    assert_ne!(first, "0 bytes.", "{events:#?}");
    let log = std::fs::read_to_string(dir.path().join("registry.log")).unwrap();
    for blob in blobs_of(&image) {
        let fetches = log.lines().filter(|l| l.contains("response completed") && l.contains("http.request.method=GET") && l.contains(&blob)).count();
        assert_eq!(fetches, 1, "blob {blob} fetched {fetches} times:\n{log}");
    }

    // An image the registry does not hold: ErrImagePull, then ImagePullBackOff.
    let missing = format!("{}/test/missing:1", registry.address);
    pods.create(&PostParams::default(), &pod("missing", &missing, "IfNotPresent")).await.unwrap();
    let p =
        until(&pods, "missing", Duration::from_secs(30), "in ErrImagePull", |p| waiting(p).is_some_and(|(r, _)| r == "ErrImagePull")).await;
    let (_, message) = waiting(&p).unwrap();
    assert!(message.contains(&format!("failed to pull image {missing:?}")) && message.contains("not found"), "{message}");
    let p = until(&pods, "missing", Duration::from_secs(30), "in ImagePullBackOff", |p| {
        waiting(p).is_some_and(|(r, _)| r == "ImagePullBackOff")
    })
    .await;
    // The kubelet (1.32 and later) keeps the failed pull's error in the back-off's message.
    assert_eq!(waiting(&p).unwrap().1, format!("Back-off pulling image {missing:?}: ErrImagePull: {message}"));
    let events = events_of(&client, "missing").await;
    for expected in [
        format!("Normal Pulling: Pulling image {missing:?}"),
        "Warning Failed: Error: ErrImagePull".to_string(),
        format!("Normal BackOff: Back-off pulling image {missing:?}"),
        "Warning Failed: Error: ImagePullBackOff".to_string(),
    ] {
        assert!(events.contains(&expected), "{expected:?} not in {events:#?}");
    }
    assert!(events.iter().any(|e| e.starts_with(&format!("Warning Failed: Failed to pull image {missing:?}: "))), "{events:#?}");

    // Never: the node does not pull.
    pods.create(&PostParams::default(), &pod("never", &missing, "Never")).await.unwrap();
    let p = until(&pods, "never", Duration::from_secs(30), "in ErrImageNeverPull", |p| {
        waiting(p).is_some_and(|(r, _)| r == "ErrImageNeverPull")
    })
    .await;
    assert_eq!(waiting(&p).unwrap().1, format!("Container image {missing:?} is not present with pull policy of Never"));
    let events = events_of(&client, "never").await;
    assert!(!events.iter().any(|e| e.contains("Pulling")), "{events:#?}");

    // The same image through the kube target against serve, and on the reference target (a
    // data dir of its own, so it pulls too).
    let feature = dir.path().join("pulled.feature");
    std::fs::write(&feature, FEATURE.replace("IMAGE", &image)).unwrap();
    let run = |target_args: &[&str], data: &Path, report: &str| {
        let out = Command::new(assert_cmd::cargo::cargo_bin("podspec"))
            .current_dir(ROOT)
            .env("PODSPEC_DATA_DIR", data)
            .arg("run")
            .args(target_args)
            .arg("--features")
            .arg(&feature)
            .arg("--report-dir")
            .arg(dir.path().join(report))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{target_args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let record = podspec::report::json::read(dir.path().join(report).join("report.json")).unwrap();
        assert_eq!((record.summary.passed, record.summary.failed), (1, 0), "{target_args:?}: {:?}", record.summary);
    };
    run(&["--target", "kube", "--kubeconfig", serve.kubeconfig.to_str().unwrap()], &serve_data, "r-kube");
    drop(serve);
    run(&["--target", "reference"], &dir.path().join("reference-data"), "r-reference");
}

/// A registry with htpasswd auth (Basic): a pod without `imagePullSecrets` fails to pull with
/// `ErrImagePull` (the registry's 401), a Secret the pod names but the API lacks is reported in
/// a `FailedToRetrieveImagePullSecret` event; with a `kubernetes.io/dockerconfigjson` Secret
/// for the registry the pod runs the pulled image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the reference node runs pods as root only; needs docker-registry, skopeo and htpasswd"]
async fn an_image_behind_htpasswd_auth_is_pulled_with_the_pods_image_pull_secret() {
    use base64::Engine;
    crate::support::require_root("the reference node runs pods as root only");
    crate::support::require_program("docker-registry");
    crate::support::require_program("skopeo");
    crate::support::require_program("htpasswd");
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    let out = Command::new("htpasswd").args(["-Bbc"]).arg(&htpasswd).args(["puller", "pull-Pass-1"]).output().unwrap();
    assert!(out.status.success(), "htpasswd: {}", String::from_utf8_lossy(&out.stderr));
    let registry = Registry::start_with_auth(dir.path(), Some(&htpasswd));
    let image = format!("{}/test/private:1", registry.address);
    push_fixture_image_with(dir.path(), &image, Some("puller:pull-Pass-1"));

    let serve_data = dir.path().join("serve-data");
    let serve = Serve::start_with_env(&[("PODSPEC_DATA_DIR", &serve_data)]);
    let kubeconfig = Kubeconfig::read_from(&serve.kubeconfig).unwrap();
    let client = Client::try_from(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap()).unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let with_secrets = |name: &str, secrets: &[&str]| {
        let mut p = pod(name, &image, "IfNotPresent");
        p.spec.as_mut().unwrap().image_pull_secrets =
            Some(secrets.iter().map(|s| k8s_openapi::api::core::v1::LocalObjectReference { name: s.to_string() }).collect());
        p
    };

    // No credentials for the registry (the one Secret named is not in the API): unauthorized.
    pods.create(&PostParams::default(), &with_secrets("no-secret", &["absent"])).await.unwrap();
    let p = until(&pods, "no-secret", Duration::from_secs(30), "in ErrImagePull", |p| waiting(p).is_some_and(|(r, _)| r == "ErrImagePull"))
        .await;
    let (_, message) = waiting(&p).unwrap();
    assert!(message.contains(&format!("failed to pull image {image:?}")) && message.contains("401 Unauthorized"), "{message}");
    let events = events_of(&client, "no-secret").await;
    let expected = "Warning FailedToRetrieveImagePullSecret: Unable to retrieve some image pull secrets (absent); attempting to pull the image may not succeed.";
    assert!(events.iter().any(|e| e == expected), "{events:#?}");

    // A dockerconfigjson Secret whose entry is the registry's host:port.
    let auth = base64::engine::general_purpose::STANDARD.encode("puller:pull-Pass-1");
    let config = serde_json::json!({"auths": {registry.address.clone(): {"auth": auth}}}).to_string();
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "registry-creds"},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config},
    }))
    .unwrap();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), "default");
    secrets.create(&PostParams::default(), &secret).await.unwrap();
    pods.create(&PostParams::default(), &with_secrets("with-secret", &["registry-creds"])).await.unwrap();
    until(&pods, "with-secret", Duration::from_secs(60), "running", |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = pods.logs("with-secret", &LogParams::default()).await.unwrap();
        if log == "Paused\n" {
            break;
        }
        assert!(Instant::now() < deadline, "the pulled image's ENTRYPOINT and CMD did not run: log {log:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events = events_of(&client, "with-secret").await;
    assert!(events.iter().any(|e| e.starts_with(&format!("Normal Pulled: Successfully pulled image {image:?} in "))), "{events:#?}");

    // A Secret with a wrong password: the registry refuses it.
    let bad = base64::engine::general_purpose::STANDARD.encode("puller:wrong");
    let mut wrong = secret.clone();
    wrong.metadata.name = Some("wrong-creds".into());
    wrong.string_data = Some(
        [(".dockerconfigjson".to_string(), serde_json::json!({"auths": {registry.address.clone(): {"auth": bad}}}).to_string())].into(),
    );
    secrets.create(&PostParams::default(), &wrong).await.unwrap();
    let mut p = with_secrets("wrong-secret", &["wrong-creds"]);
    p.spec.as_mut().unwrap().containers[0].image_pull_policy = Some("Always".into());
    pods.create(&PostParams::default(), &p).await.unwrap();
    let p =
        until(&pods, "wrong-secret", Duration::from_secs(30), "in ErrImagePull", |p| waiting(p).is_some_and(|(r, _)| r == "ErrImagePull"))
            .await;
    let (_, message) = waiting(&p).unwrap();
    assert!(message.contains("401 Unauthorized with the credentials given"), "{message}");
    drop(serve);
}

/// The manifest `reference` names in the registry, as stored: its bytes' `sha256:` digest, its
/// size and its media type.
fn manifest_of(reference: &str) -> (String, usize, String) {
    use sha2::Digest;
    let out =
        Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false"]).arg(format!("docker://{reference}")).output().unwrap();
    assert!(out.status.success(), "skopeo inspect: {}", String::from_utf8_lossy(&out.stderr));
    let media_type = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["mediaType"]
        .as_str()
        .unwrap_or("application/vnd.oci.image.manifest.v1+json")
        .to_string();
    (format!("sha256:{:x}", sha2::Sha256::digest(&out.stdout)), out.stdout.len(), media_type)
}

/// The config's and layers' digests of the manifest `reference` names in the registry.
fn blobs_of(reference: &str) -> Vec<String> {
    let out =
        Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false"]).arg(format!("docker://{reference}")).output().unwrap();
    assert!(out.status.success(), "skopeo inspect: {}", String::from_utf8_lossy(&out.stderr));
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    std::iter::once(&manifest["config"]).chain(&layers).map(|d| d["digest"].as_str().unwrap().to_string()).collect()
}

/// PUTs an OCI image index to the registry on loopback (plain HTTP/1.1) as `repository:tag`.
fn put_index(address: &str, repository: &str, tag: &str, index: &serde_json::Value) {
    use std::io::{Read, Write};
    let body = index.to_string();
    let mut conn = std::net::TcpStream::connect(address).unwrap();
    write!(
        conn,
        "PUT /v2/{repository}/manifests/{tag} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/vnd.oci.image.index.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "the registry did not take the index: {answer}");
}

/// An OCI index whose first entry is another image for another architecture and whose second
/// is the entrypoint image for this machine's: the node runs the second (its log says
/// `Paused`, the other image's default command says nothing). A pod naming the entrypoint
/// image by digest runs it too, and a digest the registry does not hold is `ErrImagePull`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the reference node runs pods as root only; needs docker-registry and skopeo"]
async fn an_index_gives_this_machines_platform_and_a_digest_names_one_manifest() {
    crate::support::require_root("the reference node runs pods as root only");
    crate::support::require_program("docker-registry");
    crate::support::require_program("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start(dir.path());
    let repository = format!("{}/test/multi", registry.address);
    push_fixture("localhost/podspec/entrypoint:1", dir.path(), &format!("{repository}:entry"), None);
    push_fixture("busybox:1.36", dir.path(), &format!("{repository}:other"), None);
    let (entry, entry_size, entry_type) = manifest_of(&format!("{repository}:entry"));
    let (other, other_size, other_type) = manifest_of(&format!("{repository}:other"));
    let here = podspec::images::go_arch();
    let elsewhere = if here == "arm64" { "amd64" } else { "arm64" };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": other_type, "digest": other, "size": other_size, "platform": {"os": "linux", "architecture": elsewhere}},
            {"mediaType": entry_type, "digest": entry, "size": entry_size, "platform": {"os": "linux", "architecture": here}},
        ],
    });
    put_index(&registry.address, "test/multi", "multi", &index);

    let serve = Serve::start_with_env(&[("PODSPEC_DATA_DIR", &dir.path().join("serve-data"))]);
    let kubeconfig = Kubeconfig::read_from(&serve.kubeconfig).unwrap();
    let client = Client::try_from(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap()).unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let by_index = format!("{repository}:multi");
    let by_digest = format!("{repository}@{entry}");
    pods.create(&PostParams::default(), &pod("by-index", &by_index, "Always")).await.unwrap();
    pods.create(&PostParams::default(), &pod("by-digest", &by_digest, "IfNotPresent")).await.unwrap();
    for name in ["by-index", "by-digest"] {
        until(&pods, name, Duration::from_secs(60), "started", |p| {
            matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Running" | "Succeeded" | "Failed"))
        })
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = pods.logs(name, &LogParams::default()).await.unwrap();
            if log == "Paused\n" {
                break;
            }
            assert!(Instant::now() < deadline, "pod {name}: not the entrypoint image's ENTRYPOINT and CMD: log {log:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let events = events_of(&client, "by-digest").await;
    assert!(
        events.iter().any(|e| e == &format!("Normal Pulling: Pulling image {by_digest:?}") || e.contains("already present on machine")),
        "{events:#?}"
    );
    // A digest of the right shape that the registry does not hold.
    let absent = format!("{repository}@sha256:{}", "0".repeat(64));
    pods.create(&PostParams::default(), &pod("absent-digest", &absent, "IfNotPresent")).await.unwrap();
    until(&pods, "absent-digest", Duration::from_secs(30), "in ErrImagePull", |p| waiting(p).is_some_and(|(r, _)| r == "ErrImagePull"))
        .await;
    drop(serve);
}
