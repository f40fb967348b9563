//! One outpost instance's websocket: bearer authentication and the view permission on the
//! outpost before the upgrade (spec §4.1), then HELLO in, ACK and pushes out.
use std::collections::HashMap;

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use garrison_model::Outpost;
use garrison_services::Via;
use uuid::Uuid;

use super::hub::Outbound;
use super::protocol::{Frame, Instruction};
use crate::identity::{Credential, RequestIdentity};
use crate::{ApiError, AppState};

/// Instance ids are the outpost's per-process UUID; anything else is refused as a label.
fn instance_id(query: &HashMap<String, String>) -> String {
    query
        .get("instance_uuid")
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .cloned()
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

pub async fn outpost_socket(
    State(state): State<AppState>,
    Path(outpost): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    identity: Option<Extension<RequestIdentity>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Ok(outpost) = Uuid::parse_str(&outpost) else {
        return ApiError::NotFound.into_response();
    };
    // A bearer token, never a browser's session: outposts authenticate as themselves.
    let caller = identity.and_then(|Extension(identity)| match identity.credential {
        Credential::Bearer => identity.caller(Via::Api {
            method: "GET".into(),
            path: format!("/ws/outpost/{outpost}/"),
        }),
        _ => None,
    });
    let Some(caller) = caller else {
        return ApiError::Unauthenticated.into_response();
    };
    let outpost = match state.services.get_outpost(&caller, outpost).await {
        Ok(outpost) => outpost,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let instance = instance_id(&query);
    // Outposts send a HELLO of a few hundred bytes every 10 s and receive frames as small:
    // tungstenite's 128 KiB read buffer per connection would cost 1.3 GB at 10,000 instances.
    // The buffer still grows for a larger message, up to the 1 MiB limit; writes go out at
    // once (each frame is flushed anyway), and a peer that stops reading cannot pile up more
    // than the hub's queue.
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(1024 * 1024)
        .on_upgrade(move |socket| serve(state, outpost, instance, socket))
}

async fn serve(state: AppState, outpost: Outpost, instance: String, socket: WebSocket) {
    let hub = state.hub.clone();
    let registration = hub.register(outpost.pk);
    let expected = garrison_model::OutpostConfig::parse(&outpost.config)
        .map(|c| c.kubernetes_replicas)
        .unwrap_or(1);
    state
        .metrics
        .outpost_connected(&outpost.name, &instance, expected, true);
    if let Err(error) = state
        .services
        .outpost_instance_connected(outpost.pk, &instance, true)
        .await
    {
        tracing::warn!(outpost = %outpost.name, %error, "cannot record an instance's connection");
    }
    tracing::debug!(outpost = %outpost.name, instance = %instance, "outpost instance connected");

    let (mut sink, mut stream) = socket.split();
    let mut outbound = registration.outbound;
    let mut writer_dropped = registration.dropped.clone();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                next = outbound.recv() => match next {
                    Some(Outbound::Text(text)) => {
                        if sink.send(Message::Text(text)).await.is_err() {
                            break;
                        }
                    }
                    Some(Outbound::Close(code, reason)) => {
                        let _ = sink
                            .send(Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) })))
                            .await;
                        break;
                    }
                    None => break,
                },
                _ = writer_dropped.changed() => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame {
                            code: 1013,
                            reason: Utf8Bytes::from_static("too slow to read: reconnect"),
                        })))
                        .await;
                    break;
                }
            }
        }
    });

    let mut dropped = registration.dropped;
    let ack = Utf8Bytes::from(Frame::ack().encode());
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = dropped.changed() => break,
        };
        let Some(Ok(message)) = message else { break };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => break,
            // Pings are answered by the websocket layer; binary frames are not authentik's.
            _ => continue,
        };
        let Some(frame) = Frame::decode(text.as_str()) else {
            continue;
        };
        state.metrics.outpost_frame_received();
        match frame.instruction() {
            // ACKs refresh nothing and get no reply (spec §4.2 step 4).
            Some(Instruction::Ack) => continue,
            instruction => {
                let hello = (instruction == Some(Instruction::Hello)).then_some(&frame.args);
                match state
                    .services
                    .record_outpost_message(outpost.pk, &instance, hello)
                    .await
                {
                    Ok(recorded) => state.metrics.outpost_message(
                        &outpost.name,
                        &instance,
                        recorded.version.as_deref().unwrap_or(""),
                    ),
                    Err(error) => {
                        tracing::warn!(outpost = %outpost.name, %error, "cannot record an instance's state")
                    }
                }
                if registration
                    .sender
                    .try_send(Outbound::Text(ack.clone()))
                    .is_err()
                {
                    // Not reading its replies: the writer is closing the connection.
                    break;
                }
            }
        }
    }

    hub.unregister(outpost.pk, registration.id);
    writer.abort();
    state
        .metrics
        .outpost_connected(&outpost.name, &instance, expected, false);
    if let Err(error) = state
        .services
        .outpost_instance_connected(outpost.pk, &instance, false)
        .await
    {
        tracing::warn!(outpost = %outpost.name, %error, "cannot record an instance's disconnection");
    }
    tracing::debug!(outpost = %outpost.name, instance = %instance, "outpost instance disconnected");
}
