//! exec's WebSocket transport (`v5.channel.k8s.io`, `v4.channel.k8s.io`): each binary message
//! is one channel byte then data.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures::StreamExt as _;

use super::exec_session::{ClientEvent, ExecClient};
use podspec_cri::remotecommand::channel::{CLOSE, ERROR, RESIZE, STDIN};
use podspec_cri::remotecommand::parse_terminal_size;

pub(super) struct WebSocketClient(WebSocket);

impl WebSocketClient {
    pub(super) fn new(socket: WebSocket) -> Self {
        Self(socket)
    }
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut frame = Vec::with_capacity(data.len() + 1);
    frame.push(channel);
    frame.extend_from_slice(data);
    Message::Binary(frame.into())
}

impl ExecClient for WebSocketClient {
    async fn send(&mut self, channel: u8, data: &[u8]) -> bool {
        self.0.send(frame(channel, data)).await.is_ok()
    }

    async fn next(&mut self) -> ClientEvent {
        // A frame's first byte is its channel; clients send text frames too (the Python
        // client does, for text it writes).
        let bytes = match self.0.next().await {
            Some(Ok(Message::Binary(b))) => b.to_vec(),
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return ClientEvent::Nothing,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return ClientEvent::Gone,
        };
        match bytes.split_first() {
            Some((&STDIN, data)) => ClientEvent::Stdin(data.to_vec()),
            Some((&RESIZE, json)) => parse_terminal_size(json).map_or(ClientEvent::Nothing, |(w, h)| ClientEvent::Resize(w, h)),
            Some((&CLOSE, [STDIN, ..])) => ClientEvent::StdinEnd,
            _ => ClientEvent::Nothing,
        }
    }

    async fn finish(mut self, outcome: &[u8]) {
        let _ = self.0.send(frame(ERROR, outcome)).await;
        let close = axum::extract::ws::CloseFrame { code: axum::extract::ws::close_code::NORMAL, reason: "".into() };
        let _ = self.0.send(Message::Close(Some(close))).await;
        // Wait (a while) for the client's close, so the outcome is read before the connection goes.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(m)) = self.0.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}
