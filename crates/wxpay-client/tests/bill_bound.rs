//! The bound on a bill's inflated size (security review, issue #23, finding 7): a gzip bomb
//! is refused by name at `max_bill_bytes`, and the default holds a large merchant's day.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stderr
)]

use std::io::Write as _;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wxpay_client::{BillType, ClientOptions, DEFAULT_MAX_BILL_BYTES, PayClient, PayError};
use wxpay_core::ApiKey;
use wxpay_sim::config::{DOC_API_KEY, DOC_APPID, DOC_MCH_ID};

/// A host that answers every request with `body` (a gzipped bill).
async fn serving(body: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let body = std::sync::Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let _ = stream.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    url
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text).unwrap();
    gz.finish().unwrap()
}

fn client(base: &str, max_bill_bytes: u64) -> PayClient {
    let options = ClientOptions {
        max_bill_bytes,
        ..ClientOptions::default()
    };
    PayClient::new(
        base,
        DOC_APPID,
        DOC_MCH_ID,
        ApiKey::new(DOC_API_KEY).unwrap(),
        &options,
    )
    .unwrap()
}

/// 64 MiB of text in a gzip of ~64 KB: refused at a 32 MiB bound, by name; taken at 64.
#[tokio::test]
async fn a_bill_past_the_bound_is_refused_by_name() {
    let bomb = gzip(&vec![b'`'; 64 << 20]);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let base = serving(bomb).await;
    match client(&base, 32 << 20)
        .download_bill("20261130", BillType::All)
        .await
    {
        Err(PayError::BillTooLarge { limit }) => assert_eq!(limit, 32 << 20),
        other => panic!("{:?}", other.map(|text| text.map(|t| t.len()))),
    }
    let text = client(&base, 64 << 20)
        .download_bill("20261130", BillType::All)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text.len(), 64 << 20);
}

/// The default's measure: a day of 200,000 trades, each with the longest product name and
/// attach WeChat takes, as the simulator writes it, fits twice over.
#[test]
fn the_default_holds_a_large_merchants_day_twice_over() {
    let day = wxpay_sim::sized_bill(200_000);
    eprintln!(
        "a 200,000-trade bill: {} bytes; the default bound {DEFAULT_MAX_BILL_BYTES}",
        day.len()
    );
    assert!(day.lines().count() > 200_000);
    assert!(
        (day.len() as u64) * 2 <= DEFAULT_MAX_BILL_BYTES,
        "{}",
        day.len()
    );
}
