//! `-v` for AWS: every HTTP call the SDK makes (retries included), named as AWS names it
//! (`iam:GetAccountSummary`), on stderr; with `-vv` also how it ended. Never a header value, a
//! credential or a response body.

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use crate::verbose::note;

/// `inner` (or, when the configuration has none yet, the SDK's default HTTPS client) with
/// every request reported.
pub fn traced(inner: Option<SharedHttpClient>) -> SharedHttpClient {
    use aws_smithy_http_client::tls;
    let inner = inner.unwrap_or_else(|| {
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build_https()
    });
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Traced(inner.http_connector(settings, components)))
    })
}

#[derive(Debug)]
struct Traced(SharedHttpConnector);

impl HttpConnector for Traced {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let what = describe(&request);
        note(1, || format!("aws: {what}"));
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let result = call.await;
            match &result {
                Ok(r) => note(2, || format!("aws: {what}: HTTP {}", r.status().as_u16())),
                Err(e) => note(1, || format!("aws: {what}: {e}")),
            }
            result
        })
    }
}

/// `service:Operation (host)`: the operation from the JSON protocols' X-Amz-Target header
/// (`CloudTrail_20131101.LookupEvents`) or the query protocol's `Action=` (IAM, STS).
fn describe(req: &HttpRequest) -> String {
    let uri = req.uri();
    let host = uri
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(uri);
    let op = req
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .map(str::to_string)
        .or_else(|| {
            let body = std::str::from_utf8(req.body().bytes()?).ok()?;
            body.split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .map(str::to_string)
        })
        .unwrap_or_else(|| req.method().to_string());
    // The service from the signing scope when the host does not say it (a local endpoint).
    let service = req
        .headers()
        .get("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_else(|| host.split('.').next().unwrap_or(host));
    format!("{service}:{op} ({host})")
}
