//! The HTTPS listener: TLS, HTTP/1.1 and HTTP/2, a 4 MiB body limit, fault injection, routing by
//! host name (apps' ingress included), and the request log.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::faults::FaultAction;
use super::http::{encode_body, PathError, SimRequest, SimResponse};
use super::reqlog::LoggedRequest;
use super::{admin, arm, edge, entra, ingress, keyvault, persist, HostRole, Sim};

pub const MAX_BODY: usize = 4 * 1024 * 1024;

pub async fn serve(
    sim: Arc<Sim>,
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    state_dir: Option<PathBuf>,
) {
    let acceptor = TlsAcceptor::from(config);
    let saver = state_dir.clone().map(|dir| {
        let sim = sim.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                if sim.dirty.swap(false, Ordering::AcqRel) {
                    if let Err(e) = persist::save(&sim, &dir) {
                        tracing::warn!(error = %e, "cannot save simulator state");
                    }
                }
            }
        })
    });
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (tcp, _) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let sim = sim.clone();
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(s)) => s,
                    _ => return,
                };
            let service = service_fn(move |req| {
                let sim = sim.clone();
                async move { handle(sim, req).await }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
    if let Some(s) = saver {
        s.abort();
    }
    if let Some(dir) = state_dir {
        if let Err(e) = persist::save(&sim, &dir) {
            tracing::warn!(error = %e, "cannot save simulator state");
        }
    }
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
pub struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

fn host_of(req: &Request<Incoming>) -> String {
    let raw = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    // Strip the port (and IPv6 brackets) to get the name routing is by.
    let name = if raw.starts_with('[') {
        raw.split(']')
            .next()
            .unwrap_or_default()
            .trim_start_matches('[')
            .to_string()
    } else {
        raw.split(':').next().unwrap_or_default().to_string()
    };
    name.to_ascii_lowercase()
}

async fn handle(
    sim: Arc<Sim>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let started = Instant::now();
    let host = host_of(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query_string = req.uri().query().unwrap_or_default().to_string();
    let headers = req.headers().clone();
    let mutating = super::http::is_mutating(&method, &path);

    let decision = if path.starts_with("/_sim") {
        Default::default()
    } else {
        sim.faults
            .lock()
            .decide(method.as_str(), &host, &path, mutating)
    };
    if decision.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.latency_ms)).await;
    }

    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(e),
    };
    let base_url = format!("https://{}:{}", host, sim.identity.port);
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query_string.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();

    let mut principal = None;
    let mut fault_name = None;
    let response = match (body, SimRequest::parse_path(&path)) {
        (Err(_), _) => SimResponse::arm_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &format!("The request content exceeds the maximum size of {} bytes.", MAX_BODY),
        ),
        (_, Err(PathError::Traversal(_))) => SimResponse::arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestUri",
            "The request URI is invalid: path segments '.', '..' and encoded path separators are not allowed.",
        ),
        (_, Err(PathError::BadEncoding)) => SimResponse::arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestUri",
            "The request URI is invalid: a path segment is not valid percent-encoded UTF-8.",
        ),
        (Ok(body), Ok(segments)) => {
            let request = SimRequest {
                method: method.clone(),
                host: host.clone(),
                path: path.clone(),
                segments,
                query,
                headers,
                body,
                base_url,
            };
            if let Some(action) = &decision.respond {
                fault_name = Some(format!("{action:?}"));
                fault_response(action, &request)
            } else if request.path.starts_with("/_sim") && sim.identity.host_role(&host) == HostRole::Management {
                admin::handle(&sim, &request)
            } else {
                match sim.identity.host_role(&host) {
                    HostRole::Management => {
                        let (r, p) = arm::handle(&sim, &request, decision.fail_lro.clone());
                        principal = p;
                        if mutating && r.status.is_success() {
                            sim.dirty.store(true, Ordering::Release);
                        }
                        r
                    }
                    HostRole::Login => {
                        let state = sim.state.lock();
                        entra::handle(&state, &sim.identity, &sim.signer, &request, decision.token_lifetime_secs)
                    }
                    HostRole::Vault(vault) => {
                        let r = keyvault::handle(&sim, &request, vault);
                        if mutating && r.status.is_success() {
                            sim.dirty.store(true, Ordering::Release);
                        }
                        r
                    }
                    HostRole::Unknown => ingress::handle(&sim, &request).or_else(|| edge::handle(&sim, &request)).unwrap_or_else(|| SimResponse::text(
                        StatusCode::MISDIRECTED_REQUEST,
                        format!(
                            "The simulated Azure serves login.{d}, management.{d}, {{vault}}.vault.{d}, container apps under their environments' domains and Front Door endpoints; '{host}' is none of them.",
                            d = sim.identity.domain
                        ),
                        "text/plain; charset=utf-8",
                    )),
                }
            }
        }
    };

    if !path.starts_with("/_sim") {
        sim.log.lock().push(LoggedRequest {
            seq: 0,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: method.to_string(),
            host: host.clone(),
            path: path.clone(),
            query: query_string,
            status: if response.drop_connection {
                0
            } else {
                response.status_u16()
            },
            mutating,
            principal,
            client_request_id: response
                .header("x-ms-client-request-id")
                .map(str::to_string),
            request_id: response.header("x-ms-request-id").map(str::to_string),
            fault: fault_name,
            duration_ms: started.elapsed().as_millis() as u64,
        });
    }
    if response.drop_connection {
        return Err(DropConnection);
    }
    Ok(to_hyper(response))
}

fn fault_response(action: &FaultAction, req: &SimRequest) -> SimResponse {
    let mut resp = match action {
        FaultAction::Throttle { retry_after_secs } => arm::throttled(*retry_after_secs),
        FaultAction::ServerError { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (code, message) = match status.as_u16() {
                502 => ("BadGateway", "The gateway did not receive a response from 'Microsoft.App' within the specified time period."),
                503 => ("ServiceUnavailable", "The service is temporarily unavailable. Please retry the request."),
                504 => ("GatewayTimeout", "The gateway did not receive a response from 'Microsoft.App' within the specified time period."),
                _ => ("InternalServerError", "The server encountered an internal error. Please retry the request."),
            };
            let mut r = SimResponse::arm_error(status, code, message);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                r.set_header("Retry-After", "1");
            }
            r
        }
        FaultAction::Error {
            status,
            code,
            message,
        } => SimResponse::arm_error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            if message.is_empty() {
                "Injected by the simulator."
            } else {
                message
            },
        ),
        FaultAction::Drop => SimResponse::dropped(),
        // Not answering actions; handled elsewhere.
        _ => SimResponse::new(StatusCode::OK),
    };
    if !resp.drop_connection {
        arm::decorate(&mut resp, req);
    }
    resp
}

fn to_hyper(resp: SimResponse) -> Response<Full<Bytes>> {
    let (bytes, content_type) = encode_body(&resp.body);
    let mut builder = Response::builder().status(resp.status);
    if let Some(ct) = content_type {
        builder = builder.header(http::header::CONTENT_TYPE, ct);
    }
    for (name, value) in &resp.headers {
        // Values we build are ASCII; anything else is dropped rather than breaking the answer.
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            builder = builder.header(n, v);
        }
    }
    builder.body(Full::new(bytes)).unwrap_or_else(|_| {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
