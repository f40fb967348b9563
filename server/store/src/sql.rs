//! A small builder for the dynamic parts of list queries (filters, search, ordering, paging)
//! and the parameters of multi-row statements.
//! Values are always bound; only whitelisted column names are ever written into SQL text.
use std::fmt::Write as _;

use sqlx::Arguments as _;
use sqlx::any::AnyArguments;
use sqlx::encode::Encode;
use sqlx::error::BoxDynError;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::types::Type;
use sqlx::{Any, AssertSqlSafe};

#[derive(Clone, Debug)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// An ordering that the caller has validated against a model's sortable fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ordering {
    pub column: &'static str,
    pub descending: bool,
    pub ties: Ties,
}

/// Whether two rows can share a place in an ordering by one column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ties {
    /// The column is unique and NOT NULL: it orders every row alone, so a page needs no
    /// tiebreak and the database can walk the column's unique index (with a tiebreak
    /// PostgreSQL sorts the rows again, the outposts list's second-dearest step).
    None,
    /// Rows may tie; the table's key breaks the ties so pages neither repeat nor skip rows.
    Possible,
}

/// A model's sortable fields: (API name, column, whether rows can tie on it).
pub type OrderFields = [(&'static str, &'static str, Ties)];

impl Ordering {
    /// Resolves `field` or `-field` against a model's sortable fields; `None` when unknown.
    pub fn resolve(spec: &str, fields: &OrderFields) -> Option<Ordering> {
        let (name, descending) = match spec.strip_prefix('-') {
            Some(rest) => (rest, true),
            None => (spec, false),
        };
        fields
            .iter()
            .find(|(api, _, _)| *api == name)
            .map(|&(_, column, ties)| Ordering {
                column,
                descending,
                ties,
            })
    }

    fn sql(&self) -> String {
        format!(
            "{} {}",
            self.column,
            if self.descending { "DESC" } else { "ASC" }
        )
    }
}

/// WHERE clauses with their bound values, numbered `$1, $2, …` in the order they are added.
#[derive(Clone, Debug, Default)]
pub struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a placeholder for `value` and returns it (`$n`).
    pub fn arg(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    pub fn and(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// Case-insensitive substring match over any of `columns`.
    pub fn search(&mut self, columns: &[&str], term: &str) {
        let pattern = format!("%{}%", escape_like(&term.to_lowercase()));
        let p = self.arg(Bind::Text(pattern));
        let any: Vec<String> = columns
            .iter()
            .map(|c| format!("LOWER({c}) LIKE {p} ESCAPE '\\'"))
            .collect();
        self.and(format!("({})", any.join(" OR ")));
    }

    /// `column IN (…)`; an empty list matches nothing.
    pub fn within(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            self.and("1 = 0".into());
            return;
        }
        // As [`in_list`] writes it, for the same reason.
        let rows: Vec<String> = values
            .iter()
            .map(|v| format!("({})", self.arg(Bind::Text(v.clone()))))
            .collect();
        self.and(format!("{column} IN (VALUES {})", rows.join(", ")));
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// `ORDER BY … LIMIT … OFFSET …`, with `tiebreak` so pages are stable.
    pub fn page_sql(
        &mut self,
        ordering: Ordering,
        tiebreak: &str,
        limit: u64,
        offset: u64,
    ) -> String {
        let limit = self.arg(Bind::Int(limit as i64));
        let offset = self.arg(Bind::Int(offset as i64));
        match ordering.ties {
            Ties::None => format!(" ORDER BY {} LIMIT {limit} OFFSET {offset}", ordering.sql()),
            Ties::Possible => format!(
                " ORDER BY {}, {tiebreak} LIMIT {limit} OFFSET {offset}",
                ordering.sql()
            ),
        }
    }

    pub fn query(&self, sql: String) -> Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in &self.binds {
            query = match bind {
                Bind::Text(v) => query.bind(v.clone()),
                Bind::Int(v) => query.bind(*v),
            };
        }
        query
    }

    pub fn query_scalar<T>(&self, sql: String) -> QueryScalar<'static, Any, T, AnyArguments>
    where
        (T,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql));
        for bind in &self.binds {
            query = match bind {
                Bind::Text(v) => query.bind(v.clone()),
                Bind::Int(v) => query.bind(*v),
            };
        }
        query
    }

    pub fn query_as<T>(&self, sql: String) -> QueryAs<'static, Any, T, AnyArguments>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let mut query = sqlx::query_as(AssertSqlSafe(sql));
        for bind in &self.binds {
            query = match bind {
                Bind::Text(v) => query.bind(v.clone()),
                Bind::Int(v) => query.bind(*v),
            };
        }
        query
    }
}

fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `(…), (…), …`: `rows` rows of `columns` parameters each, bound in order, for a multi-row
/// statement. SQLite gets anonymous `?` parameters: sqlx binds a numbered one (`$n`) by asking
/// SQLite its name, which SQLite finds by walking the statement's list of names, so a statement
/// of thousands of `$n` spends time quadratic in their number (most of a 5,000-group
/// blueprint's apply, measured). PostgreSQL's are positional already.
pub fn value_rows(backend: crate::Backend, rows: usize, columns: usize) -> String {
    let mut text = String::with_capacity(rows * columns * 6);
    let mut next = 1;
    for row in 0..rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for column in 0..columns {
            if column > 0 {
                text.push_str(", ");
            }
            match backend {
                crate::Backend::Sqlite => text.push('?'),
                crate::Backend::Postgres => {
                    let _ = write!(text, "${next}");
                }
            }
            next += 1;
        }
        text.push(')');
    }
    text
}

/// The right side of `column IN …` for `n` values bound from `$start` on:
/// `(VALUES ($1), ($2), …)`, not `($1, $2, …)`.
///
/// PostgreSQL plans a prepared statement once for any parameters (its generic plan), and for
/// `column IN ($1, …, $20)` that plan scans the table comparing every row with every
/// parameter in turn: the list of outposts spent most of its time in such a scan of
/// `outpost_providers` (3,300 executions a second; 11,000–14,000 with `VALUES`). A `VALUES`
/// list is planned as a join with that many rows instead: a hash of the values, or an index
/// probe per value once the table is large. SQLite reads both forms alike. `n` must not be 0
/// (neither form allows an empty list; callers return early).
pub fn in_list(start: usize, n: usize) -> String {
    let rows: Vec<String> = (start..start + n).map(|i| format!("(${i})")).collect();
    format!("(VALUES {})", rows.join(", "))
}

/// The arguments of a multi-row statement ([`value_rows`]), with room for all of them from the
/// start: bound one by one onto a query, a 500-row statement's list is copied into a larger one
/// a dozen times. Bind owned text (`String`) where the caller has it: a `&str` is copied.
pub struct RowArguments {
    arguments: AnyArguments,
    /// The first value that could not be encoded; reported by [`RowArguments::finish`].
    error: Option<BoxDynError>,
}

impl RowArguments {
    pub fn with_capacity(values: usize) -> RowArguments {
        let mut arguments = AnyArguments::default();
        arguments.reserve(values, 0);
        RowArguments {
            arguments,
            error: None,
        }
    }

    pub fn bind<'q, T>(&mut self, value: T) -> &mut RowArguments
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        if self.error.is_none() {
            if let Err(error) = self.arguments.add(value) {
                self.error = Some(error);
            }
        }
        self
    }

    /// The arguments, or the error of a value that would not encode.
    pub fn finish(self) -> Result<AnyArguments, sqlx::Error> {
        match self.error {
            Some(error) => Err(sqlx::Error::Encode(error)),
            None => Ok(self.arguments),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_rows_number_postgres_parameters_and_leave_sqlite_ones_anonymous() {
        assert_eq!(
            value_rows(crate::Backend::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(value_rows(crate::Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }

    #[test]
    fn ordering_resolves_only_known_fields() {
        let fields = [
            ("username", "u.username", Ties::None),
            ("name", "u.name", Ties::Possible),
        ];
        assert_eq!(
            Ordering::resolve("-name", &fields),
            Some(Ordering {
                column: "u.name",
                descending: true,
                ties: Ties::Possible,
            })
        );
        assert_eq!(Ordering::resolve("password", &fields), None);
    }

    #[test]
    fn only_columns_that_can_tie_get_a_tiebreak() {
        let fields = [
            ("username", "u.username", Ties::None),
            ("name", "u.name", Ties::Possible),
        ];
        let page = |spec: &str| {
            let ordering = Ordering::resolve(spec, &fields).expect("a known field");
            Where::new().page_sql(ordering, "u.id", 20, 40)
        };
        assert_eq!(
            page("username"),
            " ORDER BY u.username ASC LIMIT $1 OFFSET $2"
        );
        assert_eq!(
            page("-name"),
            " ORDER BY u.name DESC, u.id LIMIT $1 OFFSET $2"
        );
    }

    #[test]
    fn in_lists_are_values_rows() {
        assert_eq!(in_list(2, 3), "(VALUES ($2), ($3), ($4))");
    }

    #[test]
    fn where_numbers_placeholders_in_order() {
        let mut w = Where::new();
        w.search(&["a", "b"], "50%_x");
        w.within("id", &["1".into(), "2".into()]);
        assert_eq!(
            w.sql(),
            " WHERE (LOWER(a) LIKE $1 ESCAPE '\\' OR LOWER(b) LIKE $1 ESCAPE '\\') AND id IN (VALUES ($2), ($3))"
        );
        match &w.binds[0] {
            Bind::Text(p) => assert_eq!(p, "%50\\%\\_x%"),
            other => panic!("unexpected bind {other:?}"),
        }
    }
}
