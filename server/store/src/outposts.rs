//! Outposts and what they serve: certificate keypairs, providers, applications, service
//! connections and brands. Secrets arrive here already sealed and leave sealed; the services
//! seal and open them.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use garrison_model::{
    Application, Brand, CertificateKeyPair, Outpost, PolicyEngineMode, ProviderKind,
    ServiceConnection, ServiceConnectionKind,
};
use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use uuid::Uuid;

use crate::codec::{self, format_ts};
use crate::sql::{Bind, Ordering, Ties, Where, in_list};
use crate::{Result, StoreError, Tx};

fn corrupt(table: &'static str, column: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        table,
        column,
        detail: format!("unknown value {value:?}"),
    }
}

fn opt_uuid(
    table: &'static str,
    column: &'static str,
    value: Option<String>,
) -> Result<Option<Uuid>> {
    value.map(|v| codec::uuid(table, column, &v)).transpose()
}

fn uuid_list(table: &'static str, column: &'static str, text: &str) -> Result<Vec<Uuid>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table,
        column,
        detail: e.to_string(),
    })
}

fn json_text(uuids: &[Uuid]) -> String {
    Value::from(uuids.iter().map(|u| u.to_string()).collect::<Vec<_>>()).to_string()
}

/// Rows per page and where the page starts, for the list functions.
#[derive(Clone, Copy, Debug)]
pub struct Paging {
    pub ordering: Ordering,
    pub limit: u64,
    pub offset: u64,
}

pub(crate) async fn count_and_page<T>(
    conn: &mut AnyConnection,
    w: Where,
    from: &str,
    columns: &str,
    tiebreak: &str,
    paging: Paging,
    decode: impl Fn(&AnyRow) -> Result<T>,
) -> Result<(Vec<T>, u64)> {
    counted_page(conn, w, from, columns, tiebreak, paging, None, decode).await
}

/// [`count_and_page`], skipping the count when the caller already knows it (a count kept
/// since the last write): on a large table the count is most of the page's cost.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn counted_page<T>(
    conn: &mut AnyConnection,
    mut w: Where,
    from: &str,
    columns: &str,
    tiebreak: &str,
    paging: Paging,
    known_count: Option<u64>,
    decode: impl Fn(&AnyRow) -> Result<T>,
) -> Result<(Vec<T>, u64)> {
    let where_sql = w.sql();
    if let Some(count) = known_count {
        let page = w.page_sql(paging.ordering, tiebreak, paging.limit, paging.offset);
        let rows = w
            .query(format!("SELECT {columns} FROM {from}{where_sql}{page}"))
            .fetch_all(&mut *conn)
            .await?;
        let items = rows.iter().map(decode).collect::<Result<Vec<_>>>()?;
        return Ok((items, count));
    }
    // Kept before the page's LIMIT and OFFSET are bound: the count alone binds fewer values.
    let count_only = w.clone();
    let count_sql = format!("SELECT COUNT(*) FROM {from}{where_sql}");
    let page = w.page_sql(paging.ordering, tiebreak, paging.limit, paging.offset);
    // The count rides on the page as an uncorrelated subquery, which both databases evaluate
    // once per statement: one round trip where two were, the dearest part of a list on
    // PostgreSQL. Its WHERE repeats the outer one's `$n` placeholders, bound to the same values.
    let rows = w
        .query(format!(
            "SELECT {columns}, ({count_sql}) AS total_count FROM {from}{where_sql}{page}"
        ))
        .fetch_all(&mut *conn)
        .await?;
    let count: i64 = match rows.first() {
        Some(row) => row.try_get("total_count")?,
        None if paging.offset == 0 => 0,
        // Past the last page: no row carries the count.
        None => {
            count_only
                .query_scalar(count_sql)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    let items = rows.iter().map(decode).collect::<Result<Vec<_>>>()?;
    Ok((items, count as u64))
}

/// The integer ids linked to each of `keys` through a link table, in id order:
/// `SELECT {key_column}, {id_column} FROM {table} WHERE {key_column} IN (keys)`.
async fn linked_ids(
    conn: &mut AnyConnection,
    table: &str,
    key_column: &str,
    id_column: &str,
    keys: &[String],
) -> Result<HashMap<String, Vec<i64>>> {
    let mut by_key: HashMap<String, Vec<i64>> = HashMap::new();
    if keys.is_empty() {
        return Ok(by_key);
    }
    let sql = format!(
        "SELECT {key_column}, {id_column} FROM {table} WHERE {key_column} IN {} ORDER BY {id_column}",
        in_list(1, keys.len())
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for key in keys {
        query = query.bind(key.clone());
    }
    for row in query.fetch_all(conn).await? {
        by_key
            .entry(row.try_get(0)?)
            .or_default()
            .push(row.try_get(1)?);
    }
    Ok(by_key)
}

// ---------------------------------------------------------------------------------------------
// Certificate keypairs

pub mod certificates {
    use super::*;

    pub const ORDERING: &[(&str, &str, Ties)] = &[
        ("name", "c.name", Ties::None),
        ("expiry", "c.cert_expiry", Ties::Possible),
        ("pk", "c.uuid", Ties::None),
    ];
    pub const DEFAULT_ORDERING: Ordering = Ordering {
        column: "c.name",
        descending: false,
        ties: Ties::None,
    };

    const COLUMNS: &str = "c.uuid, c.name, c.fingerprint_sha256, c.fingerprint_sha1, c.cert_expiry, \
        c.cert_subject, c.key_sealed IS NOT NULL AS has_key, c.key_type, c.managed";

    /// What the store keeps of a pair besides its facts.
    #[derive(Clone, Debug)]
    pub struct CertificateRecord {
        pub pair: CertificateKeyPair,
        pub certificate_data: String,
        pub key_sealed: Option<String>,
    }

    fn decode(row: &AnyRow) -> Result<CertificateKeyPair> {
        let has_key = codec::flag(row, "has_key")?;
        Ok(CertificateKeyPair {
            pk: codec::uuid(
                "certificate_keypairs",
                "uuid",
                &row.try_get::<String, _>("uuid")?,
            )?,
            name: row.try_get("name")?,
            fingerprint_sha256: row.try_get("fingerprint_sha256")?,
            fingerprint_sha1: row.try_get("fingerprint_sha1")?,
            cert_expiry: codec::ts(
                "certificate_keypairs",
                "cert_expiry",
                &row.try_get::<String, _>("cert_expiry")?,
            )?,
            cert_subject: row.try_get("cert_subject")?,
            private_key_available: has_key,
            key_type: row.try_get("key_type")?,
            managed: row.try_get("managed")?,
        })
    }

    #[derive(Clone, Debug, Default)]
    pub struct Filter {
        pub search: Option<String>,
        pub only: Option<Vec<String>>,
        pub name: Option<String>,
        pub has_key: Option<bool>,
        pub managed: Option<String>,
    }

    pub async fn list(
        conn: &mut AnyConnection,
        filter: &Filter,
        paging: Paging,
    ) -> Result<(Vec<CertificateKeyPair>, u64)> {
        let mut w = Where::new();
        if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
            w.search(&["c.name"], term);
        }
        if let Some(only) = &filter.only {
            w.within("c.uuid", only);
        }
        if let Some(name) = &filter.name {
            let p = w.arg(Bind::Text(name.clone()));
            w.and(format!("c.name = {p}"));
        }
        if let Some(has_key) = filter.has_key {
            w.and(if has_key {
                "c.key_sealed IS NOT NULL".into()
            } else {
                "c.key_sealed IS NULL".into()
            });
        }
        if let Some(managed) = &filter.managed {
            let p = w.arg(Bind::Text(managed.clone()));
            w.and(format!("c.managed = {p}"));
        }
        count_and_page(
            conn,
            w,
            "certificate_keypairs c",
            COLUMNS,
            "c.uuid",
            paging,
            decode,
        )
        .await
    }

    pub async fn get(conn: &mut AnyConnection, uuid: Uuid) -> Result<Option<CertificateRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS}, c.certificate_data, c.key_sealed FROM certificate_keypairs c WHERE c.uuid = $1"
        )))
        .bind(uuid.to_string())
        .fetch_optional(conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(CertificateRecord {
            pair: decode(&row)?,
            certificate_data: row.try_get("certificate_data")?,
            key_sealed: row.try_get("key_sealed")?,
        }))
    }

    pub async fn name_taken(
        conn: &mut AnyConnection,
        name: &str,
        except: Option<Uuid>,
    ) -> Result<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT uuid FROM certificate_keypairs WHERE name = $1")
                .bind(name.to_owned())
                .fetch_optional(conn)
                .await?;
        Ok(found.is_some_and(|u| Some(u) != except.map(|e| e.to_string())))
    }

    /// Which of `uuids` exist.
    pub async fn existing(conn: &mut AnyConnection, uuids: &[Uuid]) -> Result<Vec<Uuid>> {
        super::existing_uuids(conn, "certificate_keypairs", uuids).await
    }

    /// Inserts or rewrites a pair (found by UUID).
    pub async fn upsert(tx: &mut Tx, record: &CertificateRecord, now: DateTime<Utc>) -> Result<()> {
        let conn = tx.conn();
        let pair = &record.pair;
        sqlx::query(
            "INSERT INTO certificate_keypairs (uuid, name, certificate_data, key_sealed, \
             fingerprint_sha256, fingerprint_sha1, cert_expiry, cert_subject, key_type, managed, \
             created, last_updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
             ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, \
             certificate_data = excluded.certificate_data, key_sealed = excluded.key_sealed, \
             fingerprint_sha256 = excluded.fingerprint_sha256, \
             fingerprint_sha1 = excluded.fingerprint_sha1, cert_expiry = excluded.cert_expiry, \
             cert_subject = excluded.cert_subject, key_type = excluded.key_type, \
             managed = excluded.managed, last_updated = excluded.last_updated",
        )
        .bind(pair.pk.to_string())
        .bind(pair.name.clone())
        .bind(record.certificate_data.clone())
        .bind(record.key_sealed.clone())
        .bind(pair.fingerprint_sha256.clone())
        .bind(pair.fingerprint_sha1.clone())
        .bind(format_ts(&pair.cert_expiry))
        .bind(pair.cert_subject.clone())
        .bind(pair.key_type.clone())
        .bind(pair.managed.clone())
        .bind(format_ts(&now))
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn delete(tx: &mut Tx, uuid: Uuid) -> Result<bool> {
        let conn = tx.conn();
        let done = sqlx::query("DELETE FROM certificate_keypairs WHERE uuid = $1")
            .bind(uuid.to_string())
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

async fn existing_uuids(
    conn: &mut AnyConnection,
    table: &'static str,
    uuids: &[Uuid],
) -> Result<Vec<Uuid>> {
    if uuids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT uuid FROM {table} WHERE uuid IN {}",
        in_list(1, uuids.len())
    );
    let mut query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
    for uuid in uuids {
        query = query.bind(uuid.to_string());
    }
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|u| codec::uuid(table, "uuid", u))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Providers

pub mod providers {
    use super::*;

    pub const ORDERING: &[(&str, &str, Ties)] =
        &[("name", "p.name", Ties::None), ("pk", "p.id", Ties::None)];
    pub const DEFAULT_ORDERING: Ordering = Ordering {
        column: "p.name",
        descending: false,
        ties: Ties::None,
    };

    /// A provider as stored: the fields all kinds share, the kind's own settings (without
    /// secrets) and its secrets, sealed.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ProviderRecord {
        pub pk: i64,
        pub name: String,
        pub kind: ProviderKind,
        pub authentication_flow: Option<Uuid>,
        pub authorization_flow: Option<Uuid>,
        pub invalidation_flow: Option<Uuid>,
        pub property_mappings: Vec<Uuid>,
        pub certificate: Option<Uuid>,
        pub settings: Map<String, Value>,
        pub secrets_sealed: Option<String>,
        /// The application it serves: (slug, name).
        pub application: Option<(String, String)>,
        pub backchannel_application: Option<(String, String)>,
        pub outposts: Vec<Uuid>,
    }

    const COLUMNS: &str = "p.id, p.name, p.kind, p.authentication_flow, p.authorization_flow, \
        p.invalidation_flow, p.property_mappings, p.certificate, p.settings, p.secrets_sealed, \
        a.slug AS app_slug, a.name AS app_name, ba.slug AS back_slug, ba.name AS back_name";
    const FROM: &str = "providers p LEFT JOIN applications a ON a.provider_id = p.id \
        LEFT JOIN application_backchannel_providers abp ON abp.provider_id = p.id \
        LEFT JOIN applications ba ON ba.uuid = abp.application_uuid";

    fn decode(row: &AnyRow) -> Result<ProviderRecord> {
        let t = "providers";
        let kind: String = row.try_get("kind")?;
        let pair = |slug: Option<String>, name: Option<String>| slug.zip(name);
        Ok(ProviderRecord {
            pk: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: ProviderKind::parse(&kind).ok_or_else(|| corrupt(t, "kind", &kind))?,
            authentication_flow: opt_uuid(
                t,
                "authentication_flow",
                row.try_get("authentication_flow")?,
            )?,
            authorization_flow: opt_uuid(
                t,
                "authorization_flow",
                row.try_get("authorization_flow")?,
            )?,
            invalidation_flow: opt_uuid(t, "invalidation_flow", row.try_get("invalidation_flow")?)?,
            property_mappings: uuid_list(
                t,
                "property_mappings",
                &row.try_get::<String, _>("property_mappings")?,
            )?,
            certificate: opt_uuid(t, "certificate", row.try_get("certificate")?)?,
            settings: codec::json_map(t, "settings", &row.try_get::<String, _>("settings")?)?,
            secrets_sealed: row.try_get("secrets_sealed")?,
            application: pair(row.try_get("app_slug")?, row.try_get("app_name")?),
            backchannel_application: pair(row.try_get("back_slug")?, row.try_get("back_name")?),
            outposts: Vec::new(),
        })
    }

    #[derive(Clone, Debug, Default)]
    pub struct Filter {
        pub search: Option<String>,
        pub kind: Option<ProviderKind>,
        /// What the caller may see: every provider of these kinds, and these primary keys
        /// (object permissions); `None` is unrestricted.
        pub visible: Option<(Vec<ProviderKind>, Vec<i64>)>,
        pub name: Option<String>,
        /// `Some(true)`: without an application (as direct or backchannel provider).
        pub application_isnull: Option<bool>,
        /// `Some(true)`: backchannel providers only.
        pub backchannel: Option<bool>,
        /// Only those an outpost serves.
        pub outpost: Option<Uuid>,
    }

    fn filter_sql(filter: &Filter) -> Where {
        let mut w = Where::new();
        if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
            w.search(&["p.name"], term);
        }
        if let Some(kind) = filter.kind {
            let p = w.arg(Bind::Text(kind.as_str().into()));
            w.and(format!("p.kind = {p}"));
        }
        if let Some((kinds, pks)) = &filter.visible {
            let mut any = Vec::new();
            if !kinds.is_empty() {
                let list: Vec<String> = kinds
                    .iter()
                    .map(|k| w.arg(Bind::Text(k.as_str().into())))
                    .collect();
                any.push(format!("p.kind IN ({})", list.join(", ")));
            }
            if !pks.is_empty() {
                let list: Vec<String> = pks.iter().map(|id| w.arg(Bind::Int(*id))).collect();
                any.push(format!("p.id IN ({})", list.join(", ")));
            }
            if any.is_empty() {
                w.and("1 = 0".into());
            } else {
                w.and(format!("({})", any.join(" OR ")));
            }
        }
        if let Some(name) = &filter.name {
            let p = w.arg(Bind::Text(name.clone()));
            w.and(format!("p.name = {p}"));
        }
        match filter.application_isnull {
            Some(true) => w.and("a.uuid IS NULL AND abp.application_uuid IS NULL".into()),
            Some(false) => w.and("(a.uuid IS NOT NULL OR abp.application_uuid IS NOT NULL)".into()),
            None => {}
        }
        match filter.backchannel {
            Some(true) => w.and("abp.application_uuid IS NOT NULL".into()),
            Some(false) => w.and("abp.application_uuid IS NULL".into()),
            None => {}
        }
        if let Some(outpost) = filter.outpost {
            let p = w.arg(Bind::Text(outpost.to_string()));
            w.and(format!(
                "p.id IN (SELECT provider_id FROM outpost_providers WHERE outpost_uuid = {p})"
            ));
        }
        w
    }

    pub async fn list(
        conn: &mut AnyConnection,
        filter: &Filter,
        paging: Paging,
    ) -> Result<(Vec<ProviderRecord>, u64)> {
        let w = filter_sql(filter);
        let (mut items, count) =
            count_and_page(conn, w, FROM, COLUMNS, "p.id", paging, decode).await?;
        attach_outposts(conn, &mut items).await?;
        Ok((items, count))
    }

    pub async fn get(conn: &mut AnyConnection, pk: i64) -> Result<Option<ProviderRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE p.id = $1"
        )))
        .bind(pk)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut items = vec![decode(&row)?];
        attach_outposts(conn, &mut items).await?;
        Ok(items.pop())
    }

    /// The providers `pks` (those that exist), without the outposts serving each: the summary
    /// shapes (an outpost's `providers_obj`) do not show them, and a provider behind a
    /// thousand outposts would cost a thousand rows per summary.
    pub async fn summaries(conn: &mut AnyConnection, pks: &[i64]) -> Result<Vec<ProviderRecord>> {
        if pks.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE p.id IN {} ORDER BY p.id",
            in_list(1, pks.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for pk in pks {
            query = query.bind(*pk);
        }
        query.fetch_all(conn).await?.iter().map(decode).collect()
    }

    /// Which providers each of `outposts` serves (outpost, provider id), and those providers
    /// once each (summaries, as [`summaries`] reads them, by id): one query for what a page
    /// of outposts shows of their providers.
    pub async fn serving_summaries(
        conn: &mut AnyConnection,
        outposts: &[Uuid],
    ) -> Result<(Vec<(Uuid, i64)>, Vec<ProviderRecord>)> {
        if outposts.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        // The provider joins of FROM, led by the outposts' links.
        let from = FROM.replacen(
            "providers p",
            "outpost_providers op JOIN providers p ON p.id = op.provider_id",
            1,
        );
        let sql = format!(
            "SELECT op.outpost_uuid, {COLUMNS} FROM {from} WHERE op.outpost_uuid IN {} ORDER BY p.id",
            in_list(1, outposts.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for uuid in outposts {
            query = query.bind(uuid.to_string());
        }
        let mut links = Vec::new();
        let mut providers: Vec<ProviderRecord> = Vec::new();
        for row in query.fetch_all(conn).await? {
            let outpost: String = row.try_get("outpost_uuid")?;
            let outpost = codec::uuid("outpost_providers", "outpost_uuid", &outpost)?;
            let id: i64 = row.try_get("id")?;
            // Rows come by provider: a provider serving many outposts is decoded once.
            if providers.last().is_none_or(|last| last.pk != id) {
                providers.push(decode(&row)?);
            }
            links.push((outpost, id));
        }
        Ok((links, providers))
    }

    async fn attach_outposts(conn: &mut AnyConnection, items: &mut [ProviderRecord]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT provider_id, outpost_uuid FROM outpost_providers WHERE provider_id IN {} ORDER BY outpost_uuid",
            in_list(1, items.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for item in items.iter() {
            query = query.bind(item.pk);
        }
        let mut by_provider: HashMap<i64, Vec<Uuid>> = HashMap::new();
        for row in query.fetch_all(conn).await? {
            let uuid: String = row.try_get(1)?;
            by_provider
                .entry(row.try_get(0)?)
                .or_default()
                .push(codec::uuid("outpost_providers", "outpost_uuid", &uuid)?);
        }
        for item in items.iter_mut() {
            item.outposts = by_provider.remove(&item.pk).unwrap_or_default();
        }
        Ok(())
    }

    pub async fn name_taken(
        conn: &mut AnyConnection,
        name: &str,
        except: Option<i64>,
    ) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM providers WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(conn)
            .await?;
        Ok(found.is_some_and(|id| Some(id) != except))
    }

    /// The kinds of the providers `pks` that exist, by primary key.
    pub async fn kinds(
        conn: &mut AnyConnection,
        pks: &[i64],
    ) -> Result<HashMap<i64, ProviderKind>> {
        if pks.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT id, kind FROM providers WHERE id IN {}",
            in_list(1, pks.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for pk in pks {
            query = query.bind(*pk);
        }
        let mut kinds = HashMap::new();
        for row in query.fetch_all(conn).await? {
            let kind: String = row.try_get(1)?;
            kinds.insert(
                row.try_get::<i64, _>(0)?,
                ProviderKind::parse(&kind).ok_or_else(|| corrupt("providers", "kind", &kind))?,
            );
        }
        Ok(kinds)
    }

    /// The providers using certificate `uuid`.
    pub async fn using_certificate(conn: &mut AnyConnection, uuid: Uuid) -> Result<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM providers WHERE certificate = $1 ORDER BY id")
                .bind(uuid.to_string())
                .fetch_all(conn)
                .await?,
        )
    }

    pub async fn insert(tx: &mut Tx, record: &ProviderRecord, now: DateTime<Utc>) -> Result<i64> {
        let conn = tx.conn();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO providers (name, kind, authentication_flow, authorization_flow, \
             invalidation_flow, property_mappings, certificate, settings, secrets_sealed, created, \
             last_updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        )
        .bind(record.name.clone())
        .bind(record.kind.as_str())
        .bind(record.authentication_flow.map(|u| u.to_string()))
        .bind(record.authorization_flow.map(|u| u.to_string()))
        .bind(record.invalidation_flow.map(|u| u.to_string()))
        .bind(json_text(&record.property_mappings))
        .bind(record.certificate.map(|u| u.to_string()))
        .bind(codec::map_text(&record.settings))
        .bind(record.secrets_sealed.clone())
        .bind(format_ts(&now))
        .fetch_one(conn)
        .await?;
        Ok(id)
    }

    pub async fn update(tx: &mut Tx, record: &ProviderRecord, now: DateTime<Utc>) -> Result<()> {
        let conn = tx.conn();
        sqlx::query(
            "UPDATE providers SET name = $2, authentication_flow = $3, authorization_flow = $4, \
             invalidation_flow = $5, property_mappings = $6, certificate = $7, settings = $8, \
             secrets_sealed = $9, last_updated = $10 WHERE id = $1",
        )
        .bind(record.pk)
        .bind(record.name.clone())
        .bind(record.authentication_flow.map(|u| u.to_string()))
        .bind(record.authorization_flow.map(|u| u.to_string()))
        .bind(record.invalidation_flow.map(|u| u.to_string()))
        .bind(json_text(&record.property_mappings))
        .bind(record.certificate.map(|u| u.to_string()))
        .bind(codec::map_text(&record.settings))
        .bind(record.secrets_sealed.clone())
        .bind(format_ts(&now))
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn delete(tx: &mut Tx, pk: i64) -> Result<bool> {
        let conn = tx.conn();
        let done = sqlx::query("DELETE FROM providers WHERE id = $1")
            .bind(pk)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

// ---------------------------------------------------------------------------------------------
// Applications

pub mod applications {
    use super::*;

    pub const ORDERING: &[(&str, &str, Ties)] = &[
        ("name", "a.name", Ties::Possible),
        ("slug", "a.slug", Ties::None),
        ("group", "a.group_name", Ties::Possible),
    ];
    pub const DEFAULT_ORDERING: Ordering = Ordering {
        column: "a.name",
        descending: false,
        ties: Ties::Possible,
    };

    const COLUMNS: &str = "a.uuid, a.name, a.slug, a.provider_id, a.meta_launch_url, a.meta_icon, \
        a.meta_description, a.meta_publisher, a.open_in_new_tab, a.meta_hide, a.group_name, \
        a.policy_engine_mode";

    fn decode(row: &AnyRow) -> Result<Application> {
        let t = "applications";
        let mode: String = row.try_get("policy_engine_mode")?;
        Ok(Application {
            pk: codec::uuid(t, "uuid", &row.try_get::<String, _>("uuid")?)?,
            name: row.try_get("name")?,
            slug: row.try_get("slug")?,
            provider: row.try_get("provider_id")?,
            backchannel_providers: Vec::new(),
            open_in_new_tab: codec::flag(row, "open_in_new_tab")?,
            meta_launch_url: row.try_get("meta_launch_url")?,
            meta_icon: row.try_get("meta_icon")?,
            meta_description: row.try_get("meta_description")?,
            meta_publisher: row.try_get("meta_publisher")?,
            policy_engine_mode: PolicyEngineMode::parse(&mode)
                .ok_or_else(|| corrupt(t, "policy_engine_mode", &mode))?,
            group: row.try_get("group_name")?,
            meta_hide: codec::flag(row, "meta_hide")?,
        })
    }

    #[derive(Clone, Debug, Default)]
    pub struct Filter {
        pub search: Option<String>,
        pub only: Option<Vec<String>>,
        pub name: Option<String>,
        pub slug: Option<String>,
        pub group: Option<String>,
    }

    pub async fn list(
        conn: &mut AnyConnection,
        filter: &Filter,
        paging: Paging,
    ) -> Result<(Vec<Application>, u64)> {
        let mut w = Where::new();
        if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
            w.search(
                &["a.name", "a.slug", "a.meta_publisher", "a.meta_description"],
                term,
            );
        }
        if let Some(only) = &filter.only {
            w.within("a.uuid", only);
        }
        for (column, value) in [
            ("a.name", &filter.name),
            ("a.slug", &filter.slug),
            ("a.group_name", &filter.group),
        ] {
            if let Some(value) = value {
                let p = w.arg(Bind::Text(value.clone()));
                w.and(format!("{column} = {p}"));
            }
        }
        let (mut items, count) =
            count_and_page(conn, w, "applications a", COLUMNS, "a.uuid", paging, decode).await?;
        attach_backchannels(conn, &mut items).await?;
        Ok((items, count))
    }

    pub async fn get_by_slug(conn: &mut AnyConnection, slug: &str) -> Result<Option<Application>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM applications a WHERE a.slug = $1"
        )))
        .bind(slug.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut items = vec![decode(&row)?];
        attach_backchannels(conn, &mut items).await?;
        Ok(items.pop())
    }

    async fn attach_backchannels(
        conn: &mut AnyConnection,
        items: &mut [Application],
    ) -> Result<()> {
        let keys: Vec<String> = items.iter().map(|item| item.pk.to_string()).collect();
        let mut by_app = linked_ids(
            conn,
            "application_backchannel_providers",
            "application_uuid",
            "provider_id",
            &keys,
        )
        .await?;
        for item in items.iter_mut() {
            item.backchannel_providers = by_app.remove(&item.pk.to_string()).unwrap_or_default();
        }
        Ok(())
    }

    pub async fn slug_taken(
        conn: &mut AnyConnection,
        slug: &str,
        except: Option<Uuid>,
    ) -> Result<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT uuid FROM applications WHERE slug = $1")
                .bind(slug.to_owned())
                .fetch_optional(conn)
                .await?;
        Ok(found.is_some_and(|u| Some(u) != except.map(|e| e.to_string())))
    }

    /// The application (other than `except`) that already uses provider `pk`, directly or
    /// as a backchannel provider.
    pub async fn provider_user(
        conn: &mut AnyConnection,
        pk: i64,
        except: Option<Uuid>,
    ) -> Result<Option<String>> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT slug FROM applications WHERE provider_id = $1 AND uuid <> $2 \
             UNION SELECT a.slug FROM application_backchannel_providers abp \
             JOIN applications a ON a.uuid = abp.application_uuid \
             WHERE abp.provider_id = $1 AND abp.application_uuid <> $2",
        )
        .bind(pk)
        .bind(except.map(|u| u.to_string()).unwrap_or_default())
        .fetch_optional(conn)
        .await?;
        Ok(found)
    }

    pub async fn upsert(tx: &mut Tx, app: &Application, now: DateTime<Utc>) -> Result<()> {
        let conn = tx.conn();
        sqlx::query(
            "INSERT INTO applications (uuid, name, slug, provider_id, meta_launch_url, meta_icon, \
             meta_description, meta_publisher, open_in_new_tab, meta_hide, group_name, \
             policy_engine_mode, created, last_updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
             ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, slug = excluded.slug, \
             provider_id = excluded.provider_id, meta_launch_url = excluded.meta_launch_url, \
             meta_icon = excluded.meta_icon, meta_description = excluded.meta_description, \
             meta_publisher = excluded.meta_publisher, open_in_new_tab = excluded.open_in_new_tab, \
             meta_hide = excluded.meta_hide, group_name = excluded.group_name, \
             policy_engine_mode = excluded.policy_engine_mode, last_updated = excluded.last_updated",
        )
        .bind(app.pk.to_string())
        .bind(app.name.clone())
        .bind(app.slug.clone())
        .bind(app.provider)
        .bind(app.meta_launch_url.clone())
        .bind(app.meta_icon.clone())
        .bind(app.meta_description.clone())
        .bind(app.meta_publisher.clone())
        .bind(app.open_in_new_tab)
        .bind(app.meta_hide)
        .bind(app.group.clone())
        .bind(app.policy_engine_mode.as_str())
        .bind(format_ts(&now))
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM application_backchannel_providers WHERE application_uuid = $1")
            .bind(app.pk.to_string())
            .execute(&mut *conn)
            .await?;
        for provider in &app.backchannel_providers {
            sqlx::query(
                "INSERT INTO application_backchannel_providers (application_uuid, provider_id) VALUES ($1, $2)",
            )
            .bind(app.pk.to_string())
            .bind(*provider)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    pub async fn delete(tx: &mut Tx, uuid: Uuid) -> Result<bool> {
        let conn = tx.conn();
        let done = sqlx::query("DELETE FROM applications WHERE uuid = $1")
            .bind(uuid.to_string())
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

// ---------------------------------------------------------------------------------------------
// Service connections

pub mod service_connections {
    use super::*;

    pub const ORDERING: &[(&str, &str, Ties)] =
        &[("name", "s.name", Ties::None), ("pk", "s.uuid", Ties::None)];
    pub const DEFAULT_ORDERING: Ordering = Ordering {
        column: "s.name",
        descending: false,
        ties: Ties::None,
    };

    const COLUMNS: &str = "s.uuid, s.name, s.kind, s.local, s.url, s.tls_verification, \
        s.tls_authentication, s.kubeconfig_sealed IS NOT NULL AS has_kubeconfig, s.verify_ssl";

    #[derive(Clone, Debug)]
    pub struct ConnectionRecord {
        pub connection: ServiceConnection,
        pub kubeconfig_sealed: Option<String>,
    }

    fn decode(row: &AnyRow) -> Result<ServiceConnection> {
        let t = "service_connections";
        let kind: String = row.try_get("kind")?;
        Ok(ServiceConnection {
            pk: codec::uuid(t, "uuid", &row.try_get::<String, _>("uuid")?)?,
            name: row.try_get("name")?,
            kind: ServiceConnectionKind::parse(&kind).ok_or_else(|| corrupt(t, "kind", &kind))?,
            local: codec::flag(row, "local")?,
            url: row.try_get("url")?,
            tls_verification: opt_uuid(t, "tls_verification", row.try_get("tls_verification")?)?,
            tls_authentication: opt_uuid(
                t,
                "tls_authentication",
                row.try_get("tls_authentication")?,
            )?,
            has_kubeconfig: codec::flag(row, "has_kubeconfig")?,
            verify_ssl: codec::flag(row, "verify_ssl")?,
        })
    }

    #[derive(Clone, Debug, Default)]
    pub struct Filter {
        pub search: Option<String>,
        pub kind: Option<ServiceConnectionKind>,
        pub only: Option<Vec<String>>,
        pub name: Option<String>,
        pub local: Option<bool>,
        pub url: Option<String>,
        pub tls_verification: Option<Uuid>,
        pub tls_authentication: Option<Uuid>,
    }

    pub async fn list(
        conn: &mut AnyConnection,
        filter: &Filter,
        paging: Paging,
    ) -> Result<(Vec<ServiceConnection>, u64)> {
        let mut w = Where::new();
        if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
            w.search(&["s.name"], term);
        }
        if let Some(kind) = filter.kind {
            let p = w.arg(Bind::Text(kind.as_str().into()));
            w.and(format!("s.kind = {p}"));
        }
        if let Some(only) = &filter.only {
            w.within("s.uuid", only);
        }
        for (column, value) in [
            ("s.name", filter.name.clone()),
            ("s.url", filter.url.clone()),
            (
                "s.tls_verification",
                filter.tls_verification.map(|u| u.to_string()),
            ),
            (
                "s.tls_authentication",
                filter.tls_authentication.map(|u| u.to_string()),
            ),
        ] {
            if let Some(value) = value {
                let p = w.arg(Bind::Text(value));
                w.and(format!("{column} = {p}"));
            }
        }
        if let Some(local) = filter.local {
            w.and(format!(
                "s.local = {}",
                if local { "TRUE" } else { "FALSE" }
            ));
        }
        count_and_page(
            conn,
            w,
            "service_connections s",
            COLUMNS,
            "s.uuid",
            paging,
            decode,
        )
        .await
    }

    pub async fn get(conn: &mut AnyConnection, uuid: Uuid) -> Result<Option<ConnectionRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS}, s.kubeconfig_sealed FROM service_connections s WHERE s.uuid = $1"
        )))
        .bind(uuid.to_string())
        .fetch_optional(conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ConnectionRecord {
            connection: decode(&row)?,
            kubeconfig_sealed: row.try_get("kubeconfig_sealed")?,
        }))
    }

    pub async fn name_taken(
        conn: &mut AnyConnection,
        name: &str,
        except: Option<Uuid>,
    ) -> Result<bool> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT uuid FROM service_connections WHERE name = $1")
                .bind(name.to_owned())
                .fetch_optional(conn)
                .await?;
        Ok(found.is_some_and(|u| Some(u) != except.map(|e| e.to_string())))
    }

    /// The connections among `uuids` (without their sealed secrets), in one query.
    pub async fn many(conn: &mut AnyConnection, uuids: &[Uuid]) -> Result<Vec<ServiceConnection>> {
        if uuids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM service_connections s WHERE s.uuid IN {}",
            in_list(1, uuids.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for uuid in uuids {
            query = query.bind(uuid.to_string());
        }
        query.fetch_all(conn).await?.iter().map(decode).collect()
    }

    /// The first connection of `kind`, by name (the embedded outpost's default).
    pub async fn first_of(
        conn: &mut AnyConnection,
        kind: ServiceConnectionKind,
    ) -> Result<Option<Uuid>> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT uuid FROM service_connections WHERE kind = $1 ORDER BY name LIMIT 1",
        )
        .bind(kind.as_str())
        .fetch_optional(conn)
        .await?;
        opt_uuid("service_connections", "uuid", found)
    }

    /// Connections using certificate `uuid` for TLS.
    pub async fn using_certificate(conn: &mut AnyConnection, uuid: Uuid) -> Result<Vec<Uuid>> {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT uuid FROM service_connections WHERE tls_verification = $1 OR tls_authentication = $1",
        )
        .bind(uuid.to_string())
        .fetch_all(conn)
        .await?;
        found
            .iter()
            .map(|u| codec::uuid("service_connections", "uuid", u))
            .collect()
    }

    pub async fn upsert(tx: &mut Tx, record: &ConnectionRecord, now: DateTime<Utc>) -> Result<()> {
        let conn = tx.conn();
        let c = &record.connection;
        sqlx::query(
            "INSERT INTO service_connections (uuid, name, kind, local, url, tls_verification, \
             tls_authentication, kubeconfig_sealed, verify_ssl, created, last_updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, local = excluded.local, \
             url = excluded.url, tls_verification = excluded.tls_verification, \
             tls_authentication = excluded.tls_authentication, \
             kubeconfig_sealed = excluded.kubeconfig_sealed, verify_ssl = excluded.verify_ssl, \
             last_updated = excluded.last_updated",
        )
        .bind(c.pk.to_string())
        .bind(c.name.clone())
        .bind(c.kind.as_str())
        .bind(c.local)
        .bind(c.url.clone())
        .bind(c.tls_verification.map(|u| u.to_string()))
        .bind(c.tls_authentication.map(|u| u.to_string()))
        .bind(record.kubeconfig_sealed.clone())
        .bind(c.verify_ssl)
        .bind(format_ts(&now))
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn delete(tx: &mut Tx, uuid: Uuid) -> Result<bool> {
        let conn = tx.conn();
        let done = sqlx::query("DELETE FROM service_connections WHERE uuid = $1")
            .bind(uuid.to_string())
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

// ---------------------------------------------------------------------------------------------
// Outposts

pub mod outposts {
    use super::*;

    pub const ORDERING: &[(&str, &str, Ties)] = &[
        ("name", "o.name", Ties::None),
        ("type", "o.type", Ties::Possible),
        ("service_connection__name", "sc.name", Ties::Possible),
        ("pk", "o.uuid", Ties::None),
    ];
    pub const DEFAULT_ORDERING: Ordering = Ordering {
        column: "o.name",
        descending: false,
        ties: Ties::None,
    };

    const COLUMNS: &str = "o.uuid, o.name, o.type, o.service_connection, o.config, o.managed, \
        o.deploy_state, o.expansion_error, o.config_hash";
    const FROM: &str =
        "outposts o LEFT JOIN service_connections sc ON sc.uuid = o.service_connection";

    fn decode(row: &AnyRow) -> Result<Outpost> {
        let t = "outposts";
        let kind: String = row.try_get("type")?;
        Ok(Outpost {
            pk: codec::uuid(t, "uuid", &row.try_get::<String, _>("uuid")?)?,
            name: row.try_get("name")?,
            outpost_type: ProviderKind::parse(&kind).ok_or_else(|| corrupt(t, "type", &kind))?,
            providers: Vec::new(),
            service_connection: opt_uuid(
                t,
                "service_connection",
                row.try_get("service_connection")?,
            )?,
            config: codec::json_map(t, "config", &row.try_get::<String, _>("config")?)?,
            managed: row.try_get("managed")?,
            deploy_state: codec::json(
                t,
                "deploy_state",
                &row.try_get::<String, _>("deploy_state")?,
            )?,
            expansion_error: row.try_get("expansion_error")?,
            config_hash: row.try_get("config_hash")?,
        })
    }

    /// Filters of authentik's `OutpostFilter`.
    #[derive(Clone, Debug, Default)]
    pub struct Filter {
        pub search: Option<String>,
        pub only: Option<Vec<String>>,
        pub name_iexact: Option<String>,
        pub name_icontains: Option<String>,
        pub managed_iexact: Option<String>,
        pub managed_icontains: Option<String>,
        pub service_connection_name_iexact: Option<String>,
        pub service_connection_name_icontains: Option<String>,
        pub providers_isnull: Option<bool>,
        pub providers_by_pk: Vec<i64>,
        /// Outposts serving this provider.
        pub provider: Option<i64>,
        pub service_connection: Option<Uuid>,
    }

    fn like(w: &mut Where, column: &str, term: &str) {
        let pattern = format!(
            "%{}%",
            term.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let p = w.arg(Bind::Text(pattern));
        w.and(format!("LOWER({column}) LIKE {p} ESCAPE '\\'"));
    }

    fn iexact(w: &mut Where, column: &str, value: &str) {
        let p = w.arg(Bind::Text(value.to_lowercase()));
        w.and(format!("LOWER({column}) = {p}"));
    }

    /// A page of outposts and how many match; `known_count` (kept from an earlier list with
    /// the same filter and no write since) spares counting them again.
    pub async fn list(
        conn: &mut AnyConnection,
        filter: &Filter,
        paging: Paging,
        known_count: Option<u64>,
    ) -> Result<(Vec<Outpost>, u64)> {
        let (mut items, count) = counted_page(
            conn,
            filter_where(filter),
            FROM,
            COLUMNS,
            "o.uuid",
            paging,
            known_count,
            decode,
        )
        .await?;
        attach_providers(conn, &mut items).await?;
        Ok((items, count))
    }

    fn filter_where(filter: &Filter) -> Where {
        let mut w = Where::new();
        if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
            let pattern = format!(
                "%{}%",
                term.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let p = w.arg(Bind::Text(pattern));
            w.and(format!(
                "(LOWER(o.name) LIKE {p} ESCAPE '\\' OR o.uuid IN (SELECT op.outpost_uuid FROM outpost_providers op \
                 JOIN providers pr ON pr.id = op.provider_id WHERE LOWER(pr.name) LIKE {p} ESCAPE '\\'))"
            ));
        }
        if let Some(only) = &filter.only {
            w.within("o.uuid", only);
        }
        if let Some(v) = &filter.name_iexact {
            iexact(&mut w, "o.name", v);
        }
        if let Some(v) = &filter.name_icontains {
            like(&mut w, "o.name", v);
        }
        if let Some(v) = &filter.managed_iexact {
            iexact(&mut w, "COALESCE(o.managed, '')", v);
        }
        if let Some(v) = &filter.managed_icontains {
            like(&mut w, "COALESCE(o.managed, '')", v);
        }
        if let Some(v) = &filter.service_connection_name_iexact {
            iexact(&mut w, "COALESCE(sc.name, '')", v);
        }
        if let Some(v) = &filter.service_connection_name_icontains {
            like(&mut w, "COALESCE(sc.name, '')", v);
        }
        match filter.providers_isnull {
            Some(true) => w.and(
                "NOT EXISTS (SELECT 1 FROM outpost_providers op WHERE op.outpost_uuid = o.uuid)"
                    .into(),
            ),
            Some(false) => w.and(
                "EXISTS (SELECT 1 FROM outpost_providers op WHERE op.outpost_uuid = o.uuid)".into(),
            ),
            None => {}
        }
        if !filter.providers_by_pk.is_empty() {
            let list: Vec<String> = filter
                .providers_by_pk
                .iter()
                .map(|pk| w.arg(Bind::Int(*pk)))
                .collect();
            w.and(format!(
                "o.uuid IN (SELECT outpost_uuid FROM outpost_providers WHERE provider_id IN ({}))",
                list.join(", ")
            ));
        }
        if let Some(provider) = filter.provider {
            let p = w.arg(Bind::Int(provider));
            w.and(format!(
                "o.uuid IN (SELECT outpost_uuid FROM outpost_providers WHERE provider_id = {p})"
            ));
        }
        if let Some(connection) = filter.service_connection {
            let p = w.arg(Bind::Text(connection.to_string()));
            w.and(format!("o.service_connection = {p}"));
        }
        w
    }

    /// A page of outposts with the providers each serves, in one query less than [`list`]
    /// followed by [`super::providers::summaries`]: what a list of outposts shows.
    pub async fn list_with_providers(
        conn: &mut AnyConnection,
        filter: &Filter,
        paging: Paging,
        known_count: Option<u64>,
    ) -> Result<(Vec<Outpost>, u64, Vec<super::providers::ProviderRecord>)> {
        let (mut items, count) = counted_page(
            conn,
            filter_where(filter),
            FROM,
            COLUMNS,
            "o.uuid",
            paging,
            known_count,
            decode,
        )
        .await?;
        let uuids: Vec<Uuid> = items.iter().map(|o| o.pk).collect();
        let (links, providers) = super::providers::serving_summaries(conn, &uuids).await?;
        let mut by_outpost: HashMap<Uuid, Vec<i64>> = HashMap::new();
        for (outpost, provider) in links {
            by_outpost.entry(outpost).or_default().push(provider);
        }
        for item in &mut items {
            item.providers = by_outpost.remove(&item.pk).unwrap_or_default();
        }
        Ok((items, count, providers))
    }

    pub async fn get(conn: &mut AnyConnection, uuid: Uuid) -> Result<Option<Outpost>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE o.uuid = $1"
        )))
        .bind(uuid.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut items = vec![decode(&row)?];
        attach_providers(conn, &mut items).await?;
        Ok(items.pop())
    }

    pub async fn get_managed(conn: &mut AnyConnection, managed: &str) -> Result<Option<Outpost>> {
        let uuid: Option<String> =
            sqlx::query_scalar("SELECT uuid FROM outposts WHERE managed = $1")
                .bind(managed.to_owned())
                .fetch_optional(&mut *conn)
                .await?;
        match opt_uuid("outposts", "uuid", uuid)? {
            Some(uuid) => get(conn, uuid).await,
            None => Ok(None),
        }
    }

    pub async fn get_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Outpost>> {
        let uuid: Option<String> = sqlx::query_scalar("SELECT uuid FROM outposts WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&mut *conn)
            .await?;
        match opt_uuid("outposts", "uuid", uuid)? {
            Some(uuid) => get(conn, uuid).await,
            None => Ok(None),
        }
    }

    async fn attach_providers(conn: &mut AnyConnection, items: &mut [Outpost]) -> Result<()> {
        let keys: Vec<String> = items.iter().map(|item| item.pk.to_string()).collect();
        let mut by_outpost = linked_ids(
            conn,
            "outpost_providers",
            "outpost_uuid",
            "provider_id",
            &keys,
        )
        .await?;
        for item in items.iter_mut() {
            item.providers = by_outpost.remove(&item.pk.to_string()).unwrap_or_default();
        }
        Ok(())
    }

    pub async fn name_taken(
        conn: &mut AnyConnection,
        name: &str,
        except: Option<Uuid>,
    ) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar("SELECT uuid FROM outposts WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(conn)
            .await?;
        Ok(found.is_some_and(|u| Some(u) != except.map(|e| e.to_string())))
    }

    /// Every outpost's UUID serving any of `providers`.
    pub async fn serving(conn: &mut AnyConnection, providers: &[i64]) -> Result<Vec<Uuid>> {
        if providers.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT outpost_uuid FROM outpost_providers WHERE provider_id IN {}",
            in_list(1, providers.len())
        );
        let mut query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
        for pk in providers {
            query = query.bind(*pk);
        }
        query
            .fetch_all(conn)
            .await?
            .iter()
            .map(|u| codec::uuid("outpost_providers", "outpost_uuid", u))
            .collect()
    }

    /// Outposts deployed through connection `uuid`.
    pub async fn using_connection(conn: &mut AnyConnection, uuid: Uuid) -> Result<Vec<Uuid>> {
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT uuid FROM outposts WHERE service_connection = $1 ORDER BY uuid",
        )
        .bind(uuid.to_string())
        .fetch_all(conn)
        .await?;
        found
            .iter()
            .map(|u| codec::uuid("outposts", "uuid", u))
            .collect()
    }

    /// Every managed outpost (they receive brands' certificates).
    pub async fn managed(conn: &mut AnyConnection) -> Result<Vec<Uuid>> {
        let found: Vec<String> =
            sqlx::query_scalar("SELECT uuid FROM outposts WHERE managed IS NOT NULL ORDER BY uuid")
                .fetch_all(conn)
                .await?;
        found
            .iter()
            .map(|u| codec::uuid("outposts", "uuid", u))
            .collect()
    }

    pub async fn all_uuids(conn: &mut AnyConnection) -> Result<Vec<Uuid>> {
        let found: Vec<String> = sqlx::query_scalar("SELECT uuid FROM outposts ORDER BY uuid")
            .fetch_all(conn)
            .await?;
        found
            .iter()
            .map(|u| codec::uuid("outposts", "uuid", u))
            .collect()
    }

    pub async fn count(conn: &mut AnyConnection) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outposts")
            .fetch_one(conn)
            .await?;
        Ok(n as u64)
    }

    /// Inserts or rewrites an outpost (found by UUID) and its provider links.
    pub async fn upsert(tx: &mut Tx, outpost: &Outpost, now: DateTime<Utc>) -> Result<()> {
        let conn = tx.conn();
        sqlx::query(
            "INSERT INTO outposts (uuid, name, type, service_connection, config, managed, \
             deploy_state, expansion_error, created, last_updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
             ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, type = excluded.type, \
             service_connection = excluded.service_connection, config = excluded.config, \
             managed = excluded.managed, deploy_state = excluded.deploy_state, \
             expansion_error = excluded.expansion_error, last_updated = excluded.last_updated",
        )
        .bind(outpost.pk.to_string())
        .bind(outpost.name.clone())
        .bind(outpost.outpost_type.as_str())
        .bind(outpost.service_connection.map(|u| u.to_string()))
        .bind(codec::map_text(&outpost.config))
        .bind(outpost.managed.clone())
        .bind(outpost.deploy_state.to_string())
        .bind(outpost.expansion_error.clone())
        .bind(format_ts(&now))
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM outpost_providers WHERE outpost_uuid = $1")
            .bind(outpost.pk.to_string())
            .execute(&mut *conn)
            .await?;
        for provider in &outpost.providers {
            sqlx::query(
                "INSERT INTO outpost_providers (outpost_uuid, provider_id) VALUES ($1, $2)",
            )
            .bind(outpost.pk.to_string())
            .bind(*provider)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// Records the outcome of a permission rebuild: why a provider could not be expanded (or
    /// nothing), and the hash of what the outpost now fetches.
    pub async fn set_rebuilt(
        tx: &mut Tx,
        uuid: Uuid,
        error: Option<&str>,
        config_hash: &str,
    ) -> Result<()> {
        let conn = tx.conn();
        sqlx::query("UPDATE outposts SET expansion_error = $2, config_hash = $3 WHERE uuid = $1")
            .bind(uuid.to_string())
            .bind(error.map(str::to_owned))
            .bind(config_hash.to_owned())
            .execute(conn)
            .await?;
        Ok(())
    }

    pub async fn delete(tx: &mut Tx, uuid: Uuid) -> Result<bool> {
        let conn = tx.conn();
        let done = sqlx::query("DELETE FROM outposts WHERE uuid = $1")
            .bind(uuid.to_string())
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

// ---------------------------------------------------------------------------------------------
// Brands

pub mod brands {
    use super::*;

    pub const ORDERING: &[(&str, &str, Ties)] = &[
        ("domain", "b.domain", Ties::None),
        ("default", "b.is_default", Ties::Possible),
    ];
    pub const DEFAULT_ORDERING: Ordering = Ordering {
        column: "b.domain",
        descending: false,
        ties: Ties::None,
    };

    const COLUMNS: &str = "b.uuid, b.domain, b.is_default, b.settings, b.web_certificate, \
        b.client_certificates, b.attributes";

    fn decode(row: &AnyRow) -> Result<Brand> {
        let t = "brands";
        Ok(Brand {
            pk: codec::uuid(t, "uuid", &row.try_get::<String, _>("uuid")?)?,
            domain: row.try_get("domain")?,
            default: codec::flag(row, "is_default")?,
            settings: codec::json_map(t, "settings", &row.try_get::<String, _>("settings")?)?,
            web_certificate: opt_uuid(t, "web_certificate", row.try_get("web_certificate")?)?,
            client_certificates: uuid_list(
                t,
                "client_certificates",
                &row.try_get::<String, _>("client_certificates")?,
            )?,
            attributes: codec::json_map(t, "attributes", &row.try_get::<String, _>("attributes")?)?,
        })
    }

    #[derive(Clone, Debug, Default)]
    pub struct Filter {
        pub search: Option<String>,
        pub only: Option<Vec<String>>,
        pub domain: Option<String>,
        pub default: Option<bool>,
        pub web_certificate: Option<Uuid>,
    }

    pub async fn list(
        conn: &mut AnyConnection,
        filter: &Filter,
        paging: Paging,
    ) -> Result<(Vec<Brand>, u64)> {
        let mut w = Where::new();
        if let Some(term) = filter.search.as_deref().filter(|t| !t.is_empty()) {
            w.search(&["b.domain"], term);
        }
        if let Some(only) = &filter.only {
            w.within("b.uuid", only);
        }
        if let Some(domain) = &filter.domain {
            let p = w.arg(Bind::Text(domain.clone()));
            w.and(format!("b.domain = {p}"));
        }
        if let Some(default) = filter.default {
            w.and(format!(
                "b.is_default = {}",
                if default { "TRUE" } else { "FALSE" }
            ));
        }
        if let Some(certificate) = filter.web_certificate {
            let p = w.arg(Bind::Text(certificate.to_string()));
            w.and(format!("b.web_certificate = {p}"));
        }
        count_and_page(conn, w, "brands b", COLUMNS, "b.uuid", paging, decode).await
    }

    pub async fn get(conn: &mut AnyConnection, uuid: Uuid) -> Result<Option<Brand>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM brands b WHERE b.uuid = $1"
        )))
        .bind(uuid.to_string())
        .fetch_optional(conn)
        .await?;
        row.as_ref().map(decode).transpose()
    }

    pub async fn domain_taken(
        conn: &mut AnyConnection,
        domain: &str,
        except: Option<Uuid>,
    ) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar("SELECT uuid FROM brands WHERE domain = $1")
            .bind(domain.to_owned())
            .fetch_optional(conn)
            .await?;
        Ok(found.is_some_and(|u| Some(u) != except.map(|e| e.to_string())))
    }

    /// The other brand marked default, if any (only one may be).
    pub async fn other_default(
        conn: &mut AnyConnection,
        except: Option<Uuid>,
    ) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT domain FROM brands WHERE is_default = TRUE AND uuid <> $1")
                .bind(except.map(|u| u.to_string()).unwrap_or_default())
                .fetch_optional(conn)
                .await?,
        )
    }

    /// Brands with a web certificate: (brand, certificate).
    pub async fn web_certificates(conn: &mut AnyConnection) -> Result<Vec<(Uuid, Uuid)>> {
        let rows = sqlx::query("SELECT uuid, web_certificate FROM brands WHERE web_certificate IS NOT NULL ORDER BY uuid")
            .fetch_all(conn)
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    codec::uuid("brands", "uuid", &row.try_get::<String, _>(0)?)?,
                    codec::uuid("brands", "web_certificate", &row.try_get::<String, _>(1)?)?,
                ))
            })
            .collect()
    }

    pub async fn upsert(tx: &mut Tx, brand: &Brand, now: DateTime<Utc>) -> Result<()> {
        let conn = tx.conn();
        sqlx::query(
            "INSERT INTO brands (uuid, domain, is_default, settings, web_certificate, \
             client_certificates, attributes, created, last_updated) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (uuid) DO UPDATE SET domain = excluded.domain, \
             is_default = excluded.is_default, settings = excluded.settings, \
             web_certificate = excluded.web_certificate, \
             client_certificates = excluded.client_certificates, \
             attributes = excluded.attributes, last_updated = excluded.last_updated",
        )
        .bind(brand.pk.to_string())
        .bind(brand.domain.clone())
        .bind(brand.default)
        .bind(codec::map_text(&brand.settings))
        .bind(brand.web_certificate.map(|u| u.to_string()))
        .bind(json_text(&brand.client_certificates))
        .bind(codec::map_text(&brand.attributes))
        .bind(format_ts(&now))
        .execute(conn)
        .await?;
        Ok(())
    }

    pub async fn delete(tx: &mut Tx, uuid: Uuid) -> Result<bool> {
        let conn = tx.conn();
        let done = sqlx::query("DELETE FROM brands WHERE uuid = $1")
            .bind(uuid.to_string())
            .execute(conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
