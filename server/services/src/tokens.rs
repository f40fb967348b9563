use chrono::Utc;
use garrison_model::{EventAction, FieldErrors, ListQuery, Page, Token, TokenChanges, TokenIntent};
use garrison_store::{Conn, RowRef, tokens as store, users as user_store};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::delegation::{self, require_superuser};
use crate::validate;
use crate::{ServiceError, ServiceResult, Services, Tx, crypto};

const VIEW: &str = "authentik_core.view_token";
const CHANGE: &str = "authentik_core.change_token";
const DELETE: &str = "authentik_core.delete_token";
const VIEW_KEY: &str = "authentik_core.view_token_key";
const SET_KEY: &str = "authentik_core.set_token_key";

/// Length of generated keys; authentik generates 60 alphanumerics too.
const KEY_LENGTH: usize = 60;
/// The shortest key a caller may set: short keys can be guessed.
pub const MIN_KEY_LENGTH: usize = 32;

/// A token just created, with its key: the one time the key is returned without asking.
#[derive(Clone, Debug)]
pub struct CreatedToken {
    pub token: Token,
    pub key: String,
}

impl Audited for Token {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: garrison_model::models::TOKEN,
            pk: self.identifier.clone(),
            name: &self.identifier,
        }
    }

    /// The fields events record: never secrets.
    fn audit_view(&self) -> Value {
        json!({
            "identifier": self.identifier,
            "intent": self.intent.as_str(),
            "user": self.user,
            "description": self.description,
            "expires": self.expires,
            "expiring": self.expiring,
            "managed": self.managed,
        })
    }
}

fn owns(caller: &Caller, token: &Token) -> bool {
    caller.principal.user_pk() == Some(token.user)
}

/// Object permissions on tokens are keyed by the token's UUID, which never changes (the
/// identifier can be renamed, and a grant must not move to whatever takes its old name).
fn object_key(token: &Token) -> String {
    token.pk.to_string()
}

fn check_intent(errors: &mut FieldErrors, caller: &Caller, intent: TokenIntent) {
    if !matches!(intent, TokenIntent::Api | TokenIntent::AppPassword)
        && !caller.principal.is_superuser()
    {
        errors.add(
            "intent",
            format!(
                "Invalid intent \"{}\"; use api or app_password.",
                intent.as_str()
            ),
        );
    }
}

impl Services {
    pub(crate) fn stored_key(&self, key: &str) -> ServiceResult<store::StoredKey> {
        Ok(store::StoredKey {
            hash: crypto::sha256_hex(key),
            sealed: self.secrets().seal(key)?,
        })
    }

    /// Expiry rules for tokens a non-superuser creates or changes: they expire, at most the
    /// configured maximum lifetime from now.
    fn check_expiry(
        &self,
        errors: &mut FieldErrors,
        caller: &Caller,
        expiring: bool,
        expires: Option<chrono::DateTime<Utc>>,
    ) {
        let now = Utc::now();
        if expiring && expires.is_some_and(|at| at <= now) {
            errors.add("expires", "Expiry must be in the future.");
        }
        if caller.principal.is_superuser() {
            return;
        }
        let max = self.settings().max_token_lifetime;
        if !expiring {
            errors.add(
                "expiring",
                "Only superusers may create tokens that never expire.",
            );
        } else if expires.is_some_and(|at| at > now + max) {
            errors.add(
                "expires",
                format!(
                    "Tokens may live at most {} days; choose an earlier expiry.",
                    max.as_secs() / 86_400
                ),
            );
        }
    }

    /// Tokens the caller may see: all with the global view permission, else their own.
    pub async fn list_tokens(
        &self,
        caller: &Caller,
        query: &ListQuery,
    ) -> ServiceResult<Page<Token>> {
        let ordering = validate::ordering(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let mut filter = store::TokenFilter {
            search: query.search.clone(),
            ..Default::default()
        };
        if !caller.principal.has(VIEW) {
            match caller.principal.user_pk() {
                Some(pk) => filter.user_pk = Some(pk),
                None => return Err(ServiceError::forbidden(VIEW)),
            }
        }
        let mut reader = self.read().await?;
        let (items, count) = store::list(
            reader.conn(),
            &filter,
            ordering,
            query.page.page_size,
            query.page.offset(),
        )
        .await?;
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    pub async fn get_token(&self, caller: &Caller, identifier: &str) -> ServiceResult<Token> {
        let mut reader = self.read().await?;
        self.get_token_on(reader.conn(), caller, identifier).await
    }

    pub async fn get_token_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        identifier: &str,
    ) -> ServiceResult<Token> {
        let token = store::get(conn, identifier)
            .await?
            .ok_or_else(|| ServiceError::not_found("token", identifier))?;
        if owns(caller, &token) || caller.principal.has_on(VIEW, &object_key(&token)) {
            Ok(token)
        } else {
            Err(ServiceError::not_found("token", identifier))
        }
    }

    /// Finds a token for a change and locks its row for the rest of the transaction.
    async fn token_for_change(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        identifier: &str,
    ) -> ServiceResult<Token> {
        let found = self.get_token_on(tx.conn(), caller, identifier).await?;
        tx.lock_row(RowRef::Token(found.pk)).await?;
        self.get_token_on(tx.conn(), caller, identifier).await
    }

    pub async fn create_token(
        &self,
        caller: &Caller,
        changes: TokenChanges,
    ) -> ServiceResult<CreatedToken> {
        one_tx!(self, |tx| self.create_token_in(&mut tx, caller, changes))
    }

    /// Creates an API token. Non-superusers create tokens for themselves only: a token for
    /// someone else is a way to act as them.
    pub async fn create_token_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        changes: TokenChanges,
    ) -> ServiceResult<CreatedToken> {
        let user = changes.user.or(caller.principal.user_pk());
        if user != caller.principal.user_pk() {
            require_superuser(caller)?;
        }
        let mut errors = FieldErrors::new();
        let identifier = validate::text(
            &mut errors,
            "identifier",
            changes.identifier.as_ref(),
            true,
            false,
            255,
        );
        if let Some(identifier) = identifier {
            if !validate::is_slug(identifier) {
                errors.add("identifier", validate::NOT_A_SLUG);
            } else if store::get(tx.conn(), identifier).await?.is_some() {
                errors.add("identifier", "token with this identifier already exists.");
            }
        }
        let intent = changes.intent.unwrap_or(TokenIntent::Api);
        check_intent(&mut errors, caller, intent);
        match user {
            None => errors.add("user", validate::REQUIRED),
            Some(pk) if user_store::existing(tx.conn(), &[pk]).await?.is_empty() => errors.add(
                "user",
                format!("Invalid pk \"{pk}\" - object does not exist."),
            ),
            Some(_) => {}
        }
        if changes.managed.as_ref().is_some_and(Option::is_some) {
            require_superuser(caller)?;
        }
        let expiring = changes.expiring.unwrap_or(true);
        let expires = match changes.expires.flatten() {
            Some(at) if expiring => Some(at),
            _ if expiring => Some(Utc::now() + self.settings().default_token_lifetime),
            _ => None,
        };
        self.check_expiry(&mut errors, caller, expiring, expires);
        errors.into_result()?;

        let token = Token {
            pk: Uuid::new_v4(),
            identifier: identifier.unwrap_or_default().to_owned(),
            managed: changes.managed.clone().flatten(),
            intent,
            user: user.unwrap_or_default(),
            description: changes.description.clone().unwrap_or_default(),
            expires,
            expiring,
        };
        let key = crypto::random_alphanumeric(KEY_LENGTH);
        self.insert_token(tx, caller, &token, &key).await?;
        Ok(CreatedToken { token, key })
    }

    /// Writes a new token with a known key and its event; used by create and by bootstrap.
    pub(crate) async fn insert_token(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        token: &Token,
        key: &str,
    ) -> ServiceResult<()> {
        store::insert(tx, token, &self.stored_key(key)?, Utc::now()).await?;
        audit::created(tx, caller, token).await
    }

    pub async fn update_token(
        &self,
        caller: &Caller,
        identifier: &str,
        changes: TokenChanges,
        partial: bool,
    ) -> ServiceResult<Token> {
        one_tx!(self, |tx| self
            .update_token_in(&mut tx, caller, identifier, changes, partial))
    }

    pub async fn update_token_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        identifier: &str,
        changes: TokenChanges,
        partial: bool,
    ) -> ServiceResult<Token> {
        let before = self.token_for_change(tx, caller, identifier).await?;
        if !owns(caller, &before) {
            caller.principal.require_on(CHANGE, &object_key(&before))?;
        }
        refuse_managed(caller, &before)?;
        let mut errors = FieldErrors::new();
        let new_identifier = validate::text(
            &mut errors,
            "identifier",
            changes.identifier.as_ref(),
            !partial,
            false,
            255,
        );
        if let Some(new_identifier) = new_identifier.filter(|id| *id != identifier) {
            if !validate::is_slug(new_identifier) {
                errors.add("identifier", validate::NOT_A_SLUG);
            } else if store::get(tx.conn(), new_identifier).await?.is_some() {
                errors.add("identifier", "token with this identifier already exists.");
            }
        }
        if changes.user.is_some_and(|u| u != before.user) && !caller.principal.is_superuser() {
            errors.add("user", "Only superusers may move a token to another user.");
        }
        if let Some(intent) = changes.intent {
            check_intent(&mut errors, caller, intent);
        }
        if changes
            .managed
            .as_ref()
            .is_some_and(|m| *m != before.managed)
        {
            require_superuser(caller)?;
        }
        let mut after = before.clone();
        if let Some(v) = new_identifier {
            after.identifier = v.to_owned();
        }
        if let Some(v) = changes.intent {
            after.intent = v;
        }
        if let Some(v) = changes.user {
            after.user = v;
        }
        if let Some(v) = changes.description.clone() {
            after.description = v;
        }
        if let Some(v) = changes.expiring {
            after.expiring = v;
        }
        if let Some(v) = changes.expires {
            after.expires = v;
        }
        if let Some(v) = changes.managed.clone() {
            after.managed = v;
        }
        if (after.expiring, after.expires) != (before.expiring, before.expires) {
            self.check_expiry(&mut errors, caller, after.expiring, after.expires);
        }
        errors.into_result()?;
        store::update(tx, &after, Utc::now()).await?;
        audit::updated(tx, caller, &before, &after).await?;
        Ok(after)
    }

    pub async fn delete_token(&self, caller: &Caller, identifier: &str) -> ServiceResult<()> {
        one_tx!(self, |tx| self.delete_token_in(&mut tx, caller, identifier))
    }

    pub async fn delete_token_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        identifier: &str,
    ) -> ServiceResult<()> {
        let before = self.token_for_change(tx, caller, identifier).await?;
        if !owns(caller, &before) {
            caller.principal.require_on(DELETE, &object_key(&before))?;
        }
        refuse_managed(caller, &before)?;
        store::delete(tx, identifier).await?;
        audit::deleted(tx, caller, &before).await?;
        Ok(())
    }

    /// Reveals a token's key on explicit request, and records that it was seen. Seeing
    /// another user's key is acting as them: the caller must hold all they hold.
    pub async fn view_token_key(&self, caller: &Caller, identifier: &str) -> ServiceResult<String> {
        one_tx!(self, |tx| self
            .view_token_key_in(&mut tx, caller, identifier))
    }

    pub async fn view_token_key_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        identifier: &str,
    ) -> ServiceResult<String> {
        let token = self.get_token_on(tx.conn(), caller, identifier).await?;
        if !owns(caller, &token) {
            caller.principal.require_on(VIEW_KEY, &object_key(&token))?;
            self.require_may_act_as_owner(tx.conn(), caller, &token)
                .await?;
        }
        self.reveal_token_key_in(tx, caller, identifier).await
    }

    /// Opens a token's key and records that `caller` saw it; the permission checks are the
    /// caller's (`view_token_key_in`, `view_outpost_token_in`).
    pub(crate) async fn reveal_token_key_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        identifier: &str,
    ) -> ServiceResult<String> {
        let sealed = store::sealed_key(tx.conn(), identifier)
            .await?
            .ok_or_else(|| ServiceError::not_found("token", identifier))?;
        let key = self.secrets().open(&sealed)?;
        let mut context = serde_json::Map::new();
        context.insert(
            "secret".into(),
            audit::object_json(garrison_model::models::TOKEN, identifier, identifier),
        );
        audit::record(tx, caller, EventAction::SecretView, context).await?;
        Ok(key)
    }

    pub async fn set_token_key(
        &self,
        caller: &Caller,
        identifier: &str,
        key: &str,
    ) -> ServiceResult<()> {
        one_tx!(self, |tx| self
            .set_token_key_in(&mut tx, caller, identifier, key))
    }

    pub async fn set_token_key_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        identifier: &str,
        key: &str,
    ) -> ServiceResult<()> {
        let token = self.token_for_change(tx, caller, identifier).await?;
        caller.principal.require_on(SET_KEY, &object_key(&token))?;
        if !owns(caller, &token) {
            self.require_may_act_as_owner(tx.conn(), caller, &token)
                .await?;
        }
        refuse_managed(caller, &token)?;
        if key.trim().is_empty() {
            return Err(ServiceError::invalid("key", validate::BLANK));
        }
        if key.chars().count() < MIN_KEY_LENGTH {
            return Err(ServiceError::invalid(
                "key",
                format!("Use at least {MIN_KEY_LENGTH} characters: short keys can be guessed."),
            ));
        }
        if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ServiceError::invalid(
                "key",
                "Keys may not contain spaces or control characters.",
            ));
        }
        store::set_key(tx, token.pk, &self.stored_key(key)?).await?;
        audit::record_model_change(
            tx,
            caller,
            EventAction::ModelUpdated,
            token.model_ref(),
            Some(&json!({"key": "***"})),
            Some(&json!({"key": "*** (changed)"})),
        )
        .await?;
        Ok(())
    }

    async fn require_may_act_as_owner(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        token: &Token,
    ) -> ServiceResult<()> {
        let owner = user_store::get(conn, token.user)
            .await?
            .ok_or_else(|| ServiceError::not_found("user", token.user))?;
        delegation::require_may_act_as(conn, caller, &owner).await
    }
}

/// Tokens the server manages (an outpost's, the bootstrap token) change only through the
/// server's own operations or a superuser.
fn refuse_managed(caller: &Caller, token: &Token) -> ServiceResult<()> {
    if token.managed.is_some() && !caller.principal.is_superuser() {
        return Err(ServiceError::invalid(
            "managed",
            "This token is managed by Garrison and cannot be changed through the token API.",
        ));
    }
    Ok(())
}
