//! Certificate keypairs: uploaded PEM or generated self-signed. The certificate is public and
//! kept in clear; the private key is kept sealed and leaves only on an explicit request, which
//! is recorded. Changing a pair is an update for every outpost that relies on it.
use chrono::Utc;
use garrison_model::models::CERTIFICATE_KEYPAIR;
use garrison_model::{
    CertificateKeyPair, CertificateKeyPairChanges, EventAction, FieldErrors, ListQuery, Page,
};
use garrison_pki::{GenerateRequest, KeyAlgorithm};
use garrison_store::outposts::certificates::{self as store, CertificateRecord};
use garrison_store::outposts::{
    brands as brand_store, outposts as outpost_store, providers as provider_store,
    service_connections as connection_store,
};
use garrison_store::{Conn, RowRef};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::audit::{self, Audited, ModelRef};
use crate::authz::Caller;
use crate::{ServiceError, ServiceResult, Services, Tx, validate};

#[derive(Clone, Debug, Default)]
pub struct CertificateFilter {
    pub name: Option<String>,
    /// Only pairs with (true) or without (false) a private key.
    pub has_key: Option<bool>,
    pub managed: Option<String>,
}

/// What `generate` makes.
#[derive(Clone, Debug)]
pub struct GenerateCertificate {
    pub common_name: String,
    /// Comma-separated, as authentik's form sends it.
    pub subject_alt_name: Option<String>,
    pub validity_days: i64,
    /// "rsa" (authentik's default) or "ecdsa".
    pub alg: Option<String>,
}

impl Audited for CertificateKeyPair {
    fn model_ref(&self) -> ModelRef<'_> {
        ModelRef {
            model: CERTIFICATE_KEYPAIR,
            pk: self.pk.to_string(),
            name: &self.name,
        }
    }

    /// Never the key.
    fn audit_view(&self) -> Value {
        json!({
            "name": self.name,
            "fingerprint_sha256": self.fingerprint_sha256,
            "cert_expiry": self.cert_expiry,
            "cert_subject": self.cert_subject,
            "private_key_available": self.private_key_available,
            "managed": self.managed,
        })
    }
}

fn perm(action: &str) -> String {
    CERTIFICATE_KEYPAIR.permission(action)
}

fn pki_error(errors: &mut FieldErrors, error: garrison_pki::PkiError) {
    errors.add(error.field(), error.to_string());
}

impl Services {
    pub async fn list_certificates(
        &self,
        caller: &Caller,
        query: &ListQuery,
        filter: CertificateFilter,
    ) -> ServiceResult<Page<CertificateKeyPair>> {
        let paging = super::paging(query, store::ORDERING, store::DEFAULT_ORDERING)?;
        let Some(only) = super::visible(caller, &perm("view"))? else {
            return Ok(Page::empty(query.page));
        };
        let mut reader = self.read().await?;
        let (items, count) = store::list(
            reader.conn(),
            &store::Filter {
                search: query.search.clone(),
                only,
                name: filter.name,
                has_key: filter.has_key,
                managed: filter.managed,
            },
            paging,
        )
        .await?;
        Ok(Page {
            items,
            count,
            request: query.page,
        })
    }

    pub async fn get_certificate(
        &self,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<CertificateKeyPair> {
        let mut reader = self.read().await?;
        Ok(self.certificate_on(reader.conn(), caller, pk).await?.pair)
    }

    async fn certificate_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<CertificateRecord> {
        caller.principal.visibility(&perm("view"))?;
        if !caller.principal.has_on(&perm("view"), &pk.to_string()) {
            return Err(ServiceError::not_found("certificate keypair", pk));
        }
        store::get(conn, pk)
            .await?
            .ok_or_else(|| ServiceError::not_found("certificate keypair", pk))
    }

    /// Checks PEM input and builds the record (facts from the certificate, key sealed).
    fn certificate_record(
        &self,
        pk: Uuid,
        name: String,
        certificate_pem: &str,
        key_pem: Option<&str>,
        kept_key: Option<String>,
        managed: Option<String>,
        errors: &mut FieldErrors,
    ) -> ServiceResult<Option<CertificateRecord>> {
        let facts = match garrison_pki::inspect_certificate(certificate_pem) {
            Ok(facts) => facts,
            Err(error) => {
                pki_error(errors, error);
                return Ok(None);
            }
        };
        let (key_sealed, key_type) = match key_pem.filter(|k| !k.trim().is_empty()) {
            Some(key) => match garrison_pki::check_key(certificate_pem, key) {
                Ok(kind) => (
                    Some(self.secrets().seal(key)?),
                    Some(kind.as_str().to_owned()),
                ),
                Err(error) => {
                    pki_error(errors, error);
                    return Ok(None);
                }
            },
            None => (kept_key, facts.key_type.map(|k| k.as_str().to_owned())),
        };
        Ok(Some(CertificateRecord {
            pair: CertificateKeyPair {
                pk,
                name,
                fingerprint_sha256: facts.fingerprint_sha256,
                fingerprint_sha1: facts.fingerprint_sha1,
                cert_expiry: facts.not_after,
                cert_subject: facts.subject,
                private_key_available: key_sealed.is_some(),
                key_type,
                managed,
            },
            certificate_data: certificate_pem.to_owned(),
            key_sealed,
        }))
    }

    pub async fn create_certificate(
        &self,
        caller: &Caller,
        changes: CertificateKeyPairChanges,
    ) -> ServiceResult<CertificateKeyPair> {
        one_tx!(self, |tx| self
            .create_certificate_in(&mut tx, caller, changes))
    }

    pub async fn create_certificate_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        changes: CertificateKeyPairChanges,
    ) -> ServiceResult<CertificateKeyPair> {
        caller.principal.require(&perm("add"))?;
        let mut errors = FieldErrors::new();
        let name = validate::text(&mut errors, "name", changes.name.as_ref(), true, false, 255);
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, None).await? {
                errors.add(
                    "name",
                    "certificate-key pair with this name already exists.",
                );
            }
        }
        let Some(certificate) = changes.certificate_data.as_deref() else {
            errors.add("certificate_data", validate::REQUIRED);
            return Err(errors.into());
        };
        let record = self.certificate_record(
            Uuid::new_v4(),
            name.unwrap_or_default().to_owned(),
            certificate,
            changes.key_data.as_deref(),
            None,
            None,
            &mut errors,
        )?;
        errors.into_result()?;
        let Some(record) = record else {
            return Err(ServiceError::Internal(
                "a refused certificate had no error".into(),
            ));
        };
        store::upsert(tx, &record, Utc::now()).await?;
        audit::created(tx, caller, &record.pair).await?;
        Ok(record.pair)
    }

    /// A new self-signed pair (authentik's `generate`).
    pub async fn generate_certificate(
        &self,
        caller: &Caller,
        request: GenerateCertificate,
    ) -> ServiceResult<CertificateKeyPair> {
        caller.principal.require(&perm("add"))?;
        let mut errors = FieldErrors::new();
        let algorithm = match request.alg.as_deref() {
            None => KeyAlgorithm::default(),
            Some(text) => match text.parse::<KeyAlgorithm>() {
                Ok(algorithm) => algorithm,
                Err(error) => {
                    pki_error(&mut errors, error);
                    KeyAlgorithm::default()
                }
            },
        };
        let validity_days = u32::try_from(request.validity_days).unwrap_or(0);
        let subject_alt_names: Vec<String> = request
            .subject_alt_name
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        errors.clone().into_result()?;
        // Key generation is CPU work (an RSA key takes a moment): off the async workers.
        let generate = GenerateRequest {
            common_name: request.common_name.clone(),
            subject_alt_names,
            validity_days,
            algorithm,
        };
        let pair = tokio::task::spawn_blocking(move || garrison_pki::generate(&generate))
            .await
            .map_err(|e| ServiceError::Internal(format!("key generation was interrupted: {e}")))?;
        let pair = match pair {
            Ok(pair) => pair,
            Err(error) => {
                pki_error(&mut errors, error);
                return Err(errors.into());
            }
        };
        let mut tx = self.begin().await?;
        let mut name = request.common_name.clone();
        let mut suffix = 1;
        while store::name_taken(tx.conn(), &name, None).await? {
            suffix += 1;
            name = format!("{} ({suffix})", request.common_name);
        }
        let record = self.certificate_record(
            Uuid::new_v4(),
            name,
            &pair.certificate_pem,
            Some(&pair.private_key_pem),
            None,
            None,
            &mut errors,
        )?;
        errors.into_result()?;
        let Some(record) = record else {
            return Err(ServiceError::Internal(
                "a generated certificate did not parse".into(),
            ));
        };
        store::upsert(&mut tx, &record, Utc::now()).await?;
        audit::created(&mut tx, caller, &record.pair).await?;
        self.commit(tx).await?;
        Ok(record.pair)
    }

    pub async fn update_certificate(
        &self,
        caller: &Caller,
        pk: Uuid,
        changes: CertificateKeyPairChanges,
        partial: bool,
    ) -> ServiceResult<CertificateKeyPair> {
        one_tx!(self, |tx| self
            .update_certificate_in(&mut tx, caller, pk, changes, partial))
    }

    pub async fn update_certificate_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
        changes: CertificateKeyPairChanges,
        partial: bool,
    ) -> ServiceResult<CertificateKeyPair> {
        tx.lock_row(RowRef::Certificate(pk)).await?;
        let before = self.certificate_on(tx.conn(), caller, pk).await?;
        caller
            .principal
            .require_on(&perm("change"), &pk.to_string())?;
        if before.pair.managed.is_some() && !caller.principal.is_superuser() {
            return Err(ServiceError::invalid(
                "managed",
                "This certificate is managed by Garrison and cannot be changed here.",
            ));
        }
        let mut errors = FieldErrors::new();
        let name = validate::text(
            &mut errors,
            "name",
            changes.name.as_ref(),
            !partial,
            false,
            255,
        );
        if let Some(name) = name {
            if store::name_taken(tx.conn(), name, Some(pk)).await? {
                errors.add(
                    "name",
                    "certificate-key pair with this name already exists.",
                );
            }
        }
        if !partial && changes.certificate_data.is_none() {
            errors.add("certificate_data", validate::REQUIRED);
        }
        let certificate = changes
            .certificate_data
            .clone()
            .unwrap_or_else(|| before.certificate_data.clone());
        // A new certificate with no key drops the old key: it would not match.
        let kept_key = if changes.certificate_data.is_some()
            && changes.certificate_data.as_deref() != Some(before.certificate_data.as_str())
        {
            None
        } else {
            before.key_sealed.clone()
        };
        let record = self.certificate_record(
            pk,
            name.map(str::to_owned)
                .unwrap_or_else(|| before.pair.name.clone()),
            &certificate,
            changes.key_data.as_deref(),
            kept_key,
            before.pair.managed.clone(),
            &mut errors,
        )?;
        errors.into_result()?;
        let Some(record) = record else {
            return Err(ServiceError::Internal(
                "a refused certificate had no error".into(),
            ));
        };
        store::upsert(tx, &record, Utc::now()).await?;
        audit::updated(tx, caller, &before.pair, &record.pair).await?;
        let affected = self.outposts_relying_on(tx.conn(), pk).await?;
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(record.pair)
    }

    /// Outposts that see certificate `pk`: through their providers, their service connection,
    /// or (the embedded outpost) a brand's web certificate.
    async fn outposts_relying_on(&self, conn: &mut Conn, pk: Uuid) -> ServiceResult<Vec<Uuid>> {
        let providers = provider_store::using_certificate(conn, pk).await?;
        let mut outposts = outpost_store::serving(conn, &providers).await?;
        for connection in connection_store::using_certificate(conn, pk).await? {
            outposts.extend(outpost_store::using_connection(conn, connection).await?);
        }
        if brand_store::web_certificates(conn)
            .await?
            .iter()
            .any(|(_, c)| *c == pk)
        {
            outposts.extend(outpost_store::managed(conn).await?);
        }
        Ok(outposts)
    }

    pub async fn delete_certificate(&self, caller: &Caller, pk: Uuid) -> ServiceResult<()> {
        one_tx!(self, |tx| self.delete_certificate_in(&mut tx, caller, pk))
    }

    pub async fn delete_certificate_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<()> {
        tx.lock_row(RowRef::Certificate(pk)).await?;
        let before = self.certificate_on(tx.conn(), caller, pk).await?;
        caller
            .principal
            .require_on(&perm("delete"), &pk.to_string())?;
        // As for changes: what Garrison manages (the embedded outpost's and brands' defaults)
        // is removed only by a superuser.
        if before.pair.managed.is_some() && !caller.principal.is_superuser() {
            return Err(ServiceError::invalid(
                "managed",
                "This certificate is managed by Garrison and cannot be deleted here.",
            ));
        }
        let affected = self.outposts_relying_on(tx.conn(), pk).await?;
        store::delete(tx, pk).await?;
        audit::deleted(tx, caller, &before.pair).await?;
        self.outposts_changed_in(tx, caller, &affected).await?;
        Ok(())
    }

    /// Whether the pair `pk` has a private key and `key_pem` is that key: what lets a
    /// blueprint that gives a pair's `key_data` again write nothing when nothing changed.
    ///
    /// The sealed key is not opened, and this is no secret view (no event is recorded): every
    /// stored key was checked to be the key of the pair's certificate when it was written (a
    /// new certificate without a key drops the old key), and a certificate's public key has one
    /// private key. So the stored key is `key_pem` exactly when `key_pem` belongs to the
    /// certificate, which anyone holding the public certificate can check, and whether there is
    /// a stored key at all is the pair's `private_key_available`. The answer tells nothing
    /// those do not. (The same key in another PEM form counts as the same key.)
    pub(crate) async fn certificate_holds_key(
        &self,
        conn: &mut Conn,
        pk: Uuid,
        key_pem: &str,
    ) -> ServiceResult<bool> {
        let Some(record) = store::get(conn, pk).await? else {
            return Ok(false);
        };
        if record.key_sealed.is_none() {
            return Ok(false);
        }
        Ok(garrison_pki::check_key(&record.certificate_data, key_pem).is_ok())
    }

    /// The certificate PEM (public, but a permission of its own, as in authentik).
    pub async fn view_certificate_data(&self, caller: &Caller, pk: Uuid) -> ServiceResult<String> {
        let mut reader = self.read().await?;
        let record = self.certificate_on(reader.conn(), caller, pk).await?;
        require_download(caller, VIEW_CERTIFICATE, pk)?;
        Ok(record.certificate_data)
    }

    /// The private key PEM, on explicit request; recorded as a secret view. Holding a key is
    /// holding what it protects, so this needs its own permission.
    pub async fn view_private_key(
        &self,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<Option<String>> {
        one_tx!(self, |tx| self.view_private_key_in(&mut tx, caller, pk))
    }

    pub async fn view_private_key_in(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        pk: Uuid,
    ) -> ServiceResult<Option<String>> {
        let record = self.certificate_on(tx.conn(), caller, pk).await?;
        require_download(caller, VIEW_KEY, pk)?;
        let Some(sealed) = record.key_sealed else {
            return Ok(None);
        };
        let key = self.secrets().open(&sealed)?;
        let mut context = serde_json::Map::new();
        context.insert(
            "secret".into(),
            audit::object_json(CERTIFICATE_KEYPAIR, &pk.to_string(), &record.pair.name),
        );
        audit::record(tx, caller, EventAction::SecretView, context).await?;
        Ok(Some(key))
    }
}

/// Downloading a pair's certificate or key needs its own permission, or being an outpost's
/// service account that may view the pair: outposts serve TLS with the keypairs of their
/// providers (spec §3.1), and their account gets exactly those through the rebuild.
fn require_download(caller: &Caller, permission: &str, pk: Uuid) -> ServiceResult<()> {
    let outpost_account = caller.principal.user().is_some_and(|u| {
        u.user_type == garrison_model::UserType::InternalServiceAccount
            && u.path == super::service_account::SERVICE_ACCOUNT_PATH
            && u.username.starts_with("ak-outpost-")
    });
    if outpost_account && caller.principal.has_on(&perm("view"), &pk.to_string()) {
        return Ok(());
    }
    caller.principal.require_on(permission, &pk.to_string())
}

const VIEW_CERTIFICATE: &str = "authentik_crypto.view_certificatekeypair_certificate";
const VIEW_KEY: &str = "authentik_crypto.view_certificatekeypair_key";
