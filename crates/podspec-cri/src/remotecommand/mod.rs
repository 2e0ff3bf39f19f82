//! Kubernetes' remote command protocol (apimachinery's `util/remotecommand` and the kubelet's
//! `cri/streaming/remotecommand`), as exec speaks it between a client and an API server, and
//! between a kubelet and a CRI runtime's streaming server. One definition of its channels,
//! protocol names, outcome Status and terminal size, used by serve's exec (`server::exec`) and by
//! the CRI client (`runtime::cri_grpc::stream`); `spdy` is the SPDY/3.1 framing of its older
//! transport.
//!
//! - WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`): each binary message is one channel
//!   byte then data. v5 adds [`channel::CLOSE`], with which a client closes a channel (stdin).
//! - SPDY/3.1 (`v4.channel.k8s.io`): one stream per channel, named by its `streamtype` header
//!   ([`stream_type`]).
//!
//! Either way the outcome is a `Status` on the error channel ([`outcome`], read back by
//! [`exit_code`]) and a tty's size is JSON `{"Width":..,"Height":..}` on the resize channel.

pub mod spdy;

use serde_json::json;

/// The WebSocket subprotocol whose channel 255 closes a channel.
pub const V5: &str = "v5.channel.k8s.io";
/// The subprotocol of SPDY sessions, and of WebSocket before v5.
pub const V4: &str = "v4.channel.k8s.io";
/// The WebSocket subprotocols, most preferred first.
pub const WEBSOCKET_PROTOCOLS: [&str; 2] = [V5, V4];

/// The channels of a WebSocket session: the first byte of each binary message.
pub mod channel {
    pub const STDIN: u8 = 0;
    pub const STDOUT: u8 = 1;
    pub const STDERR: u8 = 2;
    /// The outcome, a `Status`.
    pub const ERROR: u8 = 3;
    /// A tty's size.
    pub const RESIZE: u8 = 4;
    /// v5 only: the next byte is a channel the sender closes.
    pub const CLOSE: u8 = 255;
}

/// The `streamtype` header of each SPDY stream.
pub mod stream_type {
    pub const ERROR: &str = "error";
    pub const STDIN: &str = "stdin";
    pub const STDOUT: &str = "stdout";
    pub const STDERR: &str = "stderr";
    pub const RESIZE: &str = "resize";
}

/// The outcome a server sends on the error channel: Success, or `NonZeroExitCode` with the code
/// as an `ExitCode` cause and the kubelet's message; any other failure is an `InternalError`.
pub fn outcome(command: &[String], exit: Result<i32, String>) -> serde_json::Value {
    match exit {
        Ok(0) => json!({"metadata": {}, "status": "Success"}),
        Ok(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        Err(e) => json!({"metadata": {}, "status": "Failure", "reason": "InternalError", "message": e}),
    }
}

/// The exit code an outcome gives, as a client reads it; a failure that is not an exit code is
/// the server's error, its message kept whole.
pub fn exit_code(outcome: &[u8]) -> Result<i32, String> {
    if outcome.is_empty() {
        return Err("the streaming server closed the session without an outcome".into());
    }
    let status: serde_json::Value =
        serde_json::from_slice(outcome).map_err(|e| format!("the outcome {:?} is not a Status: {e}", String::from_utf8_lossy(outcome)))?;
    if status["status"] == "Success" {
        return Ok(0);
    }
    let causes = status["details"]["causes"].as_array().cloned().unwrap_or_default();
    let code = causes.iter().find(|c| c["reason"] == "ExitCode").and_then(|c| c["message"].as_str()?.parse().ok());
    match (status["reason"].as_str(), code) {
        (Some("NonZeroExitCode"), Some(code)) => Ok(code),
        _ => Err(status["message"].as_str().unwrap_or("the command failed").to_string()),
    }
}

/// A tty's size as a client sends it.
pub fn terminal_size(cols: u16, rows: u16) -> String {
    json!({"Width": cols, "Height": rows}).to_string()
}

/// A tty's size as a server reads it (columns, rows), each clamped to `u16`.
pub fn parse_terminal_size(json: &[u8]) -> Option<(u16, u16)> {
    let size: serde_json::Value = serde_json::from_slice(json).ok()?;
    let clamp = |v: u64| v.min(u16::MAX as u64) as u16;
    Some((clamp(size["Width"].as_u64()?), clamp(size["Height"].as_u64()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_gives_the_exit_code_or_the_servers_error() {
        assert_eq!(exit_code(br#"{"metadata":{},"status":"Success"}"#), Ok(0));
        let failure = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(exit_code(failure), Ok(3));
        let other = br#"{"metadata":{},"status":"Failure","message":"exec failed: no such file"}"#;
        assert_eq!(exit_code(other), Err("exec failed: no such file".into()));
        assert!(exit_code(b"").is_err());
    }

    #[test]
    fn what_a_server_sends_a_client_reads_back() {
        let command = vec!["sh".to_string(), "-c".to_string(), "exit 3".to_string()];
        for exit in [Ok(0), Ok(3), Ok(255), Err("the container is not running".to_string())] {
            let sent = serde_json::to_vec(&outcome(&command, exit.clone())).unwrap();
            assert_eq!(exit_code(&sent), exit);
        }
        let sent = outcome(&command, Ok(3));
        assert_eq!(sent["message"], "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3");
    }

    #[test]
    fn a_terminal_size_round_trips_and_is_clamped() {
        assert_eq!(parse_terminal_size(terminal_size(80, 24).as_bytes()), Some((80, 24)));
        assert_eq!(parse_terminal_size(br#"{"Width":100000,"Height":1}"#), Some((u16::MAX, 1)));
        assert_eq!(parse_terminal_size(b"{}"), None);
    }
}
