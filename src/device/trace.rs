//! `-v` for keys: every command sent to a key, and how it ended, on stderr. Never a PIN, a
//! challenge or a signature: only what was asked and of which key.

use super::{
    Assertion, Authenticator, DeviceError, DeviceInfo, GetAssertion, MakeCredential, PinState,
    Registration,
};
use crate::verbose::note;

/// An authenticator whose commands are reported at `-v`.
pub struct Traced {
    inner: Box<dyn Authenticator>,
    name: String,
}

impl Traced {
    /// Wraps `inner`, named `name` (its --device spec) in the messages.
    pub fn new(inner: Box<dyn Authenticator>, name: String) -> Self {
        note(1, || format!("device {name}: opened"));
        Traced { inner, name }
    }

    fn done<T>(&self, what: &str, r: Result<T, DeviceError>) -> Result<T, DeviceError> {
        match &r {
            Ok(_) => note(1, || format!("device {}: {what}: ok", self.name)),
            Err(e) => note(1, || format!("device {}: {what}: {e}", self.name)),
        }
        r
    }
}

impl Authenticator for Traced {
    fn info(&mut self) -> Result<DeviceInfo, DeviceError> {
        let r = self.inner.info();
        self.done("authenticatorGetInfo", r)
    }

    fn make_credential(&mut self, req: &MakeCredential) -> Result<Registration, DeviceError> {
        let what = format!(
            "authenticatorMakeCredential rp={} user={} pin={}",
            req.rp_id,
            req.user_name,
            if req.pin.is_some() { "given" } else { "none" }
        );
        let r = self.inner.make_credential(req);
        self.done(&what, r)
    }

    fn get_assertion(&mut self, req: &GetAssertion) -> Result<Assertion, DeviceError> {
        let what = format!(
            "authenticatorGetAssertion rp={} credentials={} up={} pin={}",
            req.rp_id,
            req.allow_credentials.len(),
            req.user_presence,
            if req.pin.is_some() { "given" } else { "none" }
        );
        let r = self.inner.get_assertion(req);
        self.done(&what, r)
    }

    fn pin_state(&mut self) -> Result<PinState, DeviceError> {
        let r = self.inner.pin_state();
        self.done("getPinRetries", r)
    }

    fn set_pin(&mut self, current: Option<&str>, new: &str) -> Result<(), DeviceError> {
        let what = if current.is_some() {
            "changePIN"
        } else {
            "setPIN"
        };
        let r = self.inner.set_pin(current, new);
        self.done(what, r)
    }
}
