//! A cucumber writer that turns scenario events into report records, and shows progress.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cucumber::event::{self, Cucumber, Feature, Rule, Scenario, Step};
use cucumber::gherkin;
use cucumber::{cli, parser, Event, Writer};

use super::observe::{Observer, RunEvent};
use crate::report::{terminal_safe, Failure, ScenarioRecord, Status};
use crate::steps::PodWorld;

/// Identifies a scenario: its file and the line of its keyword.
pub type ScenarioKey = (PathBuf, usize);

#[derive(Default)]
struct InFlight {
    /// When the first attempt started.
    started: Option<Instant>,
    failure: Option<Failure>,
    /// The failures of the attempts that were retried (`--retry`).
    attempts: Vec<Failure>,
}

pub struct Collector {
    total: usize,
    done: usize,
    /// Scenarios counted before this run (skipped ones), for the progress counter.
    offset: usize,
    in_flight: HashMap<ScenarioKey, InFlight>,
    /// The finished scenarios, shared so that an interrupted run still reports them.
    pub records: Arc<Mutex<Vec<ScenarioRecord>>>,
    pub parse_errors: Vec<String>,
    progress: bool,
    /// Counts failed scenarios, for `--fail-fast`.
    failures: tokio::sync::watch::Sender<usize>,
    observers: Vec<Arc<dyn Observer>>,
    /// When the run began, for the progress's elapsed time.
    started: std::time::Instant,
    /// Scenarios of this run that failed so far.
    failed: usize,
}

impl Collector {
    pub fn new(total: usize, offset: usize, progress: bool, observers: Vec<Arc<dyn Observer>>) -> Self {
        Self {
            total,
            done: 0,
            offset,
            in_flight: HashMap::new(),
            records: Arc::default(),
            parse_errors: Vec::new(),
            progress,
            failures: tokio::sync::watch::channel(0).0,
            observers,
            started: std::time::Instant::now(),
            failed: 0,
        }
    }

    /// Changes each time a scenario fails.
    pub fn failures(&self) -> tokio::sync::watch::Receiver<usize> {
        self.failures.subscribe()
    }

    fn tell(&self, event: RunEvent<'_>) {
        for o in &self.observers {
            o.event(&event);
        }
    }

    fn tell_step(&self, key: &ScenarioKey, step: &gherkin::Step, error: Option<&str>) {
        let path = key.0.display().to_string();
        self.tell(RunEvent::Step { feature_path: &path, line: key.1, step: &step_text(step), step_line: step.position.line, error });
    }

    fn key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> ScenarioKey {
        (feature.path.clone().unwrap_or_default(), scenario.position.line)
    }

    fn on_scenario(
        &mut self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
        ev: Scenario<PodWorld>,
        retries: Option<event::Retries>,
    ) {
        let key = Self::key(feature, scenario);
        if !self.observers.is_empty() {
            match &ev {
                Scenario::Started => {
                    let path = key.0.display().to_string();
                    self.tell(RunEvent::ScenarioStarted { feature_path: &path, line: key.1, name: &scenario.name });
                }
                Scenario::Step(step, Step::Passed { .. }) | Scenario::Background(step, Step::Passed { .. }) => {
                    self.tell_step(&key, step, None);
                }
                Scenario::Step(step, Step::Failed(_, _, _, err)) | Scenario::Background(step, Step::Failed(_, _, _, err)) => {
                    let message = match err {
                        event::StepError::Panic(info) => panic_text(info),
                        other => other.to_string(),
                    };
                    self.tell_step(&key, step, Some(&message));
                }
                _ => {}
            }
        }
        match ev {
            Scenario::Started => {
                self.in_flight.entry(key).or_default().started.get_or_insert_with(Instant::now);
            }
            Scenario::Step(step, Step::Failed(_, _, world, err)) | Scenario::Background(step, Step::Failed(_, _, world, err)) => {
                self.fail(&key, &step, world, &err);
            }
            Scenario::Step(step, Step::Skipped) | Scenario::Background(step, Step::Skipped) => {
                let entry = self.in_flight.entry(key).or_default();
                if entry.failure.is_none() {
                    entry.failure = Some(Failure::new(step_text(&step), step.position.line, "no step definition matches this step"));
                }
            }
            Scenario::Hook(kind, event::Hook::Failed(_, info)) => {
                let entry = self.in_flight.entry(key).or_default();
                if entry.failure.is_none() {
                    entry.failure = Some(Failure::new(format!("{kind:?} hook"), scenario.position.line, panic_text(&info)));
                }
            }
            // A failed attempt that cucumber runs again: kept, and the next attempt starts clean.
            Scenario::Finished if retries.is_some_and(|r| r.left > 0) && self.in_flight.get(&key).is_some_and(|f| f.failure.is_some()) => {
                let flight = self.in_flight.entry(key.clone()).or_default();
                let failure = flight.failure.take().expect("a failed attempt");
                if self.progress {
                    let attempt = flight.attempts.len() + 1;
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "[  ~/{}] retry {}:{}  {}: attempt {attempt} failed at line {}: {}",
                        self.total,
                        terminal_safe(&key.0.display().to_string()),
                        key.1,
                        terminal_safe(&scenario.name),
                        failure.step_line,
                        terminal_safe(failure.message.lines().next().unwrap_or(""))
                    );
                }
                flight.attempts.push(failure);
            }
            Scenario::Finished => self.finish(feature, rule, scenario, key),
            _ => {}
        }
    }

    fn fail(&mut self, key: &ScenarioKey, step: &gherkin::Step, world: Option<Arc<PodWorld>>, err: &event::StepError) {
        let entry = self.in_flight.entry(key.clone()).or_default();
        if entry.failure.is_some() {
            return;
        }
        let message = match err {
            event::StepError::Panic(info) => panic_text(info),
            other => other.to_string(),
        };
        // The message carries the expected/actual pair too; the report shows it as a diff.
        let message = message.split("\n  expected: ").next().unwrap_or(&message).to_string();
        let mut failure = Failure::new(step_text(step), step.position.line, message);
        if let Some(m) = world.as_ref().and_then(|w| w.mismatch.clone()) {
            failure = failure.with_mismatch(m.expected, m.actual);
        }
        entry.failure = Some(failure);
    }

    fn finish(&mut self, feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario, key: ScenarioKey) {
        let flight = self.in_flight.remove(&key).unwrap_or_default();
        let duration_ms = flight.started.map(|s| s.elapsed().as_millis() as u64).unwrap_or(0);
        let status = match (&flight.failure, flight.attempts.is_empty()) {
            (Some(_), _) => Status::Failed,
            (None, true) => Status::Passed,
            (None, false) => Status::Flaky,
        };
        let record = ScenarioRecord {
            feature: feature.name.clone(),
            feature_path: key.0.display().to_string(),
            name: scenario.name.clone(),
            line: key.1,
            tags: all_tags(feature, rule, scenario),
            status,
            reason: match (&flight.failure, flight.attempts.first()) {
                (Some(f), _) => Some(f.message.lines().next().unwrap_or("").to_string()),
                (None, Some(first)) => Some(format!(
                    "passed on attempt {} of {}; attempt 1 failed: {}",
                    flight.attempts.len() + 1,
                    flight.attempts.len() + 1,
                    first.message.lines().next().unwrap_or("")
                )),
                (None, None) => None,
            },
            duration_ms,
            failure: flight.failure,
            attempts: flight.attempts,
            manifest_changes: Vec::new(),
        };
        self.done += 1;
        if record.status == Status::Failed {
            self.failed += 1;
        }
        let elapsed = self.started.elapsed();
        if self.progress {
            let n = self.offset + self.done;
            let mark = match record.status {
                Status::Passed => "ok  ",
                Status::Flaky => "FLAKY",
                Status::Failed => "FAIL",
                Status::Skipped => "skip",
            };
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "[{n:>3}/{}] {mark} {}:{}  {} ({} ms) [{}]",
                self.total,
                terminal_safe(&record.feature_path),
                record.line,
                terminal_safe(&record.name),
                duration_ms,
                super::observe::progress_text(n, self.failed, self.total, elapsed)
            );
            if let Some(f) = &record.failure {
                let first = f.message.lines().next().unwrap_or("");
                let _ = writeln!(err, "           step `{}` (line {}): {}", terminal_safe(&f.step), f.step_line, terminal_safe(first));
            }
        }
        self.tell(RunEvent::ScenarioFinished {
            record: &record,
            done: self.offset + self.done,
            total: self.total,
            failed: self.failed,
            elapsed,
        });
        if record.status == Status::Failed {
            self.failures.send_modify(|n| *n += 1);
        }
        self.records.lock().unwrap().push(record);
    }
}

pub fn all_tags(feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario) -> Vec<String> {
    let mut tags: Vec<String> = feature.tags.clone();
    if let Some(r) = rule {
        tags.extend(r.tags.iter().cloned());
    }
    tags.extend(scenario.tags.iter().cloned());
    tags.dedup();
    tags
}

fn step_text(step: &gherkin::Step) -> String {
    format!("{} {}", step.keyword.trim(), step.value)
}

fn panic_text(info: &event::Info) -> String {
    (**info)
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| (**info).downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the step panicked".into())
}

impl Writer<PodWorld> for Collector {
    type Cli = cli::Empty;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<PodWorld>>>, _cli: &Self::Cli) {
        match event {
            Err(e) => self.parse_errors.push(e.to_string()),
            Ok(ev) => match ev.value {
                Cucumber::Feature(feature, Feature::Scenario(scenario, retryable)) => {
                    self.on_scenario(&feature, None, &scenario, retryable.event, retryable.retries);
                }
                Cucumber::Feature(feature, Feature::Rule(rule, Rule::Scenario(scenario, retryable))) => {
                    self.on_scenario(&feature, Some(&rule), &scenario, retryable.event, retryable.retries);
                }
                _ => {}
            },
        }
    }
}

// Events are matched by scenario, so their order across scenarios does not matter.
impl cucumber::writer::Normalized for Collector {}
