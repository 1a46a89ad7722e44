//! The route table: each path one resource with its methods, so a method the path does
//! not serve is a 405 with `Allow` (RFC 9110 §15.5.6), not a 404; and a record of what
//! was served, which a test holds against the OpenAPI document (neither may drift).

use actix_web::http::{Method, StatusCode, header};
use actix_web::{FromRequest, Handler, HttpResponse, Responder, Route, web};

use crate::base::error::ApiError;

/// Routes gathered by path, registered together by [`Routes::register`].
#[derive(Default)]
pub(crate) struct Routes {
    resources: Vec<(String, Vec<(Method, Route)>)>,
}

impl Routes {
    pub(crate) fn get<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::GET, path, handler)
    }

    pub(crate) fn post<F, Args>(&mut self, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, handler)
    }

    fn add<F, Args>(&mut self, method: Method, path: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::method(method.clone()).to(handler);
        match self.resources.iter_mut().find(|(p, _)| p == path) {
            Some((_, routes)) => routes.push((method, route)),
            None => self
                .resources
                .push((path.to_owned(), vec![(method, route)])),
        }
        self
    }

    /// Registers every path; returns `(method, path)` of each route, for the test that
    /// compares them with the OpenAPI document.
    pub(crate) fn register(self, cfg: &mut web::ServiceConfig) -> Vec<(Method, String)> {
        let mut served = Vec::new();
        for (path, routes) in self.resources {
            let allow: Vec<&str> = routes.iter().map(|(m, _)| m.as_str()).collect();
            let allow = allow.join(", ");
            let mut resource = web::resource(path.as_str());
            for (method, route) in routes {
                served.push((method, path.clone()));
                resource = resource.route(route);
            }
            resource = resource.default_service(web::to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(&allow) }
            }));
            cfg.service(resource);
        }
        served
    }
}

fn method_not_allowed(allow: &str) -> HttpResponse {
    let error = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("this path takes {allow}"),
    );
    let mut response = actix_web::ResponseError::error_response(&error);
    if let Ok(value) = header::HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}
