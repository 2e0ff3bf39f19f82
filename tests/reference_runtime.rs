//! The reference target end to end, below the Gherkin layer: a pod runs, is exec'd into, and
//! leaves nothing behind once deleted.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use podspec::paths::Paths;
use podspec::target::{PodRef, Target};
use podspec::targets::ReferenceTarget;

fn paths() -> Paths {
    std::env::set_var("PODSPEC_SHIM", env!("CARGO_BIN_EXE_podspec-shim"));
    std::env::set_var("PODSPEC_AGENT", env!("CARGO_BIN_EXE_podspec-agent"));
    Paths::from_env().unwrap()
}

fn two_containers(name: &str) -> Pod {
    serde_yaml::from_str(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: smoke}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {{name: a, image: busybox:1.36, command: [sleep, '3600']}}\n  - {{name: b, image: busybox:1.36, command: [sleep, '3600']}}\n"
    ))
    .unwrap()
}

async fn wait_running(t: &ReferenceTarget, p: &PodRef) -> Pod {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pod = t.get_pod(p).await.unwrap();
        if pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            && pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()).is_some_and(|cs| cs.iter().all(|c| c.ready))
        {
            return pod;
        }
        assert!(Instant::now() < deadline, "pod never ran: {:?}", pod.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_runs_execs_and_leaves_nothing_behind() {
    let target = ReferenceTarget::start(paths()).await.expect("reference node starts");
    let run_dir = target.run_dir();
    let p = PodRef { namespace: "smoke".into(), name: "web".into() };
    target.create_pod(&two_containers("web")).await.unwrap();
    let pod = wait_running(&target, &p).await;
    let ip = pod.status.unwrap().pod_ip.unwrap();

    let out = target.exec(&p, "b", &["hostname".into()], Duration::from_secs(10)).await.unwrap();
    assert_eq!((out.stdout.trim(), out.exit_code), ("web", 0), "{out:?}");
    let out = target.exec(&p, "a", &["podspec-agent".into(), "ip".into()], Duration::from_secs(10)).await.unwrap();
    assert_eq!(out.stdout.trim(), ip, "{out:?}");

    target.delete_pod(&p).await.unwrap();
    assert!(target.get_pod(&p).await.is_err());
    target.shutdown().await.unwrap();
    assert!(!run_dir.exists(), "{} is left behind", run_dir.display());
}
