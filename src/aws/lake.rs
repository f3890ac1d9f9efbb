//! Root activity for a whole organization from a CloudTrail Lake event data store
//! (`--cloudtrail-lake EVENT_DATA_STORE`): one SQL query from the management (or delegated
//! administrator) account finds every member's root events, where `LookupEvents` would need a
//! role in each member. Results are paginated (`GetQueryResults` `NextToken`), polled while the
//! query is queued or running, and interpreted with the same rules as `LookupEvents` events
//! (`read::classify_event`): AssumeRoot sessions and service events are not root use, and a row
//! that cannot be read is kept raw.

use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;

use super::model::{Check, Period, ReadError, RootLogin, RootUse, UnparsedEvent};

/// How many times `GetQueryResults` is polled while the query is queued or running.
const POLLS: u32 = 120;

/// Root activity of one account found in the event data store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LakeActivity {
    /// Root console sign-ins (successful and failed).
    pub logins: Vec<RootLogin>,
    /// Other root use.
    pub usage: Vec<RootUse>,
    /// Rows that could not be read, kept raw.
    pub unparsed: Vec<UnparsedEvent>,
}

/// The columns the query selects, in order.
const COLUMNS: &[&str] = &[
    "eventID",
    "eventTime",
    "eventSource",
    "eventName",
    "eventType",
    "awsRegion",
    "sourceIPAddress",
    "recipientAccountId",
    "userIdentity.invokedBy",
    "userIdentity.sessionContext.assumedRoot",
    "responseElements",
    "additionalEventData",
    "errorCode",
];

/// The event data store id from an ARN or an id; `None` when it is not a plain id (it is
/// spliced into SQL, so nothing but letters, digits and `-` is accepted).
pub fn event_data_store_id(eds: &str) -> Option<&str> {
    let id = eds.rsplit('/').next().unwrap_or(eds);
    (!id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    .then_some(id)
}

/// The SQL statement for root events in `period`.
pub fn query(eds_id: &str, period: Period) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = |t: OffsetDateTime| {
        t.to_offset(time::UtcOffset::UTC)
            .format(&fmt)
            .unwrap_or_default()
    };
    format!(
        "SELECT {} FROM {eds_id} WHERE userIdentity.type = 'Root' AND eventTime >= '{}' AND eventTime <= '{}'",
        COLUMNS.join(", "),
        t(period.since),
        t(period.until)
    )
}

/// Runs the query and groups root activity by account (`recipientAccountId`).
pub async fn root_activity(
    ct: &aws_sdk_cloudtrail::Client,
    eds: &str,
    period: Period,
    poll: std::time::Duration,
) -> Result<BTreeMap<String, LakeActivity>, ReadError> {
    let err = |call: &str, code: &str, message: String| ReadError {
        call: call.into(),
        check: Check::Logins,
        code: code.into(),
        message,
    };
    let id = event_data_store_id(eds).ok_or_else(|| {
        err(
            "cloudtrail:StartQuery",
            "InvalidEventDataStore",
            format!(
                "`{}` is not an event data store ARN or id",
                crate::text::escape(eds)
            ),
        )
    })?;
    let started = ct
        .start_query()
        .query_statement(query(id, period))
        .send()
        .await
        .map_err(|e| super::read::read_error("cloudtrail:StartQuery", Check::Logins, &e))?;
    let query_id = started
        .query_id()
        .ok_or_else(|| err("cloudtrail:StartQuery", "NoQueryId", "no QueryId".into()))?
        .to_string();
    let mut out: BTreeMap<String, LakeActivity> = BTreeMap::new();
    let mut token: Option<String> = None;
    let mut polls = 0;
    loop {
        let page = ct
            .get_query_results()
            .query_id(&query_id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                super::read::read_error("cloudtrail:GetQueryResults", Check::Logins, &e)
            })?;
        use aws_sdk_cloudtrail::types::QueryStatus as S;
        match page.query_status() {
            Some(S::Queued) | Some(S::Running) => {
                polls += 1;
                if polls > POLLS {
                    return Err(err(
                        "cloudtrail:GetQueryResults",
                        "NotFinished",
                        format!("query {query_id} still running after {POLLS} polls"),
                    ));
                }
                tokio::time::sleep(poll).await;
                continue;
            }
            Some(S::Finished) => {}
            other => {
                return Err(err(
                    "cloudtrail:GetQueryResults",
                    other.map(|s| s.as_str()).unwrap_or("NoStatus"),
                    page.error_message()
                        .unwrap_or("the query did not finish")
                        .to_string(),
                ))
            }
        }
        for row in page.query_result_rows() {
            let cols: HashMap<&str, &str> = row
                .iter()
                .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .collect();
            let account = cols
                .get("recipientAccountId")
                .copied()
                .unwrap_or("")
                .to_string();
            let region = cols
                .get("awsRegion")
                .copied()
                .unwrap_or("unknown")
                .to_string();
            let entry = out.entry(account).or_default();
            match row_event(&cols) {
                Some(ev) => match super::read::classify_event(&ev, &region) {
                    super::read::RootEvent::Login(l) => entry.logins.push(l),
                    super::read::RootEvent::Use(mut u) => {
                        u.source = format!("cloudtrail-lake:{region}");
                        entry.usage.push(u)
                    }
                    super::read::RootEvent::Unparsed(u) => entry.unparsed.push(u),
                    super::read::RootEvent::NotRootUse => {}
                },
                None => entry.unparsed.push(UnparsedEvent {
                    region,
                    event_id: cols.get("eventID").map(|s| s.to_string()),
                    reason: "CloudTrail Lake row without a readable eventTime".into(),
                    raw: serde_json::to_string(&cols).unwrap_or_default(),
                }),
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

/// Reads a Lake `map<string,string>` cell: `{key=value, key2=value2}`, or JSON.
fn map_cell(text: &str) -> serde_json::Map<String, serde_json::Value> {
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(text) {
        return m;
    }
    let inner = text.trim().trim_start_matches('{').trim_end_matches('}');
    inner
        .split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                serde_json::Value::String(v.trim().to_string()),
            )
        })
        .collect()
}

/// Turns one row into the shape of a `LookupEvents` event, so one set of rules reads both.
fn row_event(cols: &HashMap<&str, &str>) -> Option<aws_sdk_cloudtrail::types::Event> {
    let time_text = cols.get("eventTime")?;
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    let time = time::PrimitiveDateTime::parse(time_text, &fmt)
        .map(|t| t.assume_utc())
        .or_else(|_| {
            OffsetDateTime::parse(time_text, &time::format_description::well_known::Rfc3339)
        })
        .ok()?;
    let s = |k: &str| {
        cols.get(k)
            .copied()
            .filter(|v| !v.is_empty() && *v != "null")
    };
    let mut identity = serde_json::json!({"type": "Root"});
    if let Some(v) = s("userIdentity.invokedBy") {
        identity["invokedBy"] = v.into();
    }
    if let Some(v) = s("userIdentity.sessionContext.assumedRoot") {
        identity["sessionContext"] = serde_json::json!({"assumedRoot": v});
    }
    let mut body = serde_json::json!({"userIdentity": identity});
    for (col, key) in [
        ("eventSource", "eventSource"),
        ("eventName", "eventName"),
        ("eventType", "eventType"),
        ("sourceIPAddress", "sourceIPAddress"),
        ("errorCode", "errorCode"),
        ("awsRegion", "awsRegion"),
    ] {
        if let Some(v) = s(col) {
            body[key] = v.into();
        }
    }
    for col in ["responseElements", "additionalEventData"] {
        if let Some(v) = s(col) {
            body[col] = serde_json::Value::Object(map_cell(v));
        }
    }
    Some(
        aws_sdk_cloudtrail::types::Event::builder()
            .set_event_id(s("eventID").map(str::to_string))
            .event_time(aws_smithy_types::DateTime::from_secs(time.unix_timestamp()))
            .cloud_trail_event(body.to_string())
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_event_data_store_ids_reach_the_sql() {
        assert_eq!(
            event_data_store_id(
                "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
            ),
            Some("EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE")
        );
        for bad in [
            "",
            "x; DROP TABLE",
            "a'b",
            "arn:aws:cloudtrail:::eventdatastore/",
        ] {
            assert_eq!(event_data_store_id(bad), None, "{bad:?}");
        }
        let q = query(
            "EDS1",
            Period {
                since: time::macros::datetime!(2024-08-01 0:00 UTC),
                until: time::macros::datetime!(2024-11-01 12:30 UTC),
            },
        );
        assert!(
            q.contains("FROM EDS1 WHERE userIdentity.type = 'Root'"),
            "{q}"
        );
        assert!(q.contains("eventTime >= '2024-08-01 00:00:00'"), "{q}");
        assert!(q.contains("eventTime <= '2024-11-01 12:30:00'"), "{q}");
    }

    #[test]
    fn lake_map_cells_in_both_renderings() {
        let m = map_cell("{ConsoleLogin=Success}");
        assert_eq!(m["ConsoleLogin"], "Success");
        let m = map_cell("{MFAUsed=No, MobileVersion=No}");
        assert_eq!(m["MFAUsed"], "No");
        let m = map_cell(r#"{"ConsoleLogin":"Failure"}"#);
        assert_eq!(m["ConsoleLogin"], "Failure");
    }
}
