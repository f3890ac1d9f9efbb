//! The ledger anchor's transport: an S3 bucket with Object Lock, through the real SDK
//! (`ledger publish`, `ledger verify --anchor`, `ledger restore`). The layout and every check
//! live in `crate::ledger::anchor`; this only moves bytes.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ObjectLockEnabled, ObjectLockMode};
use time::OffsetDateTime;

use super::client::{load_sdk_config, AwsOptions};
use crate::ledger::anchor::{Location, LockMode, ObjectStore, ObjectVersion, Put, StoreError};

/// An anchor's bucket and prefix, with the retention every new object gets.
pub struct S3Store {
    client: aws_sdk_s3::Client,
    rt: tokio::runtime::Runtime,
    location: Location,
    retain: Duration,
    mode: LockMode,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Store({})", self.location)
    }
}

impl S3Store {
    /// Builds the client from the standard chain and `opts` (profile, region, endpoint).
    pub fn connect(
        opts: &AwsOptions,
        location: Location,
        retain: Duration,
        mode: LockMode,
    ) -> Result<S3Store, StoreError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Call(format!("cannot start the async runtime: {e}")))?;
        let sdk = rt.block_on(load_sdk_config(opts));
        // A custom endpoint (moto, MinIO) rarely resolves BUCKET.host names: address by path.
        let conf = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(opts.endpoint_url.is_some())
            .build();
        Ok(S3Store {
            client: aws_sdk_s3::Client::from_conf(conf),
            rt,
            location,
            retain,
            mode,
        })
    }

    fn fail<E>(&self, call: &str, e: E) -> StoreError
    where
        E: std::error::Error + 'static,
    {
        StoreError::Call(format!(
            "S3 {call} on {} failed: {}; check credentials (--profile, AWS_PROFILE), region and \
             the bucket policy",
            self.location,
            DisplayErrorContext(e)
        ))
    }

    fn not_worm(&self, why: &str) -> StoreError {
        StoreError::NotWorm(format!(
            "bucket {} {why}, so published entries could be overwritten or deleted; nothing was \
             uploaded. Create a bucket with Object Lock (which also enables versioning), e.g.\n  \
             aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket \
             [--create-bucket-configuration LocationConstraint=REGION]\nand publish there \
             (an existing bucket can also enable Object Lock with `aws s3api \
             put-object-lock-configuration` once versioning is on)",
            self.location.bucket()
        ))
    }
}

fn to_offset(t: Option<&aws_sdk_s3::primitives::DateTime>) -> OffsetDateTime {
    t.and_then(|t| OffsetDateTime::from_unix_timestamp(t.secs()).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl ObjectStore for S3Store {
    fn check_worm(&self) -> Result<(), StoreError> {
        let bucket = self.location.bucket();
        let lock = self.rt.block_on(
            self.client
                .get_object_lock_configuration()
                .bucket(bucket)
                .send(),
        );
        let enabled = match lock {
            Ok(out) => {
                out.object_lock_configuration()
                    .and_then(|c| c.object_lock_enabled())
                    == Some(&ObjectLockEnabled::Enabled)
            }
            Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => false,
            Err(e) => return Err(self.fail("GetObjectLockConfiguration", e)),
        };
        if !enabled {
            return Err(self.not_worm("does not have Object Lock enabled"));
        }
        // No separate GetBucketVersioning: S3 enables versioning with Object Lock and refuses to
        // suspend it while Object Lock is on, so a bucket that passed above is versioned.
        Ok(())
    }

    fn list(&self) -> Result<Vec<ObjectVersion>, StoreError> {
        let prefix = self.location.key_prefix();
        let mut out = Vec::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .rt
                .block_on(
                    self.client
                        .list_object_versions()
                        .bucket(self.location.bucket())
                        .prefix(&prefix)
                        .set_key_marker(key_marker.take())
                        .set_version_id_marker(version_marker.take())
                        .send(),
                )
                .map_err(|e| self.fail("ListObjectVersions", e))?;
            let rel = |k: Option<&str>| k.and_then(|k| k.strip_prefix(&prefix)).map(str::to_string);
            for v in page.versions() {
                if let Some(key) = rel(v.key()) {
                    out.push(ObjectVersion {
                        key,
                        version_id: v.version_id().map(str::to_string),
                        last_modified: to_offset(v.last_modified()),
                        delete_marker: false,
                    });
                }
            }
            for d in page.delete_markers() {
                if let Some(key) = rel(d.key()) {
                    out.push(ObjectVersion {
                        key,
                        version_id: d.version_id().map(str::to_string),
                        last_modified: to_offset(d.last_modified()),
                        delete_marker: true,
                    });
                }
            }
            if page.is_truncated() != Some(true) {
                return Ok(out);
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
            if key_marker.is_none() {
                return Err(StoreError::Call(
                    "S3 ListObjectVersions said the listing is truncated but gave no marker".into(),
                ));
            }
        }
    }

    fn get(&self, key: &str, version: Option<&str>) -> Result<Vec<u8>, StoreError> {
        let full = self.location.key(key);
        self.rt.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(self.location.bucket())
                .key(&full)
                .set_version_id(version.map(str::to_string))
                .send()
                .await
                .map_err(|e| self.fail("GetObject", e))?;
            let body = out
                .body
                .collect()
                .await
                .map_err(|e| StoreError::Call(format!("reading {full}: {e}")))?;
            Ok(body.into_bytes().to_vec())
        })
    }

    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<Put, StoreError> {
        let until = SystemTime::now() + self.retain;
        let mode = match self.mode {
            LockMode::Compliance => ObjectLockMode::Compliance,
            LockMode::Governance => ObjectLockMode::Governance,
        };
        let sent = self.rt.block_on(
            self.client
                .put_object()
                .bucket(self.location.bucket())
                .key(self.location.key(key))
                // Write once: never a second version of a published key.
                .if_none_match("*")
                .object_lock_mode(mode)
                .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from(until))
                // Object Lock puts need an integrity checksum (Content-MD5 or x-amz-checksum).
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .body(ByteStream::from(bytes.to_vec()))
                .send(),
        );
        match sent {
            Ok(_) => Ok(Put::Created),
            Err(e) if e.code() == Some("PreconditionFailed") => Ok(Put::Exists),
            Err(e) => Err(self.fail("PutObject", e)),
        }
    }
}
