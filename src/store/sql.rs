//! The little SQL layer both backends share: each statement of the store is
//! written once, with `?1`-style parameters and what SQLite and PostgreSQL
//! both understand (`ON CONFLICT`, `RETURNING`, partial indexes), and runs on
//! either through [`Db`]. Values are the three kinds the schema holds:
//! integers (`INTEGER` in SQLite, `BIGINT` in PostgreSQL), text and NULL.
//!
//! What differs between the two (the schema's DDL, migrations, locking,
//! the fence) lives with each backend, not here.

use std::fmt;

/// A parameter or a column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// The parameters of a statement: `args![key, now.to_rfc3339(), None::<i64>]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::sql::Value::from($v)),*][..]
    };
}
pub(crate) use args;

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", describe_pg(.0))]
    Postgres(#[from] postgres::Error),
    /// A column held another kind of value than the code reads.
    #[error("column {column}: {detail}")]
    Type { column: usize, detail: String },
    /// A value the store wrote cannot be read back (a rotation's JSON).
    #[error("corrupt value in {what}: {detail}")]
    Corrupt { what: String, detail: String },
    /// This replica is not (or no longer) the active one: its writes are
    /// refused (see [`super::election`]).
    #[error("this replica is no longer the active one (another took over): nothing was written")]
    NotActive,
}

/// A PostgreSQL error with the server's own words (its message, detail and
/// hint) where it sent some: `postgres::Error`'s display says only "db error".
fn describe_pg(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; {h}"));
            }
            s
        }
        None => {
            use std::error::Error;
            match e.source() {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            }
        }
    }
}

/// One row of an answer, its columns in the statement's order.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn value(&self, i: usize) -> Result<&Value, DbError> {
        self.0.get(i).ok_or(DbError::Type {
            column: i,
            detail: "no such column".into(),
        })
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, DbError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            Value::Int(n) => Err(DbError::Type {
                column: i,
                detail: format!("expected text, found the number {n}"),
            }),
        }
    }
    /// Like [`Row::opt_text`], but moves the text out of the row (the
    /// column reads as empty text after): no copy, for rows read once.
    pub fn take_opt_text(&mut self, i: usize) -> Result<Option<String>, DbError> {
        match self.0.get_mut(i) {
            Some(Value::Text(s)) => Ok(Some(std::mem::take(s))),
            _ => self.opt_text(i),
        }
    }
    /// Like [`Row::text`], moving the text out of the row.
    pub fn take_text(&mut self, i: usize) -> Result<String, DbError> {
        self.take_opt_text(i)?.ok_or(DbError::Type {
            column: i,
            detail: "expected text, found NULL".into(),
        })
    }
    pub fn text(&self, i: usize) -> Result<String, DbError> {
        self.opt_text(i)?.ok_or(DbError::Type {
            column: i,
            detail: "expected text, found NULL".into(),
        })
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, DbError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            Value::Text(s) => Err(DbError::Type {
                column: i,
                detail: format!("expected a number, found {s:?}"),
            }),
        }
    }
    pub fn int(&self, i: usize) -> Result<i64, DbError> {
        self.opt_int(i)?.ok_or(DbError::Type {
            column: i,
            detail: "expected a number, found NULL".into(),
        })
    }
}

/// What [`Db::each`] hands each row to.
pub type RowSink<'a> = &'a mut dyn FnMut(Row) -> Result<(), DbError>;

/// A connection, or a transaction on one, of either backend.
pub trait Db {
    /// Runs a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, args: &[Value]) -> Result<usize, DbError>;
    /// Runs a query and hands its rows to `f` one at a time, as they come
    /// (a year of history is never held twice).
    fn each(&mut self, sql: &str, args: &[Value], f: RowSink<'_>) -> Result<(), DbError>;
    /// Runs a query; its rows.
    fn rows(&mut self, sql: &str, args: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut out = Vec::new();
        self.each(sql, args, &mut |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }
    /// The first row of a query, if any.
    fn row(&mut self, sql: &str, args: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.rows(sql, args)?.into_iter().next())
    }
}

impl dyn Db + '_ {
    /// Runs a query and makes each row into a `T` as it comes.
    pub fn map_rows<T>(
        &mut self,
        sql: &str,
        args: &[Value],
        mut f: impl FnMut(Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let mut out = Vec::new();
        self.each(sql, args, &mut |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }
}

// ------------------------------------------------------------------ SQLite

/// A SQLite connection (or a transaction, which derefs to one).
pub struct Sqlite<'c>(pub &'c rusqlite::Connection);

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(*n),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

impl Db for Sqlite<'_> {
    fn exec(&mut self, sql: &str, args: &[Value]) -> Result<usize, DbError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(args))?)
    }
    fn each(&mut self, sql: &str, args: &[Value], f: RowSink<'_>) -> Result<(), DbError> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.0.prepare_cached(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Real(f) => Value::Int(f as i64),
                    ValueRef::Blob(_) => {
                        return Err(DbError::Type {
                            column: i,
                            detail: "a blob, which the store never writes".into(),
                        });
                    }
                });
            }
            f(Row(row))?;
        }
        Ok(())
    }
}

// -------------------------------------------------------------- PostgreSQL

/// A PostgreSQL client or transaction.
pub struct Pg<'c, C: postgres::GenericClient>(pub &'c mut C);

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) if *ty == Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
            Value::Int(n) => n.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
        }
    }
    fn accepts(ty: &postgres::types::Type) -> bool {
        <i64 as postgres::types::ToSql>::accepts(ty)
            || <i32 as postgres::types::ToSql>::accepts(ty)
            || <&str as postgres::types::ToSql>::accepts(ty)
    }
    postgres::types::to_sql_checked!();
}

/// `?1` → `$1`: the store's statements are written in SQLite's numbered
/// form; PostgreSQL numbers its parameters with `$`. (No statement of the
/// store has a `?` inside a string literal.)
pub fn to_pg(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_args(args: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    args.iter()
        .map(|a| a as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl<C: postgres::GenericClient> Db for Pg<'_, C> {
    fn exec(&mut self, sql: &str, args: &[Value]) -> Result<usize, DbError> {
        Ok(self.0.execute(to_pg(sql).as_str(), &pg_args(args))? as usize)
    }
    fn each(&mut self, sql: &str, args: &[Value], f: RowSink<'_>) -> Result<(), DbError> {
        use postgres::fallible_iterator::FallibleIterator;
        use postgres::types::Type;
        let mut rows = self.0.query_raw(to_pg(sql).as_str(), args.iter())?;
        while let Some(r) = rows.next()? {
            let row = (0..r.len())
                .map(|i| {
                    let ty = r.columns()[i].type_();
                    Ok(if *ty == Type::INT8 {
                        r.try_get::<_, Option<i64>>(i)?.into()
                    } else if *ty == Type::INT4 {
                        r.try_get::<_, Option<i32>>(i)?.map(i64::from).into()
                    } else if *ty == Type::INT2 {
                        r.try_get::<_, Option<i16>>(i)?.map(i64::from).into()
                    } else if *ty == Type::BOOL {
                        r.try_get::<_, Option<bool>>(i)?.map(i64::from).into()
                    } else {
                        r.try_get::<_, Option<String>>(i)?.into()
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            f(Row(row))?;
        }
        Ok(())
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Text(s) => write!(f, "{s:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_postgres_ones() {
        assert_eq!(
            to_pg("UPDATE t SET a = ?2 WHERE k = ?1 AND b = ?10"),
            "UPDATE t SET a = $2 WHERE k = $1 AND b = $10"
        );
    }

    #[test]
    fn values_go_in_and_come_out_of_sqlite_unchanged() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut db = Sqlite(&conn);
        db.exec("CREATE TABLE t (a INTEGER, b TEXT)", &[]).unwrap();
        db.exec("INSERT INTO t VALUES (?1, ?2)", args![7i64, "é"])
            .unwrap();
        db.exec(
            "INSERT INTO t VALUES (?1, ?2)",
            args![None::<i64>, None::<&str>],
        )
        .unwrap();
        let rows = db.rows("SELECT a, b FROM t ORDER BY a", &[]).unwrap();
        assert_eq!(rows[0].opt_int(0).unwrap(), None);
        assert_eq!(rows[1].int(0).unwrap(), 7);
        assert_eq!(rows[1].text(1).unwrap(), "é");
        assert!(rows[1].text(0).is_err(), "a number is not text");
    }
}
