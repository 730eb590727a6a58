//! The HTTP side: a hyper accept loop, one task per connection (HTTP/1.1 keep-alive), gzip
//! request bodies inflated, the admin endpoint, fault injection (500, dropped connection, 2 s delay) and a graceful stop. A
//! request holds the world's lock once, briefly (twice when faulted).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::vocabulary::{ApiError, Clock, Millis, codes};
use crate::wire::{Call, answer};
use crate::world::{Admission, FaultKind, World};

/// The admin endpoint serving the ground truth.
pub const STATS_PATH: &str = "/_sandbox/stats";
/// How long a delayed request waits.
const FAULT_DELAY: Duration = Duration::from_secs(2);
/// Largest request body accepted: a PutRecordBatch of 4 MiB of data, base64-encoded, and its
/// JSON.
const MAX_BODY: usize = 8 << 20;
/// How long a stop waits for open connections to finish their requests.
const DRAIN: Duration = Duration::from_secs(5);

/// What every connection task shares.
pub(super) struct Shared {
    world: Mutex<World>,
    default_region: String,
    clock: Arc<dyn Clock>,
    next_request: AtomicU64,
    request_id_prefix: u32,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("default_region", &self.default_region)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn new(
        world: World,
        default_region: String,
        clock: Arc<dyn Clock>,
        seed: u64,
    ) -> Self {
        Shared {
            world: Mutex::new(world),
            default_region,
            clock,
            next_request: AtomicU64::new(1),
            request_id_prefix: (seed as u32) ^ 0x5a4d_b0c5,
        }
    }

    /// The world, locked. A panic while holding it cannot leave it half-changed in a way that
    /// matters more than stopping serving, so a poisoned lock is taken as is.
    pub(super) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn now(&self) -> Millis {
        self.clock.now()
    }

    fn request_id(&self) -> String {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        format!(
            "{:08x}-5a4d-4b0c-8000-{:012x}",
            self.request_id_prefix,
            n & 0xffff_ffff_ffff
        )
    }
}

/// A request answered by closing the connection.
#[derive(Debug, thiserror::Error)]
#[error("sandbox fault injection: connection dropped")]
struct DropConnection;

/// Serves `listener` until `shutdown` turns true (or its sender goes), then lets open
/// connections finish their current request for up to 5 s.
pub(super) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    let stop = shutdown.clone();
                    connections.spawn(async move {
                        serve_connection(stream, shared, stop).await;
                        tracing::trace!(%peer, "connection closed");
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!("sandbox accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { handle(&shared, req).await }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("sandbox connection ended: {e}");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let request_id = shared.request_id();
    if req.uri().path() == STATS_PATH {
        return Ok(stats(shared, req.method(), &request_id));
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let err = ApiError::new(
                codes::SERIALIZATION,
                format!("Cannot read the request body: {e}"),
            );
            return Ok(answer::error(&err, &request_id));
        }
    };
    // A body the client compressed (CloudWatch's PutMetricData: `requestcompression`).
    let gzipped = parts
        .headers
        .get(hyper::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().eq_ignore_ascii_case("gzip")));
    let body = if gzipped {
        match gunzip(&body) {
            Ok(plain) => Bytes::from(plain),
            Err(e) => {
                let err = ApiError::new(
                    codes::SERIALIZATION,
                    format!("Cannot read the gzip request body: {e}"),
                );
                return Ok(answer::error(&err, &request_id));
            }
        }
    } else {
        body
    };
    // Arrival is before reading: a request's reading takes no part in the rates observed.
    let arrived = shared.now();
    let call = Call::parse(
        &parts.headers,
        parts.uri.path(),
        &body,
        &shared.default_region,
    );
    let (quota, faultable) = (call.quota(), call.is_faultable());
    // Admission and the operation under one lock: one acquisition per request on the hot path.
    let (admission, result, account) = {
        let mut world = shared.world();
        let caller = world.caller(&call.access_key, arrived);
        let admission = world.admit(
            call.op_name(),
            &caller,
            &call.region,
            quota,
            faultable,
            arrived,
        );
        let result = (admission == Admission::Proceed)
            .then(|| call.execute(&mut world, &caller, arrived, &request_id));
        (admission, result, caller.account)
    };
    tracing::debug!(
        op = call.op_name(),
        %account,
        region = %call.region,
        stream = call.stream_name(),
        ?admission,
        "request"
    );
    let protocol = call.protocol;
    match (admission, result) {
        (Admission::Proceed, Some(result)) => Ok(answer::reply(protocol, result, &request_id)),
        (Admission::Proceed, None) => unreachable!("an admitted call is executed"),
        (Admission::Expired, _) => Ok(answer::error_in(
            protocol,
            &answer::expired(protocol),
            &request_id,
        )),
        (Admission::OtherPartition, _) => Ok(answer::error_in(
            protocol,
            &answer::unrecognized(protocol),
            &request_id,
        )),
        (Admission::Throttled, _) => Ok(answer::error_in(
            protocol,
            &answer::throttled(protocol),
            &request_id,
        )),
        (Admission::Fault { kind, apply }, _) => {
            if kind == FaultKind::Delay {
                tokio::time::sleep(FAULT_DELAY).await;
            }
            let result = apply.then(|| execute(shared, &call, &request_id));
            let applied = result.as_ref().is_some_and(Result::is_ok);
            shared.world().record_fault(
                call.op_name(),
                kind,
                &call.region,
                call.stream_name(),
                applied,
                arrived,
            );
            match (kind, result) {
                (FaultKind::Delay, Some(result)) => {
                    Ok(answer::reply(protocol, result, &request_id))
                }
                (FaultKind::Drop, _) => Err(DropConnection),
                _ => Ok(answer::error(&answer::internal_failure(), &request_id)),
            }
        }
    }
}

/// A gzip body, inflated (at most `MAX_BODY` bytes of it).
fn gunzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut plain)?;
    if plain.len() > MAX_BODY {
        return Err(std::io::Error::other("the inflated body is too large"));
    }
    Ok(plain)
}

fn execute(shared: &Shared, call: &Call, request_id: &str) -> Result<Vec<u8>, ApiError> {
    let now = shared.now();
    let mut world = shared.world();
    let caller = world.caller(&call.access_key, now);
    call.execute(&mut world, &caller, now, request_id)
}

fn stats(shared: &Shared, method: &Method, request_id: &str) -> Response<Full<Bytes>> {
    if method != Method::GET {
        let err = ApiError::new(
            codes::UNKNOWN_OPERATION,
            format!("{STATS_PATH} answers GET only."),
        );
        return answer::error(&err, request_id);
    }
    let now = shared.now();
    let stats = shared.world().stats(now);
    let body = serde_json::to_vec(&stats).unwrap_or_default();
    answer::admin_json(body, request_id)
}
