//! `/debug`: the wxpay-sign debug page (paste payment params or a notify, see every
//! problem), served from the package directory (`server.debug_page_dir`; the sandbox sets
//! it). The page and its wasm run in the browser: nothing pasted reaches this server.
//! Files are served from `debug/` and `dist/` only, by names of plain characters, each
//! with a strict Content-Security-Policy (the page's own scripts, styles and wasm, nothing
//! inline, no framing), nosniff and no referrer: a developer pastes keys into this page.

use std::path::{Path, PathBuf};

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// Where the package's files are served (the page imports `../dist/...`).
const MOUNT: &str = "/wxpay-sign";

/// The page loads only its own files: scripts and their wasm (`wasm-unsafe-eval` allows
/// compiling WebAssembly, not `eval`), its stylesheet, and fetches of its own origin (the
/// `.wasm`); no inline script or style, no plugins, no forms, never inside a frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The security headers of every response under `/debug` and the package.
fn secured(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    response
}

pub(super) fn configure(cfg: &mut web::ServiceConfig, dir: PathBuf) {
    cfg.app_data(web::Data::new(PackageDir(dir)))
        .route("/debug", web::get().to(page))
        .route("/debug/", web::get().to(page))
        .route(&format!("{MOUNT}/{{path:.*}}"), web::get().to(file));
}

struct PackageDir(PathBuf);

async fn page(dir: web::Data<PackageDir>) -> HttpResponse {
    if !dir.0.join("dist").join("browser.mjs").is_file() {
        return secured(HttpResponse::ServiceUnavailable())
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "The debug page needs the wxpay-sign package built: cd {} && npm ci && npm run build\n",
                dir.0.display()
            ));
    }
    secured(HttpResponse::Found())
        .insert_header((header::LOCATION, format!("{MOUNT}/debug/index.html")))
        .finish()
}

async fn file(dir: web::Data<PackageDir>, path: web::Path<String>) -> HttpResponse {
    let Some((relative, content_type)) = allowed(&path) else {
        return secured(HttpResponse::NotFound()).finish();
    };
    match tokio::fs::read(dir.0.join(relative)).await {
        Ok(bytes) => secured(HttpResponse::Ok())
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(bytes),
        Err(_) => secured(HttpResponse::NotFound()).finish(),
    }
}

/// The file a request may read, and its type: under `debug/` or `dist/`, each segment
/// plain (no `..`, no hidden files), of a type the page uses.
fn allowed(path: &str) -> Option<(&Path, &'static str)> {
    let mut segments = path.split('/');
    if !matches!(segments.next(), Some("debug" | "dist")) {
        return None;
    }
    let plain = path.split('/').all(|segment| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    if !plain {
        return None;
    }
    let content_type = match Path::new(path).extension()?.to_str()? {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        _ => return None,
    };
    Some((Path::new(path), content_type))
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn only_the_page_and_the_package_build_are_served() {
        assert!(allowed("debug/index.html").is_some());
        assert!(allowed("debug/debug.css").is_some());
        assert!(allowed("dist/web/wxpay_wasm_bg.wasm").is_some());
        assert!(allowed("dist/v3-browser.mjs").is_some());
        for refused in [
            "../Cargo.toml",
            "debug/../../server/wxpay.example.toml",
            "src/lib.rs",
            "debug/.hidden.js",
            "dist//browser.mjs",
            "dist/browser.mjs.map",
            "package.json",
            "dist/%2e%2e/x.js",
        ] {
            assert!(allowed(refused).is_none(), "{refused}");
        }
    }
}
