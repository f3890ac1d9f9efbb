//! An injected HTTP client that answers the real AWS SDK with canned responses in AWS's own wire
//! format (IAM/STS: XML query protocol; Organizations/CloudTrail: JSON 1.1), so the SDK's real
//! serializers, deserializers, retry and error handling run. Routing is by action and by the
//! session that signed the request (AssumeRoot/AssumeRole hand out access key ids that name the
//! account), so concurrent reads get the right answers in any order.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;

/// Which credentials signed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// The static test credentials.
    Caller,
    /// An AssumeRoot session in this account.
    Root(String),
    /// A member-role session in this account.
    Member(String),
}

/// One request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Call {
    /// Host the SDK resolved (`sts.eu-west-1.amazonaws.com`, ...).
    pub host: String,
    /// The operation (`ListMFADevices`, `ListAccounts`, ...).
    pub action: String,
    /// Who signed it.
    pub session: Session,
    /// Query-protocol form fields, or the JSON body as text under key `json`.
    pub form: HashMap<String, String>,
}

/// A canned response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

pub const CALLER_KEY: &str = "AKIDCALLER";

fn root_key(account: &str) -> String {
    format!("ASIAROOT{account}")
}
fn member_key(account: &str) -> String {
    format!("ASIAROLE{account}")
}

fn url_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_call(req: &HttpRequest) -> Call {
    let uri = req.uri().to_string();
    let host = uri
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let body = req
        .body()
        .bytes()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let mut form = HashMap::new();
    let action = if let Some((_, op)) = uri.split_once("/operation/") {
        // Smithy RPC v2 CBOR (CloudWatch): the operation is in the path, the body is CBOR.
        let raw = req.body().bytes().unwrap_or_default();
        let value: serde_json::Value =
            ciborium::from_reader(raw).unwrap_or(serde_json::Value::Null);
        form.insert("json".to_string(), value.to_string());
        op.split(['?', '/']).next().unwrap_or("").to_string()
    } else if let Some(target) = req.headers().get("x-amz-target") {
        form.insert("json".to_string(), body);
        target.rsplit('.').next().unwrap_or("").to_string()
    } else {
        for pair in body.split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                form.insert(url_decode(k), url_decode(v));
            }
        }
        form.get("Action").cloned().unwrap_or_default()
    };
    let auth = req.headers().get("authorization").unwrap_or("");
    let akid = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or("");
    let session = if let Some(a) = akid.strip_prefix("ASIAROOT") {
        Session::Root(a.to_string())
    } else if let Some(a) = akid.strip_prefix("ASIAROLE") {
        Session::Member(a.to_string())
    } else {
        Session::Caller
    };
    Call {
        host,
        action,
        session,
        form,
    }
}

type Handler = dyn Fn(&Call) -> Reply + Send + Sync;

#[derive(Clone)]
struct Connector {
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<Call>>>,
    keep_log: bool,
    latency: Option<Duration>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplayConnector")
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = parse_call(&request);
        let reply = (self.handler)(&call);
        if self.keep_log {
            if let Ok(mut log) = self.log.lock() {
                log.push(call);
            }
        }
        let latency = self.latency;
        HttpConnectorFuture::new(async move {
            if let Some(d) = latency {
                tokio::time::sleep(d).await;
            }
            let status = StatusCode::try_from(reply.status).expect("valid status");
            // CBOR replies carry their bytes hex-encoded in `body` (see `cbor_ok`).
            let body = if reply.content_type == "application/cbor" {
                SdkBody::from(hex::decode(&reply.body).expect("hex CBOR body"))
            } else {
                SdkBody::from(reply.body)
            };
            let mut resp = Response::new(status, body);
            resp.headers_mut()
                .insert("content-type", reply.content_type);
            if reply.content_type == "application/cbor" {
                resp.headers_mut().insert("smithy-protocol", "rpc-v2-cbor");
            }
            resp.headers_mut()
                .insert("x-amzn-requestid", "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
            Ok(resp)
        })
    }
}

/// A replaying HTTP client and the log of calls it answered.
pub fn client(
    handler: impl Fn(&Call) -> Reply + Send + Sync + 'static,
    latency: Option<Duration>,
) -> (SharedHttpClient, Arc<Mutex<Vec<Call>>>) {
    logged(handler, latency, true)
}

/// A replaying HTTP client that keeps no log (benchmarks: memory must not grow per call).
pub fn client_unlogged(
    handler: impl Fn(&Call) -> Reply + Send + Sync + 'static,
    latency: Option<Duration>,
) -> SharedHttpClient {
    logged(handler, latency, false).0
}

fn logged(
    handler: impl Fn(&Call) -> Reply + Send + Sync + 'static,
    latency: Option<Duration>,
    keep_log: bool,
) -> (SharedHttpClient, Arc<Mutex<Vec<Call>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let conn = Connector {
        handler: Arc::new(handler),
        log: log.clone(),
        keep_log,
        latency,
    };
    let shared = SharedHttpConnector::new(conn);
    (http_client_fn(move |_, _| shared.clone()), log)
}

const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

fn query_ok(ns: &str, action: &str, inner: &str) -> Reply {
    Reply {
        status: 200,
        content_type: "text/xml",
        body: format!(
            "<{action}Response xmlns=\"{ns}\">\n  <{action}Result>{inner}</{action}Result>\n  <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\n</{action}Response>"
        ),
    }
}

/// A successful IAM response (`<ActionResponse><ActionResult>inner</ActionResult>...`).
pub fn iam_ok(action: &str, inner: &str) -> Reply {
    query_ok(IAM_NS, action, inner)
}

/// A successful STS response.
pub fn sts_ok(action: &str, inner: &str) -> Reply {
    query_ok(STS_NS, action, inner)
}

/// A query-protocol error (IAM/STS), as AWS sends it.
pub fn query_error(status: u16, code: &str, message: &str) -> Reply {
    Reply {
        status,
        content_type: "text/xml",
        body: format!(
            "<ErrorResponse xmlns=\"{IAM_NS}\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>4c2ba0a0-4fbd-11e4-8b3a-EXAMPLE</RequestId>\n</ErrorResponse>"
        ),
    }
}

/// A successful JSON 1.1 response.
pub fn json_ok(body: serde_json::Value) -> Reply {
    Reply {
        status: 200,
        content_type: "application/x-amz-json-1.1",
        body: body.to_string(),
    }
}

/// A JSON 1.1 error.
pub fn json_error(status: u16, kind: &str, message: &str) -> Reply {
    Reply {
        status,
        content_type: "application/x-amz-json-1.1",
        body: serde_json::json!({"__type": kind, "Message": message}).to_string(),
    }
}

/// `GetCallerIdentity` for `arn`.
pub fn caller_identity(account: &str, arn: &str) -> Reply {
    sts_ok(
        "GetCallerIdentity",
        &format!(
            "<Arn>{arn}</Arn><UserId>AIDACKCEVSQ6C2EXAMPLE</UserId><Account>{account}</Account>"
        ),
    )
}

/// `AssumeRoot` granting a root session in `account`.
pub fn assume_root_ok(account: &str) -> Reply {
    sts_ok(
        "AssumeRoot",
        &format!(
            "<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey><SessionToken>IQoJb3JpZ2luX2VjEXAMPLE</SessionToken><Expiration>2099-11-15T00:05:07Z</Expiration></Credentials><SourceIdentity>rootkey</SourceIdentity>",
            root_key(account)
        ),
    )
}

/// `AssumeRole` granting a member-role session in `account`.
pub fn assume_role_ok(account: &str) -> Reply {
    sts_ok(
        "AssumeRole",
        &format!(
            "<AssumedRoleUser><Arn>arn:aws:sts::{account}:assumed-role/Audit/rootkey-posture</Arn><AssumedRoleId>AROA3XFRBF535PLBIFPI4:rootkey-posture</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey><SessionToken>IQoJb3JpZ2luX2VjEXAMPLE</SessionToken><Expiration>2099-11-15T00:05:07Z</Expiration></Credentials>",
            member_key(account)
        ),
    )
}

/// `ListMFADevices` returning these serials.
pub fn mfa_devices(serials: &[&str]) -> Reply {
    let members: String = serials
        .iter()
        .map(|s| format!("<member><SerialNumber>{s}</SerialNumber><EnableDate>2024-06-01T09:30:00Z</EnableDate></member>"))
        .collect();
    iam_ok(
        "ListMFADevices",
        &format!("<MFADevices>{members}</MFADevices><IsTruncated>false</IsTruncated>"),
    )
}

/// `ListAccessKeys` returning (id, status) pairs.
pub fn access_keys(keys: &[(&str, &str)]) -> Reply {
    let members: String = keys
        .iter()
        .map(|(id, st)| format!("<member><AccessKeyId>{id}</AccessKeyId><Status>{st}</Status><CreateDate>2021-03-01T12:00:00Z</CreateDate></member>"))
        .collect();
    iam_ok(
        "ListAccessKeys",
        &format!(
            "<AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"
        ),
    )
}

/// `GetAccessKeyLastUsed`.
pub fn key_last_used() -> Reply {
    iam_ok(
        "GetAccessKeyLastUsed",
        "<AccessKeyLastUsed><Region>us-east-1</Region><LastUsedDate>2024-10-02T08:00:00Z</LastUsedDate><ServiceName>s3</ServiceName></AccessKeyLastUsed>",
    )
}

/// `ListSigningCertificates` returning (id, status) pairs.
pub fn signing_certs(certs: &[(&str, &str)]) -> Reply {
    let members: String = certs
        .iter()
        .map(|(id, st)| format!("<member><CertificateId>{id}</CertificateId><CertificateBody>-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----</CertificateBody><Status>{st}</Status><UploadDate>2022-01-01T00:00:00Z</UploadDate></member>"))
        .collect();
    iam_ok(
        "ListSigningCertificates",
        &format!("<Certificates>{members}</Certificates><IsTruncated>false</IsTruncated>"),
    )
}

/// `GetLoginProfile`: a profile when `present`, else NoSuchEntity as AWS returns it.
pub fn login_profile(present: bool) -> Reply {
    if present {
        iam_ok(
            "GetLoginProfile",
            "<LoginProfile><CreateDate>2020-01-01T00:00:00Z</CreateDate><PasswordResetRequired>false</PasswordResetRequired></LoginProfile>",
        )
    } else {
        query_error(
            404,
            "NoSuchEntity",
            "Login Profile for User root cannot be found.",
        )
    }
}

/// `ListOrganizationsFeatures` with these features on.
pub fn org_features(features: &[&str]) -> Reply {
    let members: String = features
        .iter()
        .map(|f| format!("<member>{f}</member>"))
        .collect();
    iam_ok(
        "ListOrganizationsFeatures",
        &format!("<OrganizationId>o-aa111bb222</OrganizationId><EnabledFeatures>{members}</EnabledFeatures>"),
    )
}

/// `GetAccountSummary` with the three root flags.
pub fn account_summary(mfa: u8, keys: u8, certs: u8) -> Reply {
    iam_ok(
        "GetAccountSummary",
        &format!("<SummaryMap><entry><key>Users</key><value>3</value></entry><entry><key>AccountMFAEnabled</key><value>{mfa}</value></entry><entry><key>AccountAccessKeysPresent</key><value>{keys}</value></entry><entry><key>AccountSigningCertificatesPresent</key><value>{certs}</value></entry></SummaryMap>"),
    )
}

/// `GenerateCredentialReport` with state COMPLETE.
pub fn report_complete() -> Reply {
    iam_ok(
        "GenerateCredentialReport",
        "<State>COMPLETE</State><Description>No report exists. Starting a new report generation task</Description>",
    )
}

/// `GetCredentialReport` carrying `csv` (base64 in the wire format).
pub fn credential_report(csv: &str) -> Reply {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(csv);
    iam_ok(
        "GetCredentialReport",
        &format!("<Content>{b64}</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>2024-11-01T00:00:00Z</GeneratedTime>"),
    )
}

/// `ListVirtualMFADevices` with (serial, user arn) pairs.
pub fn virtual_mfa(devices: &[(&str, &str)]) -> Reply {
    let members: String = devices
        .iter()
        .map(|(s, arn)| format!("<member><SerialNumber>{s}</SerialNumber><User><Path>/</Path><UserName>root</UserName><UserId>111111111111</UserId><Arn>{arn}</Arn><CreateDate>2019-01-01T00:00:00Z</CreateDate></User><EnableDate>2023-01-01T00:00:00Z</EnableDate></member>"))
        .collect();
    iam_ok(
        "ListVirtualMFADevices",
        &format!(
            "<VirtualMFADevices>{members}</VirtualMFADevices><IsTruncated>false</IsTruncated>"
        ),
    )
}

/// A CloudTrail `LookupEvents` page: (user type, ip, success, mfa) ConsoleLogin events.
pub fn lookup_events(events: &[(&str, &str, bool, bool)]) -> Reply {
    let list: Vec<serde_json::Value> = events
        .iter()
        .enumerate()
        .map(|(i, (kind, ip, ok, mfa))| {
            let ct = serde_json::json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": kind, "principalId": "111111111111", "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111"},
                "eventTime": "2024-10-15T08:12:00Z",
                "eventSource": "signin.amazonaws.com",
                "eventName": "ConsoleLogin",
                "awsRegion": "us-east-1",
                "sourceIPAddress": ip,
                "responseElements": {"ConsoleLogin": if *ok {"Success"} else {"Failure"}},
                "additionalEventData": {"MFAUsed": if *mfa {"Yes"} else {"No"}, "MobileVersion": "No"},
                "eventType": "AwsConsoleSignIn",
                "recipientAccountId": "111111111111"
            });
            serde_json::json!({
                "EventId": format!("3a1f6e5c-0000-4000-8000-00000000000{i}"),
                "EventName": "ConsoleLogin",
                "ReadOnly": "false",
                "EventTime": 1729000000 + i as i64,
                "EventSource": "signin.amazonaws.com",
                "Username": "root",
                "Resources": [],
                "CloudTrailEvent": ct.to_string()
            })
        })
        .collect();
    json_ok(serde_json::json!({ "Events": list }))
}

/// A ListAccounts page.
pub fn list_accounts(accounts: &[(&str, &str, &str)], next: Option<&str>) -> Reply {
    let list: Vec<serde_json::Value> = accounts
        .iter()
        .map(|(id, name, email)| serde_json::json!({
            "Id": id, "Arn": format!("arn:aws:organizations::111111111111:account/o-aa111bb222/{id}"),
            "Email": email, "Name": name, "Status": "ACTIVE", "JoinedMethod": "CREATED",
            "JoinedTimestamp": 1.5e9
        }))
        .collect();
    let mut body = serde_json::json!({ "Accounts": list });
    if let Some(n) = next {
        body["NextToken"] = serde_json::Value::String(n.to_string());
    }
    json_ok(body)
}

/// DescribeOrganization naming the management account.
pub fn describe_organization(management: &str) -> Reply {
    json_ok(serde_json::json!({"Organization": {
        "Id": "o-aa111bb222",
        "Arn": format!("arn:aws:organizations::{management}:organization/o-aa111bb222"),
        "FeatureSet": "ALL",
        "MasterAccountArn": format!("arn:aws:organizations::{management}:account/o-aa111bb222/{management}"),
        "MasterAccountId": management,
        "MasterAccountEmail": "aws-root@example.com",
        "AvailablePolicyTypes": []
    }}))
}

/// The documented 22-column credential report header.
pub const REPORT_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// `GetUser` in a root session: the root user, with `PasswordLastUsed` when given.
pub fn root_user(account: &str, password_last_used: Option<&str>) -> Reply {
    let used = password_last_used
        .map(|t| format!("<PasswordLastUsed>{t}</PasswordLastUsed>"))
        .unwrap_or_default();
    iam_ok(
        "GetUser",
        &format!("<User><Path>/</Path><UserName>root</UserName><UserId>{account}</UserId><Arn>arn:aws:iam::{account}:root</Arn><CreateDate>2019-01-01T00:00:00Z</CreateDate>{used}</User>"),
    )
}

/// `GetMFADevice` for a FIDO key with these certifications (empty: none reported).
pub fn mfa_device(serial: &str, certifications: &[(&str, &str)]) -> Reply {
    let entries: String = certifications
        .iter()
        .map(|(k, v)| format!("<entry><key>{k}</key><value>{v}</value></entry>"))
        .collect();
    let certs = if entries.is_empty() {
        String::new()
    } else {
        format!("<Certifications>{entries}</Certifications>")
    };
    iam_ok(
        "GetMFADevice",
        &format!("<UserName>root</UserName><SerialNumber>{serial}</SerialNumber><EnableDate>2024-06-01T09:30:00Z</EnableDate>{certs}"),
    )
}

/// One `LookupEvents` entry: the envelope around a `CloudTrailEvent` text (any text, so tests
/// can send events that do not parse).
pub fn ct_event(id: &str, epoch: i64, name: &str, cloudtrail_event: &str) -> serde_json::Value {
    serde_json::json!({
        "EventId": id,
        "EventName": name,
        "ReadOnly": "false",
        "EventTime": epoch,
        "EventSource": "signin.amazonaws.com",
        "Username": "root",
        "Resources": [],
        "CloudTrailEvent": cloudtrail_event
    })
}

/// A `LookupEvents` page of these entries.
pub fn lookup_page(events: Vec<serde_json::Value>, next: Option<&str>) -> Reply {
    let mut body = serde_json::json!({ "Events": events });
    if let Some(n) = next {
        body["NextToken"] = serde_json::Value::String(n.to_string());
    }
    json_ok(body)
}

/// A ListAccounts page with each account's `State` (and the older `Status`).
pub fn list_accounts_with_state(accounts: &[(&str, &str, &str, &str)]) -> Reply {
    let list: Vec<serde_json::Value> = accounts
        .iter()
        .map(|(id, name, email, state)| {
            let status = match *state {
                "CLOSED" => "SUSPENDED",
                s => s,
            };
            serde_json::json!({
                "Id": id, "Arn": format!("arn:aws:organizations::111111111111:account/o-aa111bb222/{id}"),
                "Email": email, "Name": name, "Status": status, "State": state,
                "JoinedMethod": "CREATED", "JoinedTimestamp": 1.5e9
            })
        })
        .collect();
    json_ok(serde_json::json!({ "Accounts": list }))
}

/// DescribeAccount for one account.
pub fn describe_account(id: &str, name: &str, email: &str) -> Reply {
    json_ok(serde_json::json!({"Account": {
        "Id": id, "Arn": format!("arn:aws:organizations::111111111111:account/o-aa111bb222/{id}"),
        "Email": email, "Name": name, "Status": "ACTIVE", "State": "ACTIVE",
        "JoinedMethod": "CREATED", "JoinedTimestamp": 1.5e9
    }}))
}

/// CloudTrail `DescribeTrails`: an organization trail when `organization`, else a
/// single-account trail without CloudWatch Logs.
pub fn describe_trails(account: &str, organization: bool) -> Reply {
    let trail = if organization {
        serde_json::json!({
            "Name": "org-trail", "S3BucketName": "org-trail-logs",
            "TrailARN": format!("arn:aws:cloudtrail:us-east-1:{account}:trail/org-trail"),
            "IsMultiRegionTrail": true, "HomeRegion": "us-east-1", "IsOrganizationTrail": true,
            "CloudWatchLogsLogGroupArn": format!("arn:aws:logs:us-east-1:{account}:log-group:org-trail:*"),
            "IncludeGlobalServiceEvents": true, "LogFileValidationEnabled": true
        })
    } else {
        serde_json::json!({
            "Name": "local", "S3BucketName": "local-logs",
            "TrailARN": format!("arn:aws:cloudtrail:eu-west-1:{account}:trail/local"),
            "IsMultiRegionTrail": false, "HomeRegion": "eu-west-1", "IsOrganizationTrail": false,
            "IncludeGlobalServiceEvents": true, "LogFileValidationEnabled": false
        })
    };
    json_ok(serde_json::json!({ "trailList": [trail] }))
}

/// A successful Smithy RPC v2 CBOR response (CloudWatch); `body` holds the CBOR bytes in hex.
pub fn cbor_ok(body: serde_json::Value) -> Reply {
    let mut bytes = Vec::new();
    ciborium::into_writer(&body, &mut bytes).expect("CBOR encoding");
    Reply {
        status: 200,
        content_type: "application/cbor",
        body: hex::encode(bytes),
    }
}

/// CloudWatch Logs `DescribeMetricFilters` (JSON 1.1) with one filter.
pub fn metric_filters(
    group: &str,
    name: &str,
    pattern: &str,
    metric: &str,
    namespace: &str,
) -> Reply {
    json_ok(serde_json::json!({"metricFilters": [{
        "filterName": name, "filterPattern": pattern, "logGroupName": group,
        "creationTime": 1_700_000_000_000_i64,
        "metricTransformations": [{"metricName": metric, "metricNamespace": namespace, "metricValue": "1"}]
    }]}))
}

/// CloudTrail `DescribeTrails`: one single-account trail delivering to the CloudWatch Logs
/// group `group` in us-east-1.
pub fn describe_trails_to_logs(account: &str, group: &str) -> Reply {
    json_ok(serde_json::json!({ "trailList": [{
        "Name": "main", "S3BucketName": "trail-logs",
        "TrailARN": format!("arn:aws:cloudtrail:us-east-1:{account}:trail/main"),
        "IsMultiRegionTrail": true, "HomeRegion": "us-east-1", "IsOrganizationTrail": false,
        "CloudWatchLogsLogGroupArn": format!("arn:aws:logs:us-east-1:{account}:log-group:{group}:*"),
        "CloudWatchLogsRoleArn": format!("arn:aws:iam::{account}:role/trail-to-logs")
    }]}))
}
