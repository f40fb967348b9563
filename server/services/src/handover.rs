//! A secret shown once to the session that asked for it, across a redirect.
//!
//! A form posted without JavaScript is answered with a redirect, so the value a write returns
//! (a token just revealed or rotated) would be lost on the way to the page. The write leaves it
//! here instead, for one minute, under the asking session; the page takes it, which removes
//! it. Nothing is kept for callers without a session (API clients get the value in the
//! response), and no session can take another's. The value is sealed with the server's key,
//! so a shared cache (Redis) never holds it in clear.
use std::time::Duration;

use crate::authz::Caller;
use crate::{ServiceResult, Services, crypto};

const LIFETIME: Duration = Duration::from_secs(60);

fn key(caller: &Caller, label: &str) -> Option<String> {
    let session = caller.session.as_ref()?;
    Some(format!(
        "handover/{}/{label}",
        crypto::sha256_hex(&session.0)
    ))
}

impl Services {
    /// Leaves `secret` for the caller's session to take once, under `label`.
    pub async fn hand_over(&self, caller: &Caller, label: &str, secret: &str) -> ServiceResult<()> {
        if let Some(key) = key(caller, label) {
            let sealed = self.secrets().seal(secret)?;
            self.bus().set(&key, &sealed, Some(LIFETIME)).await?;
        }
        Ok(())
    }

    /// What was left for the caller's session under `label`, once.
    pub async fn take_handed_over(
        &self,
        caller: &Caller,
        label: &str,
    ) -> ServiceResult<Option<String>> {
        let Some(key) = key(caller, label) else {
            return Ok(None);
        };
        let Some(sealed) = self.bus().get(&key).await? else {
            return Ok(None);
        };
        self.bus().delete(&key).await?;
        self.secrets().open(&sealed).map(Some)
    }
}
