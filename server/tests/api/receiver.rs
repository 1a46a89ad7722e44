//! A webhook receiver for the tests: records every delivery (headers and body) and
//! answers with the status the test sets (500 plays "down"). Verification is left to
//! the official `standardwebhooks` library, never to our own code.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;

/// A base64 key of 32 bytes as a Standard Webhooks secret.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7Tm8Sm2tfS0=";
/// The secret being rotated out.
pub const PREVIOUS_SECRET: &str = "whsec_8gJ6Yx3mQ0p1kYzWJ2pFmN0q9c4rTtUv5xYzAbCdEfE=";

#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    /// What the receiver answered it.
    pub answered: u16,
}

impl Delivery {
    pub fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Verified by the official library with `secret`.
    pub fn verifies_with(&self, secret: &str) -> bool {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&self.body, &self.headers)
            .is_ok()
    }
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Delivery>>>,
    answer: Arc<AtomicU16>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let mut headers = http::HeaderMap::new();
    for (name, value) in req.headers() {
        headers.append(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let status = shared.answer.load(Ordering::SeqCst);
    shared.received.lock().unwrap().push(Delivery {
        headers,
        body: body.to_vec(),
        answered: status,
    });
    if status == 302 {
        return HttpResponse::Found()
            .insert_header(("Location", "/elsewhere"))
            .finish();
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .body("x".repeat(4096))
}

impl Receiver {
    /// Listening on a free port, answering `status`.
    pub async fn start(status: u16) -> Receiver {
        let shared = Shared {
            received: Arc::default(),
            answer: Arc::new(AtomicU16::new(status)),
        };
        let data = web::Data::new(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url,
            shared,
            handle,
        }
    }

    pub fn answer(&self, status: u16) {
        self.shared.answer.store(status, Ordering::SeqCst);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the deliveries so far (or `within` passes): them.
    pub async fn wait_until(
        &self,
        within: Duration,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let seen = self.deliveries();
            if done(&seen) || tokio::time::Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The deliveries of events of `kind`.
    pub fn of_type(&self, kind: &str) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.json()["type"] == kind)
            .collect()
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}
