//! Commands in containers: run them, and state what they print or how they fail. A command is a
//! shell command line, run with `sh -c` in the named container.

use cucumber::gherkin::Step;
use cucumber::{given, then, when};

use super::failure::record;
use super::substitute::substitute;
use super::wait::eventually;
use super::{PodWorld, StepFailure};
use crate::targets::ExecOutput;

async fn run(world: &PodWorld, command: &str, container: &str, pod: &str) -> Result<(String, ExecOutput), StepFailure> {
    let command = substitute(world, command).await?;
    let r = world.pod_ref(pod);
    let argv = vec!["sh".to_string(), "-c".to_string(), command.clone()];
    let out = world.target().exec(&r, container, &argv, world.timeouts().exec).await?;
    Ok((command, out))
}

/// As `run`, with `line` and a newline written to the command's stdin (`kubectl exec -i`),
/// which is then closed where the target can close it.
async fn run_with_input(
    world: &PodWorld,
    command: &str,
    container: &str,
    pod: &str,
    line: &str,
) -> Result<(String, ExecOutput), StepFailure> {
    let command = substitute(world, command).await?;
    let line = substitute(world, line).await?;
    let r = world.pod_ref(pod);
    let argv = vec!["sh".to_string(), "-c".to_string(), command.clone()];
    let stdin = format!("{line}\n");
    let out = world.target().exec_with_stdin(&r, container, &argv, stdin.as_bytes(), world.timeouts().exec).await?;
    Ok((format!("{command} (stdin: {line:?})"), out))
}

#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" with the input line "(.*)" prints "(.*)"$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" with the input line "(.*)" prints "(.*)"$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" with the input line "(.*)" prints "(.*)"$"#)]
async fn with_input_prints(
    world: &mut PodWorld,
    command: String,
    container: String,
    pod: String,
    line: String,
    expected: String,
) -> Result<(), StepFailure> {
    let expected = substitute(world, &expected).await?;
    let r = match run_with_input(world, &command, &container, &pod, &line).await {
        Ok((cmd, out)) => expect_output(&cmd, &container, &pod, &out, &expected),
        Err(e) => Err(e),
    };
    record(world, r)
}

#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" with the input line "(.*)" prints:?$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" with the input line "(.*)" prints:?$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" with the input line "(.*)" prints:?$"#)]
async fn with_input_prints_docstring(
    world: &mut PodWorld,
    step: &Step,
    command: String,
    container: String,
    pod: String,
    line: String,
) -> Result<(), StepFailure> {
    let expected = step.docstring.as_deref().ok_or_else(|| StepFailure::new("this step needs the expected output as a docstring"))?;
    let expected = substitute(world, expected.trim_start_matches('\n').trim_end_matches('\n')).await?;
    let r = match run_with_input(world, &command, &container, &pod, &line).await {
        Ok((cmd, out)) => expect_output(&cmd, &container, &pod, &out, &expected),
        Err(e) => Err(e),
    };
    record(world, r)
}

fn describe(command: &str, container: &str, pod: &str, out: &ExecOutput) -> String {
    format!(
        "`{command}` in container {container:?} of pod {pod:?} exited {}; stdout: {:?}; stderr: {:?}",
        out.exit_code,
        out.stdout.trim_end(),
        out.stderr.trim_end()
    )
}

fn expect_output(command: &str, container: &str, pod: &str, out: &ExecOutput, expected: &str) -> Result<(), StepFailure> {
    let actual = out.stdout.trim_end_matches('\n');
    if out.exit_code == 0 && actual == expected {
        return Ok(());
    }
    Err(StepFailure::mismatch(describe(command, container, pod, out), expected, actual))
}

/// The first container of a pod (for steps that name only the pod).
async fn first_container(world: &PodWorld, pod: &str) -> Result<String, StepFailure> {
    let p = world.target().get_pod(&world.pod_ref(pod)).await?;
    p.spec
        .and_then(|s| s.containers.first().map(|c| c.name.clone()))
        .ok_or_else(|| StepFailure::new(format!("pod {pod:?} has no containers")))
}

async fn all_containers(world: &PodWorld, pod: &str) -> Result<Vec<String>, StepFailure> {
    let p = world.target().get_pod(&world.pod_ref(pod)).await?;
    Ok(p.spec.map(|s| s.containers.into_iter().map(|c| c.name).collect()).unwrap_or_default())
}

#[when(regex = r#"^I run "(.*)" in container "([^"]+)" of pod "([^"]+)"$"#)]
async fn i_run(world: &mut PodWorld, command: String, container: String, pod: String) -> Result<(), StepFailure> {
    let (cmd, out) = run(world, &command, &container, &pod).await?;
    world.last = Some((format!("`{cmd}` in container {container:?} of pod {pod:?}"), out));
    Ok(())
}

fn last(world: &PodWorld) -> Result<&(String, ExecOutput), StepFailure> {
    world
        .last
        .as_ref()
        .ok_or_else(|| StepFailure::new("no command was run before this step (use: I run \"...\" in container ... of pod ...)"))
}

#[given(regex = r#"^it succeeds$"#)]
#[when(regex = r#"^it succeeds$"#)]
#[then(regex = r#"^it succeeds$"#)]
async fn it_succeeds(world: &mut PodWorld) -> Result<(), StepFailure> {
    let (what, out) = last(world)?;
    let r = if out.exit_code == 0 {
        Ok(())
    } else {
        Err(StepFailure::mismatch(
            format!("{what} failed"),
            "exit code 0",
            format!("exit code {}; stderr: {}", out.exit_code, out.stderr.trim_end()),
        ))
    };
    record(world, r)
}

#[given(regex = r#"^it fails with "(.*)"$"#)]
#[when(regex = r#"^it fails with "(.*)"$"#)]
#[then(regex = r#"^it fails with "(.*)"$"#)]
async fn it_fails_with(world: &mut PodWorld, text: String) -> Result<(), StepFailure> {
    let (what, out) = last(world)?;
    let r = expect_failure(what, out, &text);
    record(world, r)
}

fn expect_failure(what: &str, out: &ExecOutput, text: &str) -> Result<(), StepFailure> {
    let all = format!("{}{}", out.stderr, out.stdout);
    if out.exit_code != 0 && all.contains(text) {
        return Ok(());
    }
    Err(StepFailure::mismatch(
        format!("{what}: expected a failure mentioning {text:?}"),
        format!("a non-zero exit code and output containing {text:?}"),
        format!("exit code {}; output: {}", out.exit_code, all.trim_end()),
    ))
}

#[given(regex = r#"^its output is "(.*)"$"#)]
#[when(regex = r#"^its output is "(.*)"$"#)]
#[then(regex = r#"^its output is "(.*)"$"#)]
async fn its_output_is(world: &mut PodWorld, expected: String) -> Result<(), StepFailure> {
    let expected = substitute(world, &expected).await?;
    let (what, out) = last(world)?;
    let actual = out.stdout.trim_end_matches('\n');
    let r =
        if actual == expected { Ok(()) } else { Err(StepFailure::mismatch(format!("{what} printed something else"), expected, actual)) };
    record(world, r)
}

#[given(regex = r#"^its output contains "(.*)"$"#)]
#[when(regex = r#"^its output contains "(.*)"$"#)]
#[then(regex = r#"^its output contains "(.*)"$"#)]
async fn its_output_contains(world: &mut PodWorld, expected: String) -> Result<(), StepFailure> {
    let expected = substitute(world, &expected).await?;
    let (what, out) = last(world)?;
    let r = if out.stdout.contains(&expected) {
        Ok(())
    } else {
        Err(StepFailure::mismatch(
            format!("{what} did not print {expected:?}"),
            format!("output containing {expected:?}"),
            out.stdout.trim_end(),
        ))
    };
    record(world, r)
}

#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" prints "(.*)"$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" prints "(.*)"$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" prints "(.*)"$"#)]
async fn prints(world: &mut PodWorld, command: String, container: String, pod: String, expected: String) -> Result<(), StepFailure> {
    let r = check_prints(world, &command, &container, &pod, &expected, Once).await;
    record(world, r)
}

#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" prints:?$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" prints:?$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" prints:?$"#)]
async fn prints_docstring(world: &mut PodWorld, step: &Step, command: String, container: String, pod: String) -> Result<(), StepFailure> {
    let r = check_prints(world, &command, &container, &pod, expected_docstring(step)?, Once).await;
    record(world, r)
}

#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually prints "(.*)"$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually prints "(.*)"$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually prints "(.*)"$"#)]
async fn eventually_prints(
    world: &mut PodWorld,
    command: String,
    container: String,
    pod: String,
    expected: String,
) -> Result<(), StepFailure> {
    let r = check_prints(world, &command, &container, &pod, &expected, Eventually).await;
    record(world, r)
}

/// The docstring form of "eventually prints", for output that a container's own command writes
/// after it starts (the pod is Running once its processes started, not once they wrote).
#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually prints:?$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually prints:?$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually prints:?$"#)]
async fn eventually_prints_docstring(
    world: &mut PodWorld,
    step: &Step,
    command: String,
    container: String,
    pod: String,
) -> Result<(), StepFailure> {
    let r = check_prints(world, &command, &container, &pod, expected_docstring(step)?, Eventually).await;
    record(world, r)
}

/// How often a "prints" step runs its command: once, or until it prints what is expected.
#[derive(Clone, Copy)]
enum Tries {
    Once,
    Eventually,
}
use Tries::{Eventually, Once};

/// A step's docstring as the expected output, without its first and last newlines.
fn expected_docstring(step: &Step) -> Result<&str, StepFailure> {
    let expected = step.docstring.as_deref().ok_or_else(|| StepFailure::new("this step needs the expected output as a docstring"))?;
    Ok(expected.trim_start_matches('\n').trim_end_matches('\n'))
}

/// Runs `command` and checks that it exits 0 printing `expected` (with its placeholders filled).
async fn check_prints(
    world: &PodWorld,
    command: &str,
    container: &str,
    pod: &str,
    expected: &str,
    tries: Tries,
) -> Result<(), StepFailure> {
    let expected = substitute(world, expected).await?;
    let once = || async {
        let (cmd, out) = run(world, command, container, pod).await?;
        expect_output(&cmd, container, pod, &out, &expected)
    };
    match tries {
        Once => once().await,
        Eventually => eventually(&format!("`{command}` printing {expected:?}"), world.timeouts().eventually, once).await,
    }
}

#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" succeeds$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" succeeds$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" succeeds$"#)]
async fn succeeds(world: &mut PodWorld, command: String, container: String, pod: String) -> Result<(), StepFailure> {
    let r = match run(world, &command, &container, &pod).await {
        Ok((cmd, out)) => exited_0(&cmd, &container, &pod, &out),
        Err(e) => Err(e),
    };
    record(world, r)
}

/// As "succeeds", retried until it does: for what a container's own command makes ready after
/// it starts (a listener, a file).
#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually succeeds$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually succeeds$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" eventually succeeds$"#)]
async fn eventually_succeeds(world: &mut PodWorld, command: String, container: String, pod: String) -> Result<(), StepFailure> {
    let w = &*world;
    let r = eventually(&format!("`{command}` succeeding"), w.timeouts().eventually, || async {
        let (cmd, out) = run(w, &command, &container, &pod).await?;
        exited_0(&cmd, &container, &pod, &out)
    })
    .await;
    record(world, r)
}

/// Exit code 0, or a mismatch that shows the command's exit code.
fn exited_0(cmd: &str, container: &str, pod: &str, out: &ExecOutput) -> Result<(), StepFailure> {
    if out.exit_code == 0 {
        Ok(())
    } else {
        Err(StepFailure::mismatch(describe(cmd, container, pod, out), "exit code 0", format!("exit code {}", out.exit_code)))
    }
}

#[given(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" fails with "(.*)"$"#)]
#[when(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" fails with "(.*)"$"#)]
#[then(regex = r#"^running "(.*)" in container "([^"]+)" of pod "([^"]+)" fails with "(.*)"$"#)]
async fn fails_with(world: &mut PodWorld, command: String, container: String, pod: String, text: String) -> Result<(), StepFailure> {
    let r = match run(world, &command, &container, &pod).await {
        Ok((cmd, out)) => expect_failure(&format!("`{cmd}` in container {container:?} of pod {pod:?}"), &out, &text),
        Err(e) => Err(e),
    };
    record(world, r)
}

#[given(regex = r#"^running "(.*)" in every container of pod "([^"]+)" prints "(.*)"$"#)]
#[when(regex = r#"^running "(.*)" in every container of pod "([^"]+)" prints "(.*)"$"#)]
#[then(regex = r#"^running "(.*)" in every container of pod "([^"]+)" prints "(.*)"$"#)]
async fn every_container_prints(world: &mut PodWorld, command: String, pod: String, expected: String) -> Result<(), StepFailure> {
    let expected = substitute(world, &expected).await?;
    let mut r = Ok(());
    for c in all_containers(world, &pod).await? {
        r = match run(world, &command, &c, &pod).await {
            Ok((cmd, out)) => expect_output(&cmd, &c, &pod, &out, &expected),
            Err(e) => Err(e),
        };
        if r.is_err() {
            break;
        }
    }
    record(world, r)
}

#[given(regex = r#"^running "(.*)" prints the same in every container of pod "([^"]+)"$"#)]
#[when(regex = r#"^running "(.*)" prints the same in every container of pod "([^"]+)"$"#)]
#[then(regex = r#"^running "(.*)" prints the same in every container of pod "([^"]+)"$"#)]
async fn same_in_every_container(world: &mut PodWorld, command: String, pod: String) -> Result<(), StepFailure> {
    let containers = all_containers(world, &pod).await?;
    let mut seen: Vec<(String, String)> = Vec::new();
    for c in &containers {
        let (cmd, out) = run(world, &command, c, &pod).await?;
        if out.exit_code != 0 {
            return record(world, Err(StepFailure::new(describe(&cmd, c, &pod, &out))));
        }
        seen.push((c.clone(), out.stdout.trim_end().to_string()));
    }
    let first = seen.first().map(|s| s.1.clone()).unwrap_or_default();
    let r = if seen.iter().all(|(_, v)| *v == first) {
        if containers.len() < 2 {
            Err(StepFailure::new(format!("pod {pod:?} has fewer than two containers: nothing to compare")))
        } else {
            Ok(())
        }
    } else {
        let table = |f: &dyn Fn(&(String, String)) -> String| seen.iter().map(f).collect::<Vec<_>>().join("\n");
        Err(StepFailure::mismatch(
            format!("`{command}` prints different values in the containers of pod {pod:?}"),
            table(&|(c, _)| format!("{c}: {first}")),
            table(&|(c, v)| format!("{c}: {v}")),
        ))
    };
    record(world, r)
}

#[given(regex = r#"^running "(.*)" in pods "([^"]+)" and "([^"]+)" prints different values$"#)]
#[when(regex = r#"^running "(.*)" in pods "([^"]+)" and "([^"]+)" prints different values$"#)]
#[then(regex = r#"^running "(.*)" in pods "([^"]+)" and "([^"]+)" prints different values$"#)]
async fn different_in_pods(world: &mut PodWorld, command: String, a: String, b: String) -> Result<(), StepFailure> {
    let mut values = Vec::new();
    for pod in [&a, &b] {
        let c = first_container(world, pod).await?;
        let (cmd, out) = run(world, &command, &c, pod).await?;
        if out.exit_code != 0 {
            return record(world, Err(StepFailure::new(describe(&cmd, &c, pod, &out))));
        }
        values.push(out.stdout.trim_end().to_string());
    }
    let r = if values[0] != values[1] {
        Ok(())
    } else {
        Err(StepFailure::mismatch(
            format!("`{command}` prints the same in pods {a:?} and {b:?}"),
            format!("anything but {:?}", values[0]),
            values[1].clone(),
        ))
    };
    record(world, r)
}
