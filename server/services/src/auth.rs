//! Logging in and out, sessions, API tokens and login rate limiting.
use chrono::Utc;
use garrison_model::{EventAction, FieldErrors, TokenIntent, User, UserType};
use garrison_store::{permissions, sessions, tokens, users};
use serde_json::{Map, json};

use crate::audit;
use crate::authz::{Caller, PermissionSet, Principal, Via};
use crate::{ServiceError, ServiceResult, Services, crypto};

/// Usernames longer than this are refused before any lookup or hashing (authentik's limit).
pub const MAX_USERNAME_LENGTH: usize = 150;

/// Tells outposts, once `tx` commits, that these sessions ended (authentik's SESSION_END:
/// the session id is the SHA-256 of the session key, which is what the store keeps).
pub(crate) fn announce_ended_sessions(tx: &mut crate::Tx, key_hashes: Vec<String>) {
    for session_id in key_hashes {
        tx.after_commit(garrison_bus::Message::SessionEnded { session_id });
    }
}

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
    /// A user's principal: the user and every permission they hold, from the principal cache
    /// when it is there (see `principals`).
    pub async fn principal_for(&self, user_pk: i64) -> ServiceResult<Option<Principal>> {
        if let Some(principal) = self.principals().get(user_pk) {
            return Ok(Some(principal));
        }
        let generation = self.principals().generation();
        let principal = self.load_principal(user_pk).await?;
        if let Some(principal) = &principal {
            self.principals()
                .put(user_pk, generation, principal.clone());
        }
        Ok(principal)
    }

    async fn load_principal(&self, user_pk: i64) -> ServiceResult<Option<Principal>> {
        let mut reader = self.read().await?;
        // `users::get` already derives `is_superuser` from the user's groups and their ancestors.
        let Some(user) = users::get(reader.conn(), user_pk).await? else {
            return Ok(None);
        };
        if !user.is_active {
            return Ok(None);
        }
        let grants = permissions::effective_for_user(reader.conn(), user_pk).await?;
        Ok(Some(Principal::for_user(
            user,
            PermissionSet::from_grants(grants),
        )))
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
        } else if username.chars().count() > MAX_USERNAME_LENGTH {
            errors.add(
                "username",
                format!("Ensure this field has no more than {MAX_USERNAME_LENGTH} characters."),
            );
        }
        if password.is_empty() {
            errors.add("password", "This field may not be blank.");
        }
        errors.into_result()?;
        // Counted before the password is checked, so concurrent guesses cannot all slip
        // under the limit; a success takes its count back.
        let counted = self.count_login_attempt(username, client_ip).await?;

        let mut reader = self.read().await?;
        let credentials = users::credentials(reader.conn(), username).await?;
        drop(reader);
        let hash = credentials.as_ref().map(|c| c.password_hash.clone());
        let verified = crypto::verify_password_blocking(password, hash).await?;
        let allowed = credentials.as_ref().is_some_and(|c| {
            c.is_active && matches!(c.user_type, UserType::Internal | UserType::External)
        });
        let anonymous = Caller {
            principal: Principal::system(),
            client_ip: client_ip.map(str::to_owned),
            via: Via::Ui {
                path: "/login".into(),
            },
            session: None,
        };
        let (Some(credentials), true, true) = (credentials, verified, allowed) else {
            let mut tx = self.begin().await?;
            let mut context = Map::new();
            context.insert("username".into(), json!(username));
            let mut event = audit::event(&anonymous, EventAction::LoginFailed, context);
            event.user = json!({"pk": null, "username": username, "email": ""});
            garrison_store::events::insert(&mut tx, &event).await?;
            self.commit(tx).await?;
            return Err(ServiceError::invalid(
                FieldErrors::NON_FIELD,
                INVALID_CREDENTIALS,
            ));
        };
        self.forgive_login_attempt(&counted).await;

        let key = SessionKey(crypto::random_alphanumeric(48));
        let now = Utc::now();
        let expires = now + self.settings().session_lifetime;
        let mut tx = self.begin().await?;
        sessions::insert(
            &mut tx,
            &crypto::sha256_hex(&key.0),
            credentials.pk,
            now,
            expires,
            client_ip,
            user_agent,
        )
        .await?;
        users::record_login(&mut tx, credentials.pk, now).await?;
        let user = users::get(tx.conn(), credentials.pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", credentials.pk))?;
        let caller = Caller {
            principal: Principal::for_user(user.clone(), PermissionSet::default()),
            ..anonymous
        };
        audit::record(&mut tx, &caller, EventAction::Login, Map::new()).await?;
        self.commit(tx).await?;
        Ok(LoginOutcome { session: key, user })
    }

    pub async fn logout(&self, caller: &Caller, session: &SessionKey) -> ServiceResult<()> {
        let mut tx = self.begin().await?;
        let hash = crypto::sha256_hex(&session.0);
        sessions::delete(&mut tx, &hash).await?;
        announce_ended_sessions(&mut tx, vec![hash]);
        if caller.principal.user().is_some() {
            audit::record(&mut tx, caller, EventAction::Logout, Map::new()).await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    /// The principal behind a session cookie, if the session is live.
    pub async fn authenticate_session(
        &self,
        session: &SessionKey,
    ) -> ServiceResult<Option<Principal>> {
        let mut reader = self.read().await?;
        let Some(row) = sessions::find(reader.conn(), &crypto::sha256_hex(&session.0)).await?
        else {
            return Ok(None);
        };
        drop(reader);
        if row.expires <= Utc::now() {
            // Expired sessions are swept in bulk by the server's housekeeping.
            return Ok(None);
        }
        self.principal_for(row.user_pk).await
    }

    /// The principal behind a bearer token: an unexpired token with intent `api`.
    pub async fn authenticate_token(&self, key: &str) -> ServiceResult<Option<Principal>> {
        let key_hash = crypto::sha256_hex(key);
        let token = match self.principals().token(&key_hash) {
            Some(token) => token,
            None => {
                let generation = self.principals().generation();
                let mut reader = self.read().await?;
                let Some(token) = tokens::get_by_key_hash(reader.conn(), &key_hash).await? else {
                    return Ok(None);
                };
                self.principals()
                    .put_token(&key_hash, generation, token.clone());
                token
            }
        };
        if token.intent != TokenIntent::Api || token.is_expired(Utc::now()) {
            return Ok(None);
        }
        self.principal_for(token.user).await
    }

    /// Counts one login attempt against every limit that applies and refuses it when any is
    /// exceeded. The limits: a username from one address (the tight one), one address for any
    /// username (shared NATs get four times as many), and one username from anywhere (ten
    /// times as many, so a distributed guesser is slowed without one address being able to
    /// lock the account's owner out). Returns the keys counted, for [`Self::forgive_login_attempt`].
    async fn count_login_attempt(
        &self,
        username: &str,
        client_ip: Option<&str>,
    ) -> ServiceResult<Vec<String>> {
        let allowed = self.settings().login_failures_allowed;
        let window = self.settings().login_failure_window;
        let user = username.to_lowercase();
        let ip = client_ip.unwrap_or("unknown");
        let limits = [
            (format!("login-attempts:user-ip:{user}:{ip}"), allowed),
            (format!("login-attempts:ip:{ip}"), allowed * 4),
            (format!("login-attempts:user:{user}"), allowed * 10),
        ];
        let mut counted = Vec::with_capacity(limits.len());
        let mut exceeded = false;
        for (key, limit) in limits {
            let attempts = self.bus().incr_window(&key, window).await?;
            counted.push(key);
            exceeded |= attempts > limit;
        }
        if exceeded {
            return Err(ServiceError::RateLimited {
                retry_after_secs: window.as_secs(),
            });
        }
        Ok(counted)
    }

    /// A successful login does not count against the limits.
    async fn forgive_login_attempt(&self, counted: &[String]) {
        for key in counted {
            if let Err(error) = self.bus().decr_if_present(key).await {
                tracing::warn!(%error, "could not take back a successful login's count");
            }
        }
    }
}
