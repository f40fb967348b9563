use chrono::Utc;
use garrison_model::{EventAction, FieldErrors, ListQuery, Page, Token, TokenChanges, TokenIntent};
use garrison_store::{Tx, tokens as store, users as user_store};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::validate;
use crate::{ServiceError, ServiceResult, Services, crypto};

const VIEW: &str = "authentik_core.view_token";
const ADD: &str = "authentik_core.add_token";
const CHANGE: &str = "authentik_core.change_token";
const DELETE: &str = "authentik_core.delete_token";
const VIEW_KEY: &str = "authentik_core.view_token_key";
const SET_KEY: &str = "authentik_core.set_token_key";

/// Length of generated keys; authentik generates 60 alphanumerics too.
const KEY_LENGTH: usize = 60;

/// A token just created, with its key: the one time the key is returned without asking.
#[derive(Clone, Debug)]
pub struct CreatedToken {
    pub token: Token,
    pub key: String,
}

impl Audited for Token {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            app: "authentik_core",
            model_name: "token",
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

impl Services {
    fn owns(&self, caller: &Caller, token: &Token) -> bool {
        caller.principal.user_pk() == Some(token.user)
    }

    pub(crate) fn stored_key(&self, key: &str) -> ServiceResult<store::StoredKey> {
        Ok(store::StoredKey {
            hash: crypto::sha256_hex(key),
            sealed: self.secrets().seal(key)?,
        })
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
        let mut conn = self.store().conn().await?;
        let (items, count) = store::list(
            &mut conn,
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
        let mut conn = self.store().conn().await?;
        let token = store::get(&mut conn, identifier)
            .await?
            .ok_or_else(|| ServiceError::not_found("token", identifier))?;
        if self.owns(caller, &token) || caller.principal.has_on(VIEW, identifier) {
            Ok(token)
        } else {
            Err(ServiceError::not_found("token", identifier))
        }
    }

    pub async fn create_token(
        &self,
        caller: &Caller,
        changes: TokenChanges,
    ) -> ServiceResult<CreatedToken> {
        let user = changes.user.or(caller.principal.user_pk());
        if user != caller.principal.user_pk() || user.is_none() {
            caller.principal.require(ADD)?;
        }
        let mut tx = self.store().begin().await?;
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
                errors.add("identifier", "Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens.");
            } else if store::get(tx.conn(), identifier).await?.is_some() {
                errors.add("identifier", "token with this identifier already exists.");
            }
        }
        let intent = changes.intent.unwrap_or(TokenIntent::Api);
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
        match user {
            None => errors.add("user", validate::REQUIRED),
            Some(pk) if user_store::existing(tx.conn(), &[pk]).await?.is_empty() => errors.add(
                "user",
                format!("Invalid pk \"{pk}\" - object does not exist."),
            ),
            Some(_) => {}
        }
        let expiring = changes.expiring.unwrap_or(true);
        let now = Utc::now();
        let expires = match changes.expires.flatten() {
            Some(at) if expiring && at <= now => {
                errors.add("expires", "Expiry must be in the future.");
                None
            }
            Some(at) if expiring => Some(at),
            _ if expiring => Some(now + self.settings().default_token_lifetime),
            _ => None,
        };
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
        self.insert_token(&mut tx, caller, &token, &key).await?;
        tx.commit().await?;
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
        store::insert(tx.conn(), token, &self.stored_key(key)?, Utc::now()).await?;
        audit::created(tx, caller, token).await
    }

    pub async fn update_token(
        &self,
        caller: &Caller,
        identifier: &str,
        changes: TokenChanges,
        partial: bool,
    ) -> ServiceResult<Token> {
        let before = self.get_token(caller, identifier).await?;
        if !self.owns(caller, &before) {
            caller.principal.require_on(CHANGE, identifier)?;
        }
        let mut tx = self.store().begin().await?;
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
                errors.add("identifier", "Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens.");
            } else if store::get(tx.conn(), new_identifier).await?.is_some() {
                errors.add("identifier", "token with this identifier already exists.");
            }
        }
        if changes.user.is_some_and(|u| u != before.user) && !caller.principal.is_superuser() {
            errors.add("user", "Only superusers may move a token to another user.");
        }
        if let Some(intent) = changes.intent {
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
        errors.into_result()?;
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
        store::update(tx.conn(), &after, Utc::now()).await?;
        audit::updated(&mut tx, caller, &before, &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn delete_token(&self, caller: &Caller, identifier: &str) -> ServiceResult<()> {
        let before = self.get_token(caller, identifier).await?;
        if !self.owns(caller, &before) {
            caller.principal.require_on(DELETE, identifier)?;
        }
        let mut tx = self.store().begin().await?;
        store::delete(tx.conn(), identifier).await?;
        audit::deleted(&mut tx, caller, &before).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reveals a token's key on explicit request, and records that it was seen.
    pub async fn view_token_key(&self, caller: &Caller, identifier: &str) -> ServiceResult<String> {
        let token = self.get_token(caller, identifier).await?;
        if !self.owns(caller, &token) {
            caller.principal.require_on(VIEW_KEY, identifier)?;
        }
        let mut tx = self.store().begin().await?;
        let sealed = store::sealed_key(tx.conn(), identifier)
            .await?
            .ok_or_else(|| ServiceError::not_found("token", identifier))?;
        let key = self.secrets().open(&sealed)?;
        let mut context = serde_json::Map::new();
        context.insert("secret".into(), json!({"app": "authentik_core", "model_name": "token", "pk": identifier, "name": identifier}));
        audit::record(&mut tx, caller, EventAction::SecretView, context).await?;
        tx.commit().await?;
        Ok(key)
    }

    pub async fn set_token_key(
        &self,
        caller: &Caller,
        identifier: &str,
        key: &str,
    ) -> ServiceResult<()> {
        let token = self.get_token(caller, identifier).await?;
        caller.principal.require_on(SET_KEY, identifier)?;
        if key.trim().is_empty() {
            return Err(ServiceError::invalid("key", validate::BLANK));
        }
        let mut tx = self.store().begin().await?;
        store::set_key(tx.conn(), token.pk, &self.stored_key(key)?).await?;
        audit::record_model_change(
            &mut tx,
            caller,
            EventAction::ModelUpdated,
            token.model_ref(),
            Some(&json!({"key": "***"})),
            Some(&json!({"key": "*** (changed)"})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
