//! Bad input gets a clear, early answer: empty runs, the report directory, fixture names,
//! feature files that are not files, Gherkin errors at the right line, control characters;
//! and the selection flags (`--name`, `--fail-fast`, `podspec list`).

use std::fs;

use crate::support::Scratch;
use predicates::prelude::*;

const TWO_SCENARIOS: &str = r#"Feature: Hostname
  @fast
  Scenario: The hostname is the pod name
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "two-containers"

  @node-access
  Scenario: Needs the node
    Given a running pod from fixture "shared-emptydir.yaml"
    Then volume "data" of pod "shared-emptydir" exists on the node
"#;

#[test]
fn a_run_that_selects_no_scenario_exits_2_unless_allowed() {
    let s = Scratch::new();
    s.feature("hostname.feature", TWO_SCENARIOS);
    s.run()
        .args(["--tags", "@nothing"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the run selects no scenario: --tags \"@nothing\" select none of the 2 scenarios"));
    s.run().args(["--tags", "@nothing", "--allow-empty"]).assert().code(0);
    let e = Scratch::new();
    e.feature("none.feature", "Feature: Nothing here\n");
    e.run().assert().code(2).stderr(predicate::str::contains("have no scenarios"));
    let o = Scratch::new();
    o.feature("outline.feature", "Feature: O\n  Scenario Outline: o <x>\n    Given a running pod from fixture \"two-containers.yaml\"\n");
    o.run().assert().code(2).stderr(predicate::str::contains("features/outline.feature:2: Scenario Outline \"o <x>\" has no Examples"));
}

#[test]
fn a_report_directory_that_cannot_be_one_is_refused_before_anything_runs() {
    let s = Scratch::new();
    s.feature("hostname.feature", TWO_SCENARIOS);
    fs::write(s.path().join("afile"), "").unwrap();
    for dir in ["afile", "afile/under"] {
        let out = s.podspec().args(["run", "--report-dir", dir]).assert().code(2).get_output().stderr.clone();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("afile is not a directory"), "{text}");
        assert!(!text.contains("running"), "something ran: {text}");
        assert_eq!(text.matches("not a directory").count(), 1, "the message repeats itself: {text}");
    }
}

#[test]
fn fixture_names_outside_fixtures_pods_are_refused_without_being_opened() {
    let s = Scratch::new();
    for name in ["../../../../../../etc/passwd", "/etc/shadow"] {
        s.feature("bad.feature", &format!("Feature: F\n  Scenario: s\n    Given a pod from fixture \"{name}\"\n"));
        let out = s.run().assert().code(2).get_output().stderr.clone();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("features/bad.feature:3: fixture") && text.contains("fixture names stay inside it"), "{text}");
        assert!(!text.contains("root"), "the file's content leaked: {text}");
    }
}

#[test]
fn a_fifo_named_feature_is_refused_and_a_symlink_loop_runs_each_file_once() {
    let s = Scratch::new();
    s.feature("hostname.feature", TWO_SCENARIOS);
    let fifo = s.path().join("features/pipe.feature");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    s.run().assert().code(2).stderr(predicate::str::contains("features/pipe.feature: not a regular file (a FIFO); refused"));
    fs::remove_file(&fifo).unwrap();
    // A device (reached through a link, as `find` follows links) is refused the same way.
    std::os::unix::fs::symlink("/dev/null", s.path().join("features/null.feature")).unwrap();
    s.run().assert().code(2).stderr(predicate::str::contains("features/null.feature: not a regular file (a device); refused"));
    fs::remove_file(s.path().join("features/null.feature")).unwrap();
    std::os::unix::fs::symlink("..", s.path().join("features/loop")).unwrap();
    s.run().args(["--tags", "@fast"]).assert().code(0).stderr(predicate::str::contains("1 passed, 0 failed, 0 skipped"));
}

#[test]
fn gherkin_errors_name_the_right_line_and_every_file_is_still_checked() {
    let s = Scratch::new();
    s.feature(
        "syntax.feature",
        "Feature: X\n  Scenario: a\n    Given a running pod from fixture \"two-containers.yaml\"\n  Scenarioo: b\n    Given x\n",
    );
    s.feature("empty.feature", "");
    s.feature("doc.feature", "Feature: D\n  Scenario: d\n    Given a pod:\n      \"\"\"\n      apiVersion: v1\n");
    s.feature("unknown.feature", "Feature: U\n  Scenario: u\n    Given no such step\n");
    let out = s.run().assert().code(2).get_output().stderr.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("features/syntax.feature:4: Gherkin syntax error: `Scenarioo: b` is not a Gherkin line"), "{text}");
    assert!(text.contains("features/empty.feature: the feature file is empty"), "{text}");
    assert!(text.contains("features/doc.feature:4: docstring opened with \"\"\" is never closed"), "{text}");
    assert!(text.contains("features/unknown.feature:3: unknown step"), "the other files were not checked: {text}");
}

#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let s = Scratch::new();
    s.feature(
        "esc.feature",
        "Feature: E\n  Scenario: red \u{1b}[31mname\u{7}\r\n    Given a running pod from fixture \"two-containers.yaml\"\n    Then running \"hostname\" in container \"a\" of pod \"two-containers\" prints \"two-containers\"\n",
    );
    let out = s.run().assert().code(0).get_output().stderr.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text:?}");
    assert!(text.contains("red \\u{1b}[31mname\\u{7}"), "{text}");
}

/// Input errors quote the user's text (a step, a Gherkin line): its control characters are
/// escaped too, for `run` and `list` alike.
#[test]
fn control_characters_in_input_errors_never_reach_the_terminal() {
    let s = Scratch::new();
    s.feature("step.feature", "Feature: S\n  Scenario: s\n    Given a step that \u{1b}[2Jclears\u{7} the screen\n");
    s.feature(
        "line.feature",
        "Feature: L\n  Scenario: l\n    Given a running pod from fixture \"two-containers.yaml\"\n  \u{1b}]0;title\u{7}\n",
    );
    for cmd in ["run", "list"] {
        let out = s.podspec().args([cmd, "--features", "features"]).assert().code(2).get_output().stderr.clone();
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{cmd}: {text:?}");
        assert!(text.contains("features/line.feature:4") && text.contains("\\u{1b}]0;title\\u{7}"), "{cmd}: {text}");
        assert!(text.contains("features/step.feature:3") && text.contains("\\u{1b}[2Jclears\\u{7}"), "{cmd}: {text}");
    }
}

#[test]
fn name_selects_scenarios_by_regular_expression() {
    let s = Scratch::new();
    s.feature("hostname.feature", TWO_SCENARIOS);
    s.run().args(["--name", "^The host"]).assert().code(0).stderr(predicate::str::contains("1 passed, 0 failed, 0 skipped"));
    s.run().args(["--name", "("]).assert().code(2).stderr(predicate::str::contains("--name \"(\""));
}

#[test]
fn fail_fast_stops_at_the_first_failure_and_still_writes_the_reports() {
    let s = Scratch::new();
    s.feature(
        "ff.feature",
        r#"Feature: FF
  Scenario: Fails
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "not this"

  Scenario: Would run later
    Given a running pod from fixture "shared-emptydir.yaml"
    Then running "sleep 3600" in container "writer" of pod "shared-emptydir" succeeds
"#,
    );
    // The second scenario takes an hour: a run that went on after the failure is ended at 10
    // minutes, and fails. (A bound of 15 s on a run whose second scenario took 20 s failed on a
    // machine at load average 25-48, the first scenario alone taking that long.)
    s.run()
        .args(["--fail-fast", "--concurrency", "1"])
        .timeout(std::time::Duration::from_secs(600))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("stopped by --fail-fast"));
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(json["scenarios"][0]["status"], "failed");
    assert_eq!(json["scenarios"][1]["status"], "skipped");
    assert_eq!(json["scenarios"][1]["reason"], "not run: --fail-fast stopped the run at the first failure");
    s.assert_clean();
}

#[test]
fn list_prints_the_selected_scenarios_and_what_the_target_would_do_without_running_anything() {
    let s = Scratch::new();
    s.feature("hostname.feature", TWO_SCENARIOS);
    let out = s.podspec().args(["list", "--target", "podman"]).assert().code(0).get_output().stdout.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("features/hostname.feature:3\tThe hostname is the pod name\t@fast\trun"), "{text}");
    assert!(text.contains("features/hostname.feature:8\tNeeds the node\t@node-access\tskip: target podman has no access"), "{text}");
    let out = s.podspec().args(["list", "--name", "Needs"]).assert().code(0).get_output().stdout.clone();
    assert_eq!(String::from_utf8_lossy(&out).lines().count(), 1);
    assert!(String::from_utf8_lossy(&out).ends_with("\trun\n"));
    assert!(!s.state().exists(), "list started something");
}

/// `list` checks what `run` checks before anything runs (unknown steps, bad manifests, fixture
/// names), each named by file and line, with exit 2: a scenario `run` refuses is never listed
/// as runnable.
#[test]
fn list_refuses_the_input_run_refuses_with_exit_2_and_file_line() {
    let s = Scratch::new();
    s.feature("hostname.feature", TWO_SCENARIOS);
    s.feature(
        "unknown.feature",
        "Feature: U\n  Scenario: u\n    Given a running pod from fixture \"two-containers.yaml\"\n    Then no such step\n",
    );
    s.feature(
        "manifest.feature",
        "Feature: M\n  Scenario: m\n    Given a running pod:\n      \"\"\"\n      apiVersion: v1\n      kind: Pod\n      metadata:\n        name: web\n      spec:\n        containers:\n        - name: web\n      \"\"\"\n",
    );
    s.feature("fixture.feature", "Feature: F\n  Scenario: f\n    Given a pod from fixture \"../escape.yaml\"\n");
    for cmd in ["list", "run"] {
        let out = s.podspec().args([cmd]).assert().code(2).get_output().stderr.clone();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("features/unknown.feature:4: unknown step `Then no such step`"), "{cmd}: {text}");
        assert!(text.contains("Pod \"web\" is invalid: spec.containers[0].image: Required value"), "{cmd}: {text}");
        assert!(text.contains("features/fixture.feature:3: fixture \"../escape.yaml\""), "{cmd}: {text}");
        if cmd == "list" {
            // The good feature alone still lists; nothing was started.
            s.podspec().args(["list", "--features", "features/hostname.feature"]).assert().code(0);
            assert!(!s.state().exists(), "list started something");
        }
    }
}

/// serde_yaml is deprecated upstream: podspec reads YAML with a maintained fork, and its errors
/// still name file and line.
#[test]
fn yaml_is_read_with_a_maintained_crate_and_errors_name_the_line() {
    let lock = fs::read_to_string(std::path::Path::new(crate::support::ROOT).join("Cargo.lock")).unwrap();
    assert!(!lock.contains("name = \"serde_yaml\"\n"), "Cargo.lock still has the deprecated serde_yaml");
    assert!(lock.contains("name = \"serde_yaml_ng\"\n"));
    let source = podspec::manifest::Source { file: "pod.yaml".into(), first_line: 1 };
    let e = podspec::manifest::load_pod("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a: b\n", &source).unwrap_err().to_string();
    assert!(e.starts_with("pod.yaml:4"), "{e}");
}

/// A wait that can tell it will never succeed ends at once with the diff: a pod that has ended
/// never runs (instead of waiting out the 60 s).
#[test]
fn waiting_for_a_pod_that_has_ended_to_run_ends_early_with_the_diff() {
    let s = Scratch::new();
    s.feature(
        "ended.feature",
        r#"Feature: Ended
  Scenario: A pod that has exited is waited for as if it would run
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: ends
      spec:
        restartPolicy: Never
        containers:
        - name: a
          image: busybox:1.36
          command: ["sh", "-c", "exit 3"]
      """
    Then pod "ends" is in phase "Failed"
    And pod "ends" is running
"#,
    );
    let started = std::time::Instant::now();
    s.run().assert().code(1).stderr(predicate::str::contains("it never will: pod \"ends\" is Failed"));
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "the wait went on: {:?}", started.elapsed());
}

#[test]
fn waits_that_can_tell_they_will_never_succeed_end_early_with_the_diff() {
    let s = Scratch::new();
    s.feature(
        "never.feature",
        r#"Feature: Never
  Scenario: A status field of a pod that has ended
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: ends
      spec:
        restartPolicy: Never
        containers:
        - name: a
          image: busybox:1.36
          command: ["sh", "-c", "exit 3"]
      """
    Then field "status.containerStatuses[name=a].state.terminated.exitCode" of pod "ends" is "4"

  Scenario: The phase of a pod that has ended in another
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: done
      spec:
        restartPolicy: Never
        containers:
        - name: a
          image: busybox:1.36
          command: ["true"]
      """
    Then pod "done" is in phase "Failed"

  Scenario: A restart that restartPolicy Never will not make
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: once
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: a
          image: busybox:1.36
          command: ["podspec-agent", "main"]
        - name: b
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    When the main process of container "a" of pod "once" dies
    Then container "a" of pod "once" is running with restart count 1
"#,
    );
    // "it never will" is the early end; a wait that ran to its timeout says "not within".
    s.run().assert().code(1).stderr(
        predicate::str::contains(
            "it never will: field \"status.containerStatuses[name=a].state.terminated.exitCode\" of pod \"ends\" is 3 (the pod has ended",
        )
        .and(predicate::str::contains("it never will: pod \"done\" is in phase Succeeded"))
        .and(predicate::str::contains("(the container has ended and restartPolicy restarts it no more)"))
        .and(predicate::str::contains("not within").not()),
    );
}

/// A wait for a log ends early once the container runs no more: its log is complete. Two
/// containers that have ended under restartPolicy Never, one in a pod that has ended and one
/// beside a container that still runs; the wait for a log that arrives late still passes.
#[test]
fn a_wait_for_the_log_of_a_container_that_runs_no_more_ends_early_with_the_diff() {
    let s = Scratch::new();
    s.feature(
        "logs.feature",
        r#"Feature: Logs
  Scenario: Lines a log of a pod that has ended lacks
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: said
      spec:
        restartPolicy: Never
        containers:
        - name: a
          image: busybox:1.36
          command: ["echo", "one"]
      """
    Then pod "said" is in phase "Succeeded"
    And the log of container "a" of pod "said" has the lines:
      """
      two
      """

  Scenario: The whole log of a container that ended beside one that runs
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: half
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: a
          image: busybox:1.36
          command: ["echo", "one"]
        - name: b
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "status.containerStatuses[name=a].state.terminated.exitCode" of pod "half" is "0"
    And the log of container "a" of pod "half" is:
      """
      two
      """

  Scenario: A log written late is waited for
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: late
      spec:
        restartPolicy: Never
        containers:
        - name: a
          image: busybox:1.36
          command: ["sh", "-c", "sleep 3; echo late"]
      """
    Then the log of container "a" of pod "late" has the lines:
      """
      late
      """
    And the log of container "a" of pod "late" is:
      """
      late
      """
"#,
    );
    let started = std::time::Instant::now();
    s.run().assert().code(1).stderr(
        predicate::str::contains(
            "the log of container \"a\" of pod \"said\": it never will: the log of container \"a\" of pod \"said\" lacks 1 line(s); its log is complete (the pod has ended)",
        )
        .and(predicate::str::contains(
            "the log of container \"a\" of pod \"half\": it never will: the log of container \"a\" of pod \"half\"; its log is complete (the container has ended and restartPolicy restarts it no more)",
        ))
        .and(predicate::str::contains("1 passed, 2 failed"))
        .and(predicate::str::contains("not within").not()),
    );
    // Each of the two failing waits would otherwise take the 30 s step timeout.
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "the waits went on: {:?}", started.elapsed());
}

/// `podspec run` with `args`, ended after 20 s if it has not ended (a hang is a failure, not a
/// stuck test); its exit code, stderr and time.
fn timed_run(s: &Scratch) -> (Option<i32>, String, std::time::Duration) {
    let started = std::time::Instant::now();
    let out = s.run().timeout(std::time::Duration::from_secs(20)).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), started.elapsed())
}

/// Issue 17, item 6: a fixture that is a FIFO is refused at once, named with the step that
/// uses it, and exit 2 (the up-front check used to block in its read for ever, and a signal no
/// longer ended it).
/// "At once" for a refusal: a FIFO read would wait for ever, and the deep inputs took tens of
/// seconds on the quadratic path; an idle machine refuses them in milliseconds, and the bound
/// leaves room for a loaded one (other tests run beside these).
const AT_ONCE: std::time::Duration = std::time::Duration::from_secs(5);

#[test]
fn a_fifo_fixture_is_refused_at_once_with_its_name_and_the_steps_line() {
    let s = Scratch::new();
    s.feature("pipe.feature", "Feature: P\n  Scenario: p\n    Given a running pod from fixture \"pipe.yaml\"\n");
    nix::unistd::mkfifo(&s.path().join("fixtures/pods/pipe.yaml"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let (code, err, took) = timed_run(&s);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "fixtures/pods/pipe.yaml: cannot read pod manifest: not a regular file (a FIFO); refused (used at features/pipe.feature:3)"
        ),
        "{err}"
    );
    assert!(took < AT_ONCE, "took {took:?}");
}

/// Issue 17, item 6: YAML nested 100k deep, in a fixture or a step's docstring, is refused in
/// well under a second at its file and line (the parser took time quadratic in the depth, tens
/// of seconds, before it refused it).
#[test]
fn yaml_nested_100k_deep_is_refused_at_once_with_file_and_line() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let s = Scratch::new();
    s.fixture("deep.yaml", &format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: deep\n  labels: {deep}\n"));
    s.feature("deep.feature", "Feature: D\n  Scenario: d\n    Given a running pod from fixture \"deep.yaml\"\n");
    let (code, err, took) = timed_run(&s);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("fixtures/pods/deep.yaml:5: nesting deeper than 10000 levels"), "{err}");
    assert!(took < AT_ONCE, "took {took:?}");

    let d = Scratch::new();
    let blocks = format!("{}1", "- ".repeat(100_000));
    d.feature(
        "doc.feature",
        &format!("Feature: D\n  Scenario: d\n    Given a pod:\n      \"\"\"\n      apiVersion: v1\n      kind: Pod\n      spec:\n        x:\n        {blocks}\n      \"\"\"\n"),
    );
    let (code, err, took) = timed_run(&d);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("features/doc.feature:9: nesting deeper than 10000 levels"), "{err}");
    assert!(took < AT_ONCE, "took {took:?}");
}

/// A UTF-8 byte order mark at the start of a feature file is dropped, as Cucumber's Gherkin
/// readers and behave drop it (seen red before: `features/bom.feature:1:14: Gherkin syntax
/// error, expected one of {"unknown keyword"}`); a step before the first `Scenario:`, which
/// Gherkin reads as description and would never run, is an input error naming its line (seen
/// red before: the scenario ran without it and failed on a pod that was never made).
#[test]
fn a_byte_order_mark_is_dropped_and_a_step_before_the_first_scenario_is_refused_at_its_line() {
    let s = Scratch::new();
    s.feature("bom.feature", &format!("\u{feff}{}", TWO_SCENARIOS));
    s.run().args(["--tags", "@fast"]).assert().code(0).stderr(predicate::str::contains("1 passed, 0 failed"));
    let e = Scratch::new();
    e.feature(
        "early.feature",
        "Feature: Early\n  A description.\n  Given a running pod from fixture \"two-containers.yaml\"\n  Scenario: s\n    Then running \"hostname\" in container \"a\" of pod \"two-containers\" prints \"two-containers\"\n",
    );
    e.feature(
        "rule.feature",
        "Feature: R\n  Rule: r\n    Given a running pod from fixture \"two-containers.yaml\"\n    Scenario: s\n      Then running \"hostname\" in container \"a\" of pod \"two-containers\" prints \"two-containers\"\n",
    );
    let out = e.run().assert().code(2).get_output().stderr.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains(
            "features/early.feature:3: the step `Given a running pod from fixture \"two-containers.yaml\"` comes before the first Scenario"
        ),
        "{text}"
    );
    assert!(text.contains("features/rule.feature:3: the step"), "{text}");
    assert!(!text.contains("running 1 scenarios"), "something ran: {text}");
}

/// Errors the Gherkin parser finds only at the next line, or at the end of the file, name the
/// line at fault. Seen red before: `table.feature:6:1` (the file has 5 lines) for a row with
/// too few cells, `tag.feature:5:1` for tags at the end of the file, `bg.feature:5:6` for a
/// second Background at line 4, each "expected one of" a list of tokens.
#[test]
fn gherkin_errors_found_a_line_late_name_the_line_at_fault() {
    let s = Scratch::new();
    let step = "Given a running pod from fixture \"two-containers.yaml\"";
    s.feature("table.feature", &format!("Feature: T\n  Scenario: s\n    {step}\n    | a | b |\n    | c |\n"));
    s.feature("tag.feature", &format!("Feature: T\n  Scenario: s\n    {step}\n  @tag\n"));
    s.feature("bg.feature", &format!("Feature: T\n  Background:\n    {step}\n  Background:\n    {step}\n  Scenario: s\n    {step}\n"));
    let out = s.run().assert().code(2).get_output().stderr.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("features/table.feature:5: Gherkin syntax error: the table row `| c |` has another number of cells"), "{text}");
    assert!(text.contains("features/tag.feature:4: Gherkin syntax error: the tags `@tag` are followed by nothing"), "{text}");
    assert!(text.contains("features/bg.feature:4: Gherkin syntax error: a second `Background:`"), "{text}");
}
