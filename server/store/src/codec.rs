//! Conversions between Rust values and the portable column encodings (text timestamps, text
//! UUIDs, JSON text).
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{Result, StoreError};

/// Fixed-width RFC 3339 with microseconds, so text order is time order on both stores.
pub fn format_ts(ts: &DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_ts(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn ts(table: &'static str, column: &'static str, value: &str) -> Result<DateTime<Utc>> {
    parse_ts(value).ok_or_else(|| StoreError::Corrupt {
        table,
        column,
        detail: format!("not a timestamp: {value:?}"),
    })
}

pub(crate) fn opt_ts(
    table: &'static str,
    column: &'static str,
    value: Option<String>,
) -> Result<Option<DateTime<Utc>>> {
    value.map(|v| ts(table, column, &v)).transpose()
}

pub(crate) fn uuid(table: &'static str, column: &'static str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value).map_err(|e| StoreError::Corrupt {
        table,
        column,
        detail: e.to_string(),
    })
}

/// A JSON object as its column holds it: the text [`json_map`] reads back.
pub(crate) fn map_text(map: &Map<String, Value>) -> String {
    // Serializing JSON values into a string cannot fail.
    serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) fn json_map(
    table: &'static str,
    column: &'static str,
    value: &str,
) -> Result<Map<String, Value>> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt {
        table,
        column,
        detail: e.to_string(),
    })
}

pub(crate) fn json(table: &'static str, column: &'static str, value: &str) -> Result<Value> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt {
        table,
        column,
        detail: e.to_string(),
    })
}

/// A flag column: BOOLEAN on PostgreSQL, INTEGER 0/1 on SQLite (sqlx's Any driver cannot
/// decode SQLite's BOOLEAN affinity).
pub(crate) fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool> {
    use sqlx::Row;
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}
