//! `pods/attach`, proxied to the node's kubelet as kube-apiserver proxies it, over the same
//! transports as `exec` (WebSocket v5/v4, SPDY/3.1 v4; see `exec`): the running container's
//! stdout and stderr from the attach on, and its stdin where the container has `stdin: true`.
//! The session ends, with a `Success` outcome, when the container ends; a client that leaves
//! leaves the container running. As the kubelet's `GetAttach`, the container's own `tty`
//! decides whether the session is a terminal's, not the request: with a tty, one output stream
//! and the resize stream.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts as _, Path, RawQuery, Request, State};
use axum::http::header;
use axum::response::Response;
use k8s_openapi::api::core::v1::Pod;

use super::exec_session::carry_attach;
use super::exec_websocket::WebSocketClient;
use super::pod_subresources::{container_of, flag, node_uid, param, query_pairs, stored};
use super::{AppState, Failure};
use podspec_cri::remotecommand;

/// Whether the pod's container `name` (of any kind) has `stdin: true` and `tty: true`.
fn stdin_and_tty(pod: &Pod, name: &str) -> (bool, bool) {
    let spec = pod.spec.clone().unwrap_or_default();
    let plain = spec.init_containers.iter().flatten().chain(spec.containers.iter()).find(|c| c.name == name).map(|c| (c.stdin, c.tty));
    let ephemeral = || spec.ephemeral_containers.iter().flatten().find(|c| c.name == name).map(|c| (c.stdin, c.tty));
    let (stdin, tty) = plain.or_else(ephemeral).unwrap_or_default();
    (stdin.unwrap_or(false), tty.unwrap_or(false))
}

/// What an attach request asks for, checked against the pod (as kube-apiserver and the kubelet
/// check it): the container, and whether stdin, stdout and stderr are wanted.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct AttachRequest {
    pub container: String,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// The container's `tty`: its output is one stream (stderr is never sent) and it is resized.
    pub tty: bool,
}

pub(super) fn attach_request(pod: &Pod, raw_query: Option<&str>) -> Result<AttachRequest, Failure> {
    let q = query_pairs(raw_query);
    let container = container_of(pod, param(&q, "container"))?;
    let (stdin, stdout, stderr) = (flag(&q, "stdin"), flag(&q, "stdout"), flag(&q, "stderr"));
    if !stdin && !stdout && !stderr {
        return Err(Failure::bad_request("you must specify at least 1 of stdin, stdout, stderr"));
    }
    let (has_stdin, tty) = stdin_and_tty(pod, &container);
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    if stdin && !has_stdin {
        return Err(Failure::bad_request(format!(
            "container {container} in pod {name} has no stdin (stdin: true in its spec): attach without stdin (-i)"
        )));
    }
    // The kubelet attaches with the container's own tty whatever the request says, and the
    // runtime refuses a terminal's attach that asks for stderr too (the CRI's AttachRequest:
    // "If `tty` is true, `stderr` MUST be false"): kubectl asks for stderr when its own stdin
    // is not a terminal.
    if tty && stderr {
        return Err(Failure::bad_request(format!(
            "tty and stderr cannot both be true: container {container} in pod {name} has a terminal (tty: true), whose output is one stream: attach without stderr (kubectl attach -it, from a terminal)"
        )));
    }
    Ok(AttachRequest { container, stdin, stdout, stderr, tty })
}

pub async fn attach(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, Failure> {
    let pod = stored(&state, &namespace, &name)?;
    let AttachRequest { container, stdin, stdout, stderr, tty } = attach_request(&pod, raw.as_deref())?;
    let uid = node_uid(&pod);
    let upgrade = request.headers().get(header::UPGRADE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if upgrade.starts_with("spdy/") {
        let streams = super::exec_spdy::Streams { stdin, stdout, stderr, tty };
        return super::exec_spdy::upgrade(request, streams, move |client| async move {
            carry_attach(client, &state, &uid, &container, stdin).await;
        });
    }
    let (mut parts, _) = request.into_parts();
    let Ok(ws) = WebSocketUpgrade::from_request_parts(&mut parts, &()).await else {
        return Err(Failure::bad_request(
            "Upgrade request required: podspec serve speaks attach over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io) or SPDY/3.1 (v4.channel.k8s.io)",
        ));
    };
    let ws = ws.protocols(remotecommand::WEBSOCKET_PROTOCOLS);
    Ok(ws.on_upgrade(move |socket| async move {
        carry_attach(WebSocketClient::new(socket), &state, &uid, &container, stdin).await;
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "app", "image": "i", "stdin": true}, {"name": "side", "image": "i"}],
                "ephemeralContainers": [{"name": "dbg", "image": "i", "stdin": true}]
            }
        }))
        .unwrap()
    }

    #[test]
    fn an_attach_names_a_container_of_the_pod_and_a_stream() {
        let ok = attach_request(&pod(), Some("container=app&stdin=true&stdout=true")).unwrap();
        assert_eq!(ok, AttachRequest { container: "app".into(), stdin: true, stdout: true, stderr: false, tty: false });
        let dbg = attach_request(&pod(), Some("container=dbg&stdin=true&stderr=1")).unwrap();
        assert_eq!((dbg.container.as_str(), dbg.stdin, dbg.stderr), ("dbg", true, true));
        let msg = |q: &str| attach_request(&pod(), Some(q)).unwrap_err().message;
        assert_eq!(msg("stdout=true"), "a container name must be specified for pod p, choose one of: [app side]");
        assert_eq!(msg("container=nope&stdout=true"), "container nope is not valid for pod p");
        assert_eq!(msg("container=app"), "you must specify at least 1 of stdin, stdout, stderr");
        assert_eq!(
            msg("container=side&stdin=true&stdout=true"),
            "container side in pod p has no stdin (stdin: true in its spec): attach without stdin (-i)"
        );
        assert!(attach_request(&pod(), Some("container=side&stdout=true")).is_ok(), "output alone needs no stdin");
    }

    /// A container with a terminal has one output stream: an attach that asks for stderr too
    /// (kubectl's when its stdin is no terminal) is refused, as the runtime refuses it, not
    /// left waiting for a stream that never comes.
    #[test]
    fn an_attach_to_a_terminal_asking_for_stderr_is_refused() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "app", "image": "i", "stdin": true, "tty": true}]}
        }))
        .unwrap();
        let ok = attach_request(&pod, Some("container=app&stdin=true&stdout=true&tty=true")).unwrap();
        assert_eq!(ok, AttachRequest { container: "app".into(), stdin: true, stdout: true, stderr: false, tty: true });
        let refused = attach_request(&pod, Some("container=app&stdin=true&stdout=true&stderr=true")).unwrap_err();
        assert_eq!(refused.code, 400);
        assert!(
            refused.message.starts_with("tty and stderr cannot both be true: container app in pod p has a terminal"),
            "{}",
            refused.message
        );
    }
}
