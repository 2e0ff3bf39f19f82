//! ConfigMaps and Secrets as API objects (capability `config-objects`): create, replace and
//! delete one from a YAML docstring, in the scenario's namespace. The object's kind comes from
//! the step; the docstring gives the rest (`data`, `binaryData`, `stringData`, `type`,
//! `immutable`, labels). What the scenario made goes with its namespace.
//!
//! "... in a second namespace" makes the object in a namespace of the scenario's own beside
//! its first (`<namespace>-2`, opened on the target at its first use and closed after the
//! scenario): what a test of two namespaces holding objects of one name needs. "I create 50
//! configmaps "racey-configmap-{i}" with:" makes that many of one docstring, `{i}` in the name
//! counting from 0.

use cucumber::gherkin::Step;
use cucumber::{given, then, when};
use serde_json::Value;

use super::api::docstring;
use super::substitute::substitute;
use super::{PodWorld, StepFailure};
use crate::targets::{ConfigWrite, TargetCapabilities as _};

/// The kind a step names (`configmap`, `secret`, `serviceaccount`).
fn kind_of(word: &str) -> &'static str {
    match word {
        "secret" => "Secret",
        "serviceaccount" => "ServiceAccount",
        _ => "ConfigMap",
    }
}

/// The docstring's object, of `kind`, named `name` in `namespace`.
async fn object(world: &PodWorld, step: Option<&Step>, kind: &str, name: &str, namespace: &str) -> Result<Value, StepFailure> {
    let mut object = match step {
        Some(step) => {
            let text = substitute(world, docstring(step)?).await?;
            let yaml: serde_yaml::Value =
                serde_yaml::from_str(&text).map_err(|e| StepFailure::new(format!("the {kind} is not YAML: {e}")))?;
            serde_json::to_value(yaml).map_err(|e| StepFailure::new(format!("the {kind} is not JSON-like: {e}")))?
        }
        None => Value::Object(Default::default()),
    };
    let map = object.as_object_mut().ok_or_else(|| StepFailure::new(format!("the {kind} is not a mapping")))?;
    map.insert("apiVersion".into(), "v1".into());
    map.insert("kind".into(), kind.into());
    let metadata = map.entry("metadata").or_insert_with(|| Value::Object(Default::default()));
    let metadata = metadata.as_object_mut().ok_or_else(|| StepFailure::new("metadata is not a mapping"))?;
    metadata.insert("name".into(), name.into());
    metadata.insert("namespace".into(), namespace.into());
    Ok(object)
}

async fn write(world: &mut PodWorld, write: ConfigWrite, kind: &str, name: &str, step: Option<&Step>) -> Result<(), StepFailure> {
    let namespace = world.namespace.clone();
    let object = object(world, step, kind, name, &namespace).await?;
    world.target().require_config_objects()?.write_config_object(write, &object).await?;
    Ok(())
}

/// The scenario's second namespace, opened on the target at its first use.
async fn second_namespace(world: &mut PodWorld) -> Result<String, StepFailure> {
    let namespace = format!("{}-2", world.namespace);
    if !world.other_namespaces.contains(&namespace) {
        world.target().open_namespace(&namespace).await?;
        world.other_namespaces.push(namespace.clone());
    }
    Ok(namespace)
}

#[given(regex = r#"^I create (configmap|secret) "([^"]+)" in a second namespace with:?$"#)]
#[when(regex = r#"^I create (configmap|secret) "([^"]+)" in a second namespace with:?$"#)]
async fn create_in_second(world: &mut PodWorld, step: &Step, word: String, name: String) -> Result<(), StepFailure> {
    let namespace = second_namespace(world).await?;
    let object = object(world, Some(step), kind_of(&word), &name, &namespace).await?;
    world.target().require_config_objects()?.write_config_object(ConfigWrite::Create, &object).await?;
    Ok(())
}

#[given(regex = r#"^I create (configmap|secret|serviceaccount) "([^"]+)" with:?$"#)]
#[when(regex = r#"^I create (configmap|secret|serviceaccount) "([^"]+)" with:?$"#)]
async fn create(world: &mut PodWorld, step: &Step, word: String, name: String) -> Result<(), StepFailure> {
    write(world, ConfigWrite::Create, kind_of(&word), &name, Some(step)).await
}

#[given(regex = r#"^I create (\d+) (configmap|secret)s "([^"]+)" with:?$"#)]
#[when(regex = r#"^I create (\d+) (configmap|secret)s "([^"]+)" with:?$"#)]
async fn create_many(world: &mut PodWorld, step: &Step, count: usize, word: String, template: String) -> Result<(), StepFailure> {
    if !template.contains("{i}") {
        return Err(StepFailure::new(format!("the name {template:?} has no {{i}}: {count} objects would share it")));
    }
    for i in 0..count {
        write(world, ConfigWrite::Create, kind_of(&word), &template.replace("{i}", &i.to_string()), Some(step)).await?;
    }
    Ok(())
}

#[given(regex = r#"^I replace (configmap|secret) "([^"]+)" with:?$"#)]
#[when(regex = r#"^I replace (configmap|secret) "([^"]+)" with:?$"#)]
async fn replace(world: &mut PodWorld, step: &Step, word: String, name: String) -> Result<(), StepFailure> {
    write(world, ConfigWrite::Replace, kind_of(&word), &name, Some(step)).await
}

#[given(regex = r#"^I delete (configmap|secret) "([^"]+)"$"#)]
#[when(regex = r#"^I delete (configmap|secret) "([^"]+)"$"#)]
async fn delete(world: &mut PodWorld, word: String, name: String) -> Result<(), StepFailure> {
    write(world, ConfigWrite::Delete, kind_of(&word), &name, None).await
}

/// The value of `key` in ConfigMap `name` of the scenario's namespace, if both exist.
async fn config_map_value(world: &PodWorld, name: &str, key: &str) -> Result<Option<String>, StepFailure> {
    let object = object(world, None, "ConfigMap", name, &world.namespace).await?;
    let read = world.target().require_config_objects()?.write_config_object(ConfigWrite::Get, &object).await?;
    Ok(read.and_then(|cm| {
        cm.pointer(&format!("/data/{}", key.replace('~', "~0").replace('/', "~1"))).and_then(|v| v.as_str()).map(String::from)
    }))
}

/// A ConfigMap the cluster keeps (each namespace's `kube-root-ca.crt`) holds, under `key`, a
/// PEM certificate: waited for, as a controller makes it, makes it again or sets it back.
#[then(regex = r#"^configmap "([^"]+)" eventually has key "([^"]+)" holding a PEM certificate$"#)]
async fn eventually_holds_certificate(world: &mut PodWorld, name: String, key: String) -> Result<(), StepFailure> {
    let what = format!("configmap {name:?} holding a PEM certificate under {key:?}");
    let check = || async {
        match config_map_value(world, &name, &key).await? {
            Some(v) if v.starts_with("-----BEGIN CERTIFICATE-----") && v.trim_end().ends_with("-----END CERTIFICATE-----") => Ok(()),
            Some(v) => Err(StepFailure::mismatch(format!("{name:?}'s {key:?} is no PEM certificate"), "-----BEGIN CERTIFICATE-----...", v)),
            None => Err(StepFailure::new(format!("configmap {name:?} or its key {key:?} does not exist"))),
        }
    };
    super::wait::eventually(&what, world.timeouts().eventually, check).await
}

/// A file in a container holds exactly what a ConfigMap's key holds (`ca.crt` of the token
/// volume and `kube-root-ca.crt`, as e2e's "should mount an API token into pods" compares them).
#[then(regex = r#"^file "([^"]+)" in container "([^"]+)" of pod "([^"]+)" holds key "([^"]+)" of configmap "([^"]+)"$"#)]
async fn file_holds_key(
    world: &mut PodWorld,
    path: String,
    container: String,
    pod: String,
    key: String,
    name: String,
) -> Result<(), StepFailure> {
    let expected = config_map_value(world, &name, &key)
        .await?
        .ok_or_else(|| StepFailure::new(format!("configmap {name:?} or its key {key:?} does not exist")))?;
    let r = world.pod_ref(&pod);
    let argv = vec!["cat".to_string(), path.clone()];
    let out = world.target().exec(&r, &container, &argv, world.timeouts().exec).await?;
    if out.exit_code != 0 {
        return Err(StepFailure::new(format!(
            "cat {path} in container {container:?} of pod {pod:?} exited {}: {}",
            out.exit_code, out.stderr
        )));
    }
    if out.stdout != expected {
        return Err(StepFailure::mismatch(format!("{path} in container {container:?} of pod {pod:?}"), expected, out.stdout));
    }
    Ok(())
}
