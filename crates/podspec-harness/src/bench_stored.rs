//! `podspec bench --stored N`: what a create costs as the store grows. N pods are created one
//! band after another into a namespace of their own, each bound to a node that is not this one,
//! so that no kubelet runs them and the store alone grows; the creates that brought the store to
//! 100, 1000, 10,000 ... pods (and to N) are timed as bands, so that a reader sees whether a
//! create costs the same beside 10,000 stored pods as beside 100.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Pod;

use crate::bench::{ms, Peaks, Timing};
use crate::targets::kube::KubeError;
use crate::targets::{Target, TargetCapabilities as _, TargetError};

/// The node the stored pods are bound to: no node of podspec's, so none runs them (a pod bound
/// to a node that has no kubelet stays in the store, Pending, as on a cluster).
pub const ELSEWHERE: &str = "podspec-bench-elsewhere";

/// How many creates are in flight at once, in process and through serve alike.
pub const IN_FLIGHT: usize = 8;

/// How many creates make a band: those that brought the store to a band's size.
const BAND: usize = 100;

/// The label every stored pod carries, with the run's size as its value.
const STORED_LABEL: &str = "podspec-bench-stored";

/// The sizes of the store a run of `pods` reports at: 100, 1000, 10,000 ... up to `pods`, and
/// `pods` itself. Each band is the [`BAND`] creates that end there (fewer for a run smaller than
/// a band).
pub fn band_ends(pods: usize) -> Vec<usize> {
    let mut ends: Vec<usize> = std::iter::successors(Some(BAND), |n| n.checked_mul(10)).take_while(|n| *n <= pods).collect();
    if ends.last() != Some(&pods) && pods > 0 {
        ends.push(pods);
    }
    ends
}

/// The creates of one band: those that brought the store from `stored - creates` to `stored`.
#[derive(Debug, Clone)]
pub struct Band {
    /// Pods in the store when the band's last create returned.
    pub stored: usize,
    /// The band's creates over the time from its first create issued until its last returned.
    pub creates_per_second: f64,
    /// Each create of the band, issued until returned.
    pub creates: Timing,
}

/// One run of `podspec bench --stored N` on one target.
#[derive(Debug, Clone)]
pub struct StoredReport {
    pub target: String,
    pub pods: usize,
    pub bands: Vec<Band>,
    /// Every pod's create, from the first issued until the last returned.
    pub all_created: Duration,
    /// One collection delete of them all (grace 0), until it returned.
    pub delete_all: Duration,
    /// This process's resident set once every pod was created, before the delete, KiB.
    pub rss_stored_kib: u64,
    /// The peak resident set of this process over the run, KiB.
    pub peak_rss_kib: u64,
}

/// A stored run that failed: on the target, or a collection delete that did not delete every
/// pod the run created.
#[derive(Debug, thiserror::Error)]
pub enum StoredError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("a collection delete of the {created} stored pods deleted {deleted}")]
    DeletedOther { created: usize, deleted: usize },
}

/// A create's issue and return, by its index in the run.
type Span = (Instant, Instant);

/// The bands of a run whose create `i` spanned `spans[i]` (creates are issued in index order).
pub fn bands(spans: &[Span]) -> Vec<Band> {
    band_ends(spans.len())
        .into_iter()
        .map(|end| {
            let band = &spans[end.saturating_sub(BAND)..end];
            let first = band.iter().map(|s| s.0).min().expect("a band has creates");
            let last = band.iter().map(|s| s.1).max().expect("a band has creates");
            let took = last.saturating_duration_since(first).as_secs_f64().max(f64::MIN_POSITIVE);
            let samples = band.iter().map(|(issued, returned)| returned.saturating_duration_since(*issued)).collect();
            Band { stored: end, creates_per_second: band.len() as f64 / took, creates: Timing { name: "create", samples } }
        })
        .collect()
}

fn stored_pod(namespace: &str, pods: usize, i: usize) -> Pod {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: stored-{i}\n  namespace: {namespace}\n  labels: {{{STORED_LABEL}: '{pods}'}}\nspec:\n  nodeName: {ELSEWHERE}\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {{name: a, image: busybox:1.36, command: [sleep, '3600']}}\n  - {{name: b, image: busybox:1.36, command: [sleep, '3600']}}\n"
    );
    serde_yaml::from_str(&yaml).expect("stored pod parses")
}

/// Creates `pods` pods with at most [`IN_FLIGHT`] at once, issued in index order, by `create`;
/// the span of each.
async fn create_all<F, Fut>(pods: usize, create: F) -> Result<Vec<Span>, TargetError>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), TargetError>>,
{
    let create = &create;
    futures::stream::iter((0..pods).map(|i| async move {
        let issued = Instant::now();
        create(i).await.map(|()| (issued, Instant::now()))
    }))
    .buffered(IN_FLIGHT)
    .try_collect()
    .await
}

/// `pods` pods created into the store of `target` (in process: the Target trait, down to the
/// API's admission, strategy and store), then deleted at once.
pub async fn stored(target: &dyn Target, pods: usize) -> Result<StoredReport, StoredError> {
    let namespace = format!("podspec-bench-stored-{pods}-{}", std::process::id());
    let api = target.require_api_server()?;
    target.open_namespace(&namespace).await?;
    let peaks = Peaks::start();
    let began = Instant::now();
    let spans = create_all(pods, |i| {
        let pod = stored_pod(&namespace, pods, i);
        async move { target.create_pod(&pod).await.map(|_| ()) }
    })
    .await;
    let all_created = began.elapsed();
    let rss_stored_kib = crate::bench::status_kib("VmRSS").unwrap_or(0);
    let deleting = Instant::now();
    let deleted = api.delete_pod_collection(&namespace, &format!("{STORED_LABEL}={pods}"), 0).await;
    let delete_all = deleting.elapsed();
    let (peak_rss_kib, _) = peaks.finish().await;
    let spans = spans?;
    let deleted = deleted?;
    if deleted.len() != pods {
        return Err(StoredError::DeletedOther { created: pods, deleted: deleted.len() });
    }
    target.close_namespace(&namespace).await?;
    Ok(StoredReport { target: target.name().into(), pods, bands: bands(&spans), all_created, delete_all, rss_stored_kib, peak_rss_kib })
}

/// [`stored`] through a Kubernetes API over HTTP (serve's): the creates with at most
/// [`IN_FLIGHT`] requests at once, then one collection delete (grace 0).
pub async fn stored_over_api(name: &str, client: kube::Client, pods: usize) -> Result<StoredReport, StoredError> {
    use kube::api::{Api, DeleteParams, ListParams, PostParams};
    let failed = |what: String| move |source: kube::Error| TargetError::from(KubeError::Request { what, source });
    let api: Api<Pod> = Api::namespaced(client, "default");
    let peaks = Peaks::start();
    let began = Instant::now();
    let spans = create_all(pods, |i| {
        let pod = stored_pod("default", pods, i);
        let api = &api;
        async move { api.create(&PostParams::default(), &pod).await.map(|_| ()).map_err(failed(format!("create stored-{i}"))) }
    })
    .await;
    let all_created = began.elapsed();
    let rss_stored_kib = crate::bench::status_kib("VmRSS").unwrap_or(0);
    let deleting = Instant::now();
    let labels = ListParams::default().labels(&format!("{STORED_LABEL}={pods}"));
    let deleted = api.delete_collection(&DeleteParams { grace_period_seconds: Some(0), ..Default::default() }, &labels).await;
    let delete_all = deleting.elapsed();
    let (peak_rss_kib, _) = peaks.finish().await;
    let spans = spans?;
    let deleted = deleted.map_err(failed("delete the stored pods".into()))?;
    let count = deleted.left().map(|list| list.items.len()).unwrap_or(pods);
    if count != pods {
        return Err(StoredError::DeletedOther { created: pods, deleted: count });
    }
    Ok(StoredReport { target: name.into(), pods, bands: bands(&spans), all_created, delete_all, rss_stored_kib, peak_rss_kib })
}

/// The runs side by side: per band, creates per second and each create's p50 and p99, with the
/// largest band's figure over the smallest's (flat is 1x), then the totals.
pub fn stored_table(reports: &[StoredReport]) -> String {
    let mut out = String::new();
    let Some(first) = reports.first() else { return out };
    let ends: Vec<usize> = first.bands.iter().map(|b| b.stored).collect();
    let _ = writeln!(
        out,
        "creates as the store grows: {} pods bound to another node (none runs), at most {IN_FLIGHT} creates in flight; each band is the {BAND} creates that brought the store to its size (flat: the last band's figure over the first's near 1x)",
        first.pods
    );
    let mut header = format!("{:<24}", "");
    for r in reports {
        header.push_str(&format!(" {:>12} {:>12} {:>12}", format!("{} c/s", r.target), "p50 ms", "p99 ms"));
    }
    let _ = writeln!(out, "{}", header.trim_end());
    for (i, end) in ends.iter().enumerate() {
        let mut line = format!("{:<24}", format!("store at {end} pods"));
        for r in reports {
            match r.bands.get(i) {
                Some(b) => line.push_str(&format!(
                    " {:>12.1} {:>12.2} {:>12.2}",
                    b.creates_per_second,
                    ms(b.creates.median()),
                    ms(b.creates.percentile(0.99))
                )),
                None => line.push_str(&format!(" {:>12} {:>12} {:>12}", "-", "-", "-")),
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let mut ratio = format!("{:<24}", "last band / first");
    for r in reports {
        match (r.bands.first(), r.bands.last()) {
            (Some(a), Some(b)) => ratio.push_str(&format!(
                " {:>11.2}x {:>11.2}x {:>11.2}x",
                b.creates_per_second / a.creates_per_second.max(f64::MIN_POSITIVE),
                ms(b.creates.median()) / ms(a.creates.median()).max(f64::MIN_POSITIVE),
                ms(b.creates.percentile(0.99)) / ms(a.creates.percentile(0.99)).max(f64::MIN_POSITIVE)
            )),
            _ => ratio.push_str(&format!(" {:>12} {:>12} {:>12}", "-", "-", "-")),
        }
    }
    let _ = writeln!(out, "{}", ratio.trim_end());
    for r in reports {
        let _ = writeln!(
            out,
            "{}: {} creates in {:.2} s ({:.1}/s); RSS {:.1} MiB with them stored; one collection delete of all in {:.2} s; peak RSS {:.1} MiB (the delete's list of every pod, in the server and its client, included)",
            r.target,
            r.pods,
            r.all_created.as_secs_f64(),
            r.pods as f64 / r.all_created.as_secs_f64().max(f64::MIN_POSITIVE),
            r.rss_stored_kib as f64 / 1024.0,
            r.delete_all.as_secs_f64(),
            r.peak_rss_kib as f64 / 1024.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_end_at_each_power_of_ten_from_a_hundred_and_at_the_run_s_size() {
        assert_eq!(band_ends(10_000), vec![100, 1000, 10_000]);
        assert_eq!(band_ends(2500), vec![100, 1000, 2500]);
        assert_eq!(band_ends(40), vec![40]);
        assert_eq!(band_ends(100), vec![100]);
    }

    #[test]
    fn a_band_is_the_creates_that_brought_the_store_to_its_size() {
        let t0 = Instant::now();
        // 1000 creates, each 10 ms, one after another; the last hundred take 20 ms each.
        let spans: Vec<Span> = (0..1000u64)
            .map(|i| {
                let (start, took) = if i < 900 { (i * 10, 10) } else { (9000 + (i - 900) * 20, 20) };
                (t0 + Duration::from_millis(start), t0 + Duration::from_millis(start + took))
            })
            .collect();
        let bands = bands(&spans);
        assert_eq!(bands.iter().map(|b| b.stored).collect::<Vec<_>>(), vec![100, 1000]);
        assert!((bands[0].creates_per_second - 100.0).abs() < 0.01, "{}", bands[0].creates_per_second);
        assert!((bands[1].creates_per_second - 50.0).abs() < 0.01, "{}", bands[1].creates_per_second);
        assert_eq!(bands[1].creates.median(), Duration::from_millis(20));
        assert_eq!(bands[1].creates.samples.len(), 100);
    }
}
