//! Webhooks instead of polling: an axum receiver that verifies Reducto's
//! deliveries and prints the events.
//!
//! `cargo run --example webhook_receiver` runs offline: it starts the local
//! Reducto server (which delivers webhooks like Reducto, signing Svix-mode
//! ones), starts the receiver, submits two parse jobs whose webhooks point
//! at it (one Svix, signed; one direct, unsigned), prints both events and
//! exits.
//!
//! Against the real service (spends credits): set `REDUCTO_API_KEY`,
//! `WEBHOOK_PUBLIC_URL` (where Reducto can reach this receiver, e.g. a
//! tunnel to `WEBHOOK_LISTEN`, default `0.0.0.0:8080`) and, for the Svix
//! job, `REDUCTO_WEBHOOK_SECRET` (the `whsec_...` secret of the endpoint
//! configured in Reducto's webhook portal, pointing at
//! `<WEBHOOK_PUBLIC_URL>/reducto/svix`).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use reducto::webhook::{Verifier, WebhookConfig, WebhookEvent};
use reducto::{Error, Reducto};
use serde_json::json;
use tokio::sync::mpsc;

const DOCUMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/sample.md");

/// The local server's endpoint secret (any `whsec_<base64>` works).
const LOCAL_SECRET: &str = "whsec_bG9jYWwtZGVtby1zZWNyZXQtZm9yLXJlZHVjdG8=";

/// Shared with the handlers: the verifier and where to report events.
#[derive(Clone)]
struct Receiver {
    verifier: Option<Verifier>,
    events: mpsc::Sender<(&'static str, WebhookEvent)>,
}

/// Svix deliveries: refused (401) unless the signature verifies.
async fn svix(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let Some(verifier) = &r.verifier else {
        return StatusCode::NOT_FOUND;
    };
    match verifier.verify(&headers, &body) {
        Ok(event) => {
            let _ = r.events.send(("svix, verified", event)).await;
            StatusCode::NO_CONTENT
        }
        Err(e) => {
            eprintln!("refused a delivery: {e}");
            StatusCode::UNAUTHORIZED
        }
    }
}

/// Direct deliveries are unsigned: in production, make this URL
/// unguessable (a secret path segment) and check the job with the API.
async fn direct(State(r): State<Receiver>, body: Bytes) -> StatusCode {
    match WebhookEvent::from_body(&body) {
        Ok(event) => {
            let _ = r.events.send(("direct, unsigned", event)).await;
            StatusCode::NO_CONTENT
        }
        Err(e) => {
            eprintln!("unreadable delivery: {e}");
            StatusCode::BAD_REQUEST
        }
    }
}

fn config_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("{what}: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let online = std::env::var_os(reducto::API_KEY_ENV).is_some();
    let listen = match std::env::var("WEBHOOK_LISTEN") {
        Ok(addr) => addr,
        Err(_) if online => "0.0.0.0:8080".to_owned(),
        Err(_) => "127.0.0.1:0".to_owned(),
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| config_error(&format!("binding {listen}"), e))?;
    let local = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(|e| config_error("address", e))?
    );

    // Where deliveries come from: Reducto, or the local server.
    let (client, public_url, secret, _local_server) = if online {
        let public = std::env::var("WEBHOOK_PUBLIC_URL")
            .map_err(|_| config_error("WEBHOOK_PUBLIC_URL", "not set"))?;
        let secret = std::env::var("REDUCTO_WEBHOOK_SECRET").ok();
        (Reducto::from_env()?, public, secret, None)
    } else {
        let server = reducto_mock::Server::builder()
            .job_duration(Duration::from_secs(1))
            .svix_endpoint(format!("{local}/reducto/svix"), LOCAL_SECRET)
            .start()
            .await
            .map_err(|e| config_error("starting the local server", e))?;
        let client = Reducto::builder()
            .read_env(false)
            .api_key("local-test-key")
            .base_url(server.url())
            .build()?;
        println!("Using the local Reducto server at {}", server.url());
        (
            client,
            local.clone(),
            Some(LOCAL_SECRET.to_owned()),
            Some(server),
        )
    };
    let verifier = secret
        .as_deref()
        .map(Verifier::new)
        .transpose()
        .map_err(|e| config_error("REDUCTO_WEBHOOK_SECRET", e))?;

    let (tx, mut events) = mpsc::channel(16);
    let app = Router::new()
        .route("/reducto/svix", post(svix))
        .route("/reducto/direct", post(direct))
        .with_state(Receiver {
            verifier: verifier.clone(),
            events: tx,
        });
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("Receiving webhooks at {local}/reducto/{{svix,direct}}");

    // Submit the jobs; nothing polls them.
    let upload = client.upload(DOCUMENT).await?;
    let mut expected = 0;
    if verifier.is_some() {
        let job = client
            .parse()
            .run_job(&upload)
            .webhook(WebhookConfig::svix().metadata(json!({"document": "sample.md"})))
            .await?;
        println!("Submitted job {} (Svix webhook)", job.job_id);
        expected += 1;
    }
    let job = client
        .parse()
        .run_job(&upload)
        .webhook(
            WebhookConfig::direct(format!("{public_url}/reducto/direct"))
                .metadata(json!({"document": "sample.md"})),
        )
        .await?;
    println!("Submitted job {} (direct webhook)", job.job_id);
    expected += 1;

    for _ in 0..expected {
        match tokio::time::timeout(Duration::from_secs(600), events.recv()).await {
            Ok(Some((how, event))) => println!(
                "Webhook ({how}): job {} is {}, metadata {}",
                event.job_id,
                event.status,
                event.metadata.unwrap_or_default()
            ),
            Ok(None) => break,
            Err(_) => return Err(config_error("waiting for webhooks", "timed out")),
        }
    }
    Ok(())
}
