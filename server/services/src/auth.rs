//! Logging in and out, sessions, API tokens and login rate limiting.
use chrono::Utc;
use garrison_model::{EventAction, FieldErrors, TokenIntent, User, UserType};
use garrison_store::{permissions, sessions, tokens, users};
use serde_json::{Map, json};

use crate::audit;
use crate::authz::{Caller, PermissionSet, Principal, Via};
use crate::{ServiceError, ServiceResult, Services, crypto};

/// The opaque value of a session cookie. Only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey(pub String);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(***)")
    }
}

#[derive(Debug)]
pub struct LoginOutcome {
    pub session: SessionKey,
    pub user: User,
}

/// The one message for every credential failure, so responses do not reveal which part was
/// wrong or whether the user exists.
pub const INVALID_CREDENTIALS: &str = "Invalid username or password.";

impl Services {
    /// Loads a user's principal: the user and every permission they hold.
    pub async fn principal_for(&self, user_pk: i64) -> ServiceResult<Option<Principal>> {
        let mut conn = self.store().conn().await?;
        // `users::get` already derives `is_superuser` from the user's groups and their ancestors.
        let Some(user) = users::get(&mut conn, user_pk).await? else {
            return Ok(None);
        };
        if !user.is_active {
            return Ok(None);
        }
        let grants = permissions::effective_for_user(&mut conn, user_pk).await?;
        Ok(Some(Principal {
            user: Some(user),
            permissions: PermissionSet::from_grants(grants),
        }))
    }

    /// Checks a password login. On success a new session exists and a `login` event is
    /// recorded; on failure a `login_failed` event (with the username, never the password).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client_ip: Option<&str>,
        user_agent: &str,
    ) -> ServiceResult<LoginOutcome> {
        let mut errors = FieldErrors::new();
        if username.trim().is_empty() {
            errors.add("username", "This field may not be blank.");
        }
        if password.is_empty() {
            errors.add("password", "This field may not be blank.");
        }
        errors.into_result()?;
        self.check_login_rate(username, client_ip).await?;

        let mut conn = self.store().conn().await?;
        let credentials = users::credentials(&mut conn, username).await?;
        drop(conn);
        let hash = credentials.as_ref().map(|c| c.password_hash.clone());
        // Hashing is CPU-bound; keep it off the async workers.
        let password_owned = password.to_owned();
        let verified = tokio::task::spawn_blocking(move || {
            crypto::verify_password(&password_owned, hash.as_deref())
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let allowed = credentials.as_ref().is_some_and(|c| {
            c.is_active && matches!(c.user_type, UserType::Internal | UserType::External)
        });
        let anonymous = Caller {
            principal: Principal::system(),
            client_ip: client_ip.map(str::to_owned),
            via: Via::Ui {
                path: "/login".into(),
            },
        };
        let (Some(credentials), true, true) = (credentials, verified, allowed) else {
            self.record_login_failure(username, client_ip).await?;
            let mut tx = self.store().begin().await?;
            let mut context = Map::new();
            context.insert("username".into(), json!(username));
            let mut event = audit::event(&anonymous, EventAction::LoginFailed, context);
            event.user = json!({"pk": null, "username": username, "email": ""});
            garrison_store::events::insert(tx.conn(), &event).await?;
            tx.commit().await?;
            return Err(ServiceError::invalid(
                FieldErrors::NON_FIELD,
                INVALID_CREDENTIALS,
            ));
        };

        let key = SessionKey(crypto::random_alphanumeric(48));
        let now = Utc::now();
        let expires = now + self.settings().session_lifetime;
        let mut tx = self.store().begin().await?;
        sessions::insert(
            tx.conn(),
            &crypto::sha256_hex(&key.0),
            credentials.pk,
            now,
            expires,
            client_ip,
            user_agent,
        )
        .await?;
        users::record_login(tx.conn(), credentials.pk, now).await?;
        let user = users::get(tx.conn(), credentials.pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", credentials.pk))?;
        let caller = Caller {
            principal: Principal {
                user: Some(user.clone()),
                permissions: PermissionSet::default(),
            },
            ..anonymous
        };
        audit::record(&mut tx, &caller, EventAction::Login, Map::new()).await?;
        tx.commit().await?;
        Ok(LoginOutcome { session: key, user })
    }

    pub async fn logout(&self, caller: &Caller, session: &SessionKey) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        sessions::delete(tx.conn(), &crypto::sha256_hex(&session.0)).await?;
        if caller.principal.user.is_some() {
            audit::record(&mut tx, caller, EventAction::Logout, Map::new()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The principal behind a session cookie, if the session is live.
    pub async fn authenticate_session(
        &self,
        session: &SessionKey,
    ) -> ServiceResult<Option<Principal>> {
        let mut conn = self.store().conn().await?;
        let Some(row) = sessions::find(&mut conn, &crypto::sha256_hex(&session.0)).await? else {
            return Ok(None);
        };
        if row.expires <= Utc::now() {
            sessions::delete(&mut conn, &crypto::sha256_hex(&session.0)).await?;
            return Ok(None);
        }
        drop(conn);
        self.principal_for(row.user_pk).await
    }

    /// The principal behind a bearer token: an unexpired token with intent `api`.
    pub async fn authenticate_token(&self, key: &str) -> ServiceResult<Option<Principal>> {
        let mut conn = self.store().conn().await?;
        let Some(token) = tokens::get_by_key_hash(&mut conn, &crypto::sha256_hex(key)).await?
        else {
            return Ok(None);
        };
        if token.intent != TokenIntent::Api || token.is_expired(Utc::now()) {
            return Ok(None);
        }
        drop(conn);
        self.principal_for(token.user).await
    }

    fn rate_keys(username: &str, client_ip: Option<&str>) -> Vec<String> {
        let mut keys = vec![format!("login-failures:user:{}", username.to_lowercase())];
        if let Some(ip) = client_ip {
            keys.push(format!("login-failures:ip:{ip}"));
        }
        keys
    }

    async fn check_login_rate(&self, username: &str, client_ip: Option<&str>) -> ServiceResult<()> {
        let allowed = self.settings().login_failures_allowed;
        for (i, key) in Self::rate_keys(username, client_ip).into_iter().enumerate() {
            let failures: u64 = self
                .bus()
                .get(&key)
                .await?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            // An address may fail more often than one username: several people share NATs.
            let limit = if i == 0 { allowed } else { allowed * 4 };
            if failures >= limit {
                return Err(ServiceError::RateLimited {
                    retry_after_secs: self.settings().login_failure_window.as_secs(),
                });
            }
        }
        Ok(())
    }

    async fn record_login_failure(
        &self,
        username: &str,
        client_ip: Option<&str>,
    ) -> ServiceResult<()> {
        for key in Self::rate_keys(username, client_ip) {
            self.bus()
                .incr_window(&key, self.settings().login_failure_window)
                .await?;
        }
        Ok(())
    }
}
