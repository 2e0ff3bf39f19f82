//! Fuzzing the parsers of outside input, on stable Rust and inside `cargo test`: the manifest
//! reader with Kubernetes' validation, the feature checker (Gherkin parse, step matching, the
//! manifests in docstrings) and the baseline parser. Each gets inputs made by mutating the
//! project's own files (byte flips, deletions, duplicated and spliced chunks, inserted tokens of
//! its format), and must answer every one without a panic and within a bound of time.
//!
//! `PODSPEC_FUZZ_ITERATIONS` sets the inputs per parser (by default 3000, and 1000 for the
//! feature checker, which `cargo test` and CI run); `PODSPEC_FUZZ_SEED` replays a run. Long
//! runs: `PODSPEC_FUZZ_ITERATIONS=1000000 cargo test --release --test fuzz -- --nocapture`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// One input may take this long at most (a hang is a failure).
const PER_INPUT: Duration = Duration::from_secs(2);
/// An input still running after this long is a hang: the watchdog ends the test with it.
const HANG: Duration = Duration::from_secs(20);

thread_local! {
    static IN_PARSER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Inputs per parser: `PODSPEC_FUZZ_ITERATIONS`, else the bounded run's `default`.
fn iterations(default: usize) -> usize {
    std::env::var("PODSPEC_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("PODSPEC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1)
}

/// One mutation of `input`, with tokens of the format spliced in.
fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], tokens: &[&str]) -> Vec<u8> {
    let mut data = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(64) + 1);
                data.drain(i..i + n);
            }
            2 => {
                let t = tokens[rng.below(tokens.len())].as_bytes();
                let i = rng.below(len + 1);
                data.splice(i..i, t.iter().copied());
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(256) + 1);
                let chunk: Vec<u8> = data[i..i + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                let (a, b) = (rng.below(data.len() + 1), rng.below(other.len() + 1));
                data.truncate(a);
                data.extend_from_slice(&other[b..]);
            }
            5 => {
                let i = rng.below(len + 1);
                data.insert(i, rng.next() as u8);
            }
            _ if len > 0 => data.truncate(rng.below(len)),
            _ => {}
        }
    }
    data
}

fn files(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(Path::new(ROOT).join(dir)).unwrap().filter_map(Result::ok) {
        if e.path().extension().is_some_and(|x| x == ext) {
            out.push(std::fs::read(e.path()).unwrap());
        }
    }
    assert!(!out.is_empty(), "no {ext} files in {dir}");
    out
}

/// Feeds `iterations()` mutated inputs to `parse`; fails on a panic or a slow input, printing
/// the seed and the input so that it can be made a regression test.
fn fuzz(name: &str, n: usize, corpus: Vec<Vec<u8>>, tokens: &[&str], parse: impl Fn(&str)) {
    let seed = seed();
    let mut rng = Rng(seed);
    let started = Instant::now();
    // A parser's panic is reported with its input below, not printed as it happens.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_PARSER.with(|c| c.get()) {
                default(info)
            }
        }));
    });
    // A hang never returns to be timed: a watchdog ends the process with the input once one
    // input has taken HANG.
    let current = std::sync::Arc::new(std::sync::Mutex::new(None::<(Instant, usize, String)>));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let (current, done, name) = (current.clone(), done.clone(), name.to_string());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some((since, i, input)) = current.lock().unwrap().as_ref() {
                    if since.elapsed() > HANG {
                        eprintln!("fuzz {name}: input {i} (PODSPEC_FUZZ_SEED={seed}) hangs (over {HANG:?}):\n{input:?}");
                        std::process::exit(101);
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    for i in 0..n {
        let input = String::from_utf8_lossy(&mutate(&mut rng, &corpus, tokens)).into_owned();
        let t = Instant::now();
        *current.lock().unwrap() = Some((t, i, input.clone()));
        IN_PARSER.with(|c| c.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| parse(&input)));
        IN_PARSER.with(|c| c.set(false));
        *current.lock().unwrap() = None;
        let took = t.elapsed();
        if result.is_err() || took > PER_INPUT {
            let what = if result.is_err() { "panicked".to_string() } else { format!("took {took:?}") };
            panic!("fuzz {name}: input {i} (PODSPEC_FUZZ_SEED={seed}) {what}:\n{input:?}");
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    watchdog.join().unwrap();
    eprintln!("fuzz {name}: {n} inputs in {:?}, no panic, none slower than {PER_INPUT:?} (seed {seed})", started.elapsed());
}

#[test]
fn fuzz_manifest_reader_and_validation() {
    let source = podspec::manifest::Source { file: PathBuf::from("fuzz.yaml"), first_line: 1 };
    fuzz(
        "manifest",
        iterations(3000),
        files("fixtures/pods", "yaml"),
        &[
            "\n",
            ": ",
            "- ",
            "  ",
            "{",
            "}",
            "[",
            "]",
            "&a ",
            "*a",
            "<<: *a",
            "!!binary ",
            "~",
            "null",
            "'",
            "\"",
            "containers:",
            "name: x",
            "image: busybox",
            "volumes:",
            "emptyDir: {}",
            "---\n",
            "#",
            "\t",
            "999999999999999999999",
            "-1",
            "1e400",
        ],
        |text| {
            let _ = podspec::manifest::load_pod(text, &source);
        },
    );
}

#[test]
fn fuzz_feature_checker() {
    let fixtures = Path::new(ROOT).join("fixtures");
    let path = PathBuf::from("features/fuzz.feature");
    fuzz(
        "feature",
        // Each input matches every step against the step vocabulary (some ms in a debug
        // build): the bounded run gives it a third as many.
        iterations(1000),
        files("features", "feature"),
        &[
            "\n",
            "Feature: ",
            "Scenario: ",
            "Scenario Outline: ",
            "Examples:\n",
            "| a |\n",
            "<a>",
            "Background:\n",
            "Rule: ",
            "Given ",
            "Then ",
            "And ",
            "@tag ",
            "# ",
            "\"\"\"\n",
            "```\n",
            "    ",
            "a pod:\n",
            "a pod from fixture \"two-containers.yaml\"",
            "\"../x\"",
        ],
        |text| {
            if let Ok(f) = podspec::runner::features::parse_text(&path, text.to_string()) {
                let _ = podspec::runner::features::check_with(&[f], &fixtures, None);
            }
        },
    );
}

#[test]
fn fuzz_baseline_parser() {
    fuzz(
        "baseline",
        iterations(3000),
        vec![std::fs::read(Path::new(ROOT).join("ci/baselines/podman.txt")).unwrap()],
        &["\n", " | ", "|", "#", "features/x.feature", "./", " ", "\r\n", "\u{feff}"],
        |text| {
            let _ = podspec::report::baseline::parse("fuzz.txt", text);
        },
    );
}
