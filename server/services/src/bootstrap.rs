//! The first administrator. It comes from GARRISON_BOOTSTRAP_PASSWORD / _TOKEN, from the
//! `garrison bootstrap` command, or from a one-time setup link printed on first start.
use chrono::Utc;
use garrison_model::{FieldErrors, GroupChanges, Token, TokenIntent, User, UserChanges};
use garrison_store::{Conn, groups, settings, users};
use uuid::Uuid;

use crate::authz::Caller;
use crate::{ServiceError, ServiceResult, Services, Tx, crypto};

/// authentik's names, so blueprints that refer to them (`!Find [authentik_core.group, [name,
/// authentik Admins]]`) work unchanged.
pub const ADMIN_GROUP: &str = "authentik Admins";
pub const ADMIN_USERNAME: &str = "akadmin";
pub const BOOTSTRAP_TOKEN_IDENTIFIER: &str = "authentik-bootstrap-token";
const SETUP_TOKEN_KEY: &str = "setup_token_hash";

#[derive(Clone, Debug, Default)]
pub struct BootstrapRequest {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// An administrator was created now.
    Created { username: String, token: bool },
    /// A superuser already exists; nothing changed.
    AlreadyBootstrapped,
    /// No credentials were given and none exist: visit `/setup/<token>` once.
    SetupRequired { setup_token: String },
}

async fn has_superuser(conn: &mut Conn) -> ServiceResult<bool> {
    let (admins, _) = groups::list(
        conn,
        &groups::GroupFilter {
            is_superuser: Some(true),
            ..Default::default()
        },
        groups::DEFAULT_ORDERING,
        100,
        0,
    )
    .await?;
    Ok(admins.iter().any(|g| !g.users.is_empty()))
}

impl Services {
    async fn has_superuser(&self) -> ServiceResult<bool> {
        let mut reader = self.read().await?;
        has_superuser(reader.conn()).await
    }

    /// Run on every start: creates the first administrator from the given credentials, or
    /// issues a one-time setup token when there are none.
    pub async fn ensure_bootstrap(
        &self,
        request: BootstrapRequest,
    ) -> ServiceResult<BootstrapOutcome> {
        if self.has_superuser().await? {
            return Ok(BootstrapOutcome::AlreadyBootstrapped);
        }
        if request.password.is_none() && request.token.is_none() {
            let token = crypto::random_alphanumeric(32);
            let mut tx = self.begin().await?;
            settings::set(&mut tx, SETUP_TOKEN_KEY, &crypto::sha256_hex(&token)).await?;
            self.commit(tx).await?;
            return Ok(BootstrapOutcome::SetupRequired { setup_token: token });
        }
        let username = request
            .username
            .clone()
            .unwrap_or_else(|| ADMIN_USERNAME.into());
        let has_token = request.token.is_some();
        self.create_administrator(
            &Caller::system(),
            &username,
            request.email.as_deref(),
            request.password.as_deref(),
            request.token.as_deref(),
        )
        .await?;
        Ok(BootstrapOutcome::Created {
            username,
            token: has_token,
        })
    }

    /// True when `token` is the current one-time setup token.
    pub async fn setup_token_valid(&self, token: &str) -> ServiceResult<bool> {
        if self.has_superuser().await? {
            return Ok(false);
        }
        let mut reader = self.read().await?;
        let stored = settings::get(reader.conn(), SETUP_TOKEN_KEY).await?;
        Ok(stored.is_some_and(|hash| hash == crypto::sha256_hex(token)))
    }

    /// Consumes the setup token and creates the first administrator, in one transaction: the
    /// token is spent exactly when the administrator exists, and of two completions racing
    /// with one token only one can win.
    pub async fn complete_setup(
        &self,
        token: &str,
        username: &str,
        password: &str,
    ) -> ServiceResult<User> {
        let invalid = || {
            ServiceError::invalid(
                FieldErrors::NON_FIELD,
                "This setup link is invalid or has already been used.",
            )
        };
        if password.chars().count() < 8 {
            return Err(ServiceError::invalid(
                "password",
                "Use at least 8 characters.",
            ));
        }
        let mut tx = self.begin().await?;
        if has_superuser(tx.conn()).await?
            || !settings::take(&mut tx, SETUP_TOKEN_KEY, &crypto::sha256_hex(token)).await?
        {
            return Err(invalid());
        }
        let user = self
            .create_administrator_in(
                &mut tx,
                &Caller::system(),
                username,
                None,
                Some(password),
                None,
            )
            .await?;
        self.commit(tx).await?;
        Ok(user)
    }

    /// Creates (or completes) an administrator: the user, membership of the superuser group,
    /// and optionally a non-expiring API token with a chosen key.
    pub async fn create_administrator(
        &self,
        caller: &Caller,
        username: &str,
        email: Option<&str>,
        password: Option<&str>,
        token_key: Option<&str>,
    ) -> ServiceResult<User> {
        one_tx!(self, |tx| self.create_administrator_in(
            &mut tx, caller, username, email, password, token_key
        ))
    }

    pub async fn create_administrator_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        username: &str,
        email: Option<&str>,
        password: Option<&str>,
        token_key: Option<&str>,
    ) -> ServiceResult<User> {
        let (found, _) = groups::list(
            tx.conn(),
            &groups::GroupFilter {
                name: Some(ADMIN_GROUP.into()),
                ..Default::default()
            },
            groups::DEFAULT_ORDERING,
            1,
            0,
        )
        .await?;
        let admin_group = match found.into_iter().next() {
            Some(group) => group,
            None => {
                self.create_group_in(
                    tx,
                    caller,
                    GroupChanges {
                        name: Some(ADMIN_GROUP.into()),
                        is_superuser: Some(true),
                        ..Default::default()
                    },
                )
                .await?
            }
        };
        let user = match users::get_by_username(tx.conn(), username).await? {
            Some(user) => {
                let mut groups = user.groups.clone();
                if !groups.contains(&admin_group.pk) {
                    groups.push(admin_group.pk);
                }
                let user = self
                    .update_user_in(
                        tx,
                        caller,
                        user.pk,
                        UserChanges {
                            groups: Some(groups),
                            ..Default::default()
                        },
                        true,
                    )
                    .await?;
                if let Some(password) = password {
                    self.set_user_password_in(
                        tx,
                        caller,
                        user.pk,
                        crate::PasswordChange {
                            new_password: password,
                            current_password: None,
                        },
                    )
                    .await?;
                }
                user
            }
            None => {
                self.create_user_in(
                    tx,
                    caller,
                    UserChanges {
                        username: Some(username.into()),
                        name: Some("Garrison administrator".into()),
                        email: email.map(str::to_owned),
                        groups: Some(vec![admin_group.pk]),
                        password: password.map(str::to_owned),
                        ..Default::default()
                    },
                )
                .await?
            }
        };
        if let Some(key) = token_key {
            if garrison_store::tokens::get(tx.conn(), BOOTSTRAP_TOKEN_IDENTIFIER)
                .await?
                .is_none()
            {
                let token = Token {
                    pk: Uuid::new_v4(),
                    identifier: BOOTSTRAP_TOKEN_IDENTIFIER.into(),
                    managed: None,
                    intent: TokenIntent::Api,
                    user: user.pk,
                    description: "Bootstrap token from GARRISON_BOOTSTRAP_TOKEN".into(),
                    expires: None,
                    expiring: false,
                };
                self.insert_token(tx, caller, &token, key).await?;
            }
        }
        tracing::info!(user = %user.username, at = %Utc::now(), "administrator ready");
        Ok(user)
    }
}
