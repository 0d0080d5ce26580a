//! Values between PostgreSQL's wire format and SQLite's five storage classes, which are the facade's
//! value model: a parameter is whatever `rusqlite::ToSql` makes of a Rust value, and a column is read
//! as a `rusqlite::types::ValueRef` that `rusqlite::types::FromSql` turns into the Rust type asked
//! for — so one conversion rule serves both engines (a BIGINT 0/1 or a BOOLEAN reads as `bool`,
//! a `sum()` NUMERIC as `i64`, `citext` as `String`).

use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use rusqlite::types::ValueRef;
use std::error::Error as StdError;

type BoxError = Box<dyn StdError + Sync + Send>;

/// One parameter, bound to whatever type the server gave its placeholder.
#[derive(Debug)]
pub struct Arg<'a>(pub ValueRef<'a>);

/// The type a parameter is prepared with, from its value: integers BIGINT, reals DOUBLE
/// PRECISION, blobs BYTEA; text and NULL are left for the server to infer from where they are used
/// (a text typed TEXT would compare a `citext` column case-sensitively).
pub fn declared_type(v: &ValueRef<'_>) -> Type {
    match v {
        ValueRef::Integer(_) => Type::INT8,
        ValueRef::Real(_) => Type::FLOAT8,
        ValueRef::Blob(_) => Type::BYTEA,
        ValueRef::Text(_) | ValueRef::Null => Type::UNKNOWN,
    }
}

/// A small tag per parameter for the statement cache: statements are prepared per combination.
pub fn tag(v: &ValueRef<'_>) -> u8 {
    match v {
        ValueRef::Null => 0,
        ValueRef::Integer(_) => 1,
        ValueRef::Real(_) => 2,
        ValueRef::Text(_) => 3,
        ValueRef::Blob(_) => 4,
    }
}

fn is_text(ty: &Type) -> bool {
    matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON)
        || ty.name() == "citext"
}

fn mismatch(what: &str, ty: &Type) -> BoxError {
    format!("cannot pass {what} as a PostgreSQL {ty}").into()
}

impl ToSql for Arg<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        use bytes::BufMut;
        match self.0 {
            ValueRef::Null => return Ok(IsNull::Yes),
            ValueRef::Integer(i) => match *ty {
                Type::INT8 => out.put_i64(i),
                Type::INT4 => out.put_i32(i32::try_from(i)?),
                Type::INT2 => out.put_i16(i16::try_from(i)?),
                Type::BOOL => out.put_u8(u8::from(i != 0)),
                Type::FLOAT8 => out.put_f64(i as f64),
                Type::FLOAT4 => out.put_f32(i as f32),
                Type::NUMERIC => return numeric_of_i64(i, out),
                ref t if is_text(t) => out.put_slice(i.to_string().as_bytes()),
                ref t => return Err(mismatch("an integer", t)),
            },
            ValueRef::Real(f) => match *ty {
                Type::FLOAT8 => out.put_f64(f),
                Type::FLOAT4 => out.put_f32(f as f32),
                ref t if is_text(t) => out.put_slice(f.to_string().as_bytes()),
                ref t => return Err(mismatch("a real", t)),
            },
            ValueRef::Text(s) => match *ty {
                Type::JSONB => {
                    out.put_u8(1);
                    out.put_slice(s);
                }
                // SQLite would store '5' in an INTEGER column as 5: so do we, and refuse the rest.
                Type::INT8 => out.put_i64(std::str::from_utf8(s)?.trim().parse()?),
                Type::INT4 => out.put_i32(std::str::from_utf8(s)?.trim().parse()?),
                Type::BYTEA => out.put_slice(s),
                ref t if is_text(t) => out.put_slice(s),
                ref t => return Err(mismatch("text", t)),
            },
            ValueRef::Blob(b) => match *ty {
                Type::BYTEA => out.put_slice(b),
                ref t => return Err(mismatch("a blob", t)),
            },
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column as SQLite would hold it, borrowing the row's bytes where it can.
#[derive(Debug)]
pub struct Column<'a>(pub ValueRef<'a>);

impl<'a> FromSql<'a> for Column<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let v = match *ty {
            Type::BOOL => ValueRef::Integer(i64::from(raw.first().copied().unwrap_or(0) != 0)),
            Type::INT2 => ValueRef::Integer(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => ValueRef::Integer(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => ValueRef::Integer(i64::from_sql(ty, raw)?),
            Type::OID => ValueRef::Integer(i64::from(u32::from_sql(ty, raw)?)),
            Type::FLOAT4 => ValueRef::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => ValueRef::Real(f64::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => ValueRef::Blob(raw),
            Type::JSONB => ValueRef::Text(raw.get(1..).unwrap_or_default()),
            ref t if is_text(t) => ValueRef::Text(raw),
            ref t => return Err(format!("a PostgreSQL {t} column has no SQLite counterpart").into()),
        };
        Ok(Column(v))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Column(ValueRef::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// NUMERIC's binary form (base-10000 digits with a weight), as an integer when it is one, else a
/// real: `sum()` of BIGINT is NUMERIC in PostgreSQL and INTEGER in SQLite.
fn numeric(raw: &[u8]) -> Result<ValueRef<'static>, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i * 2..i * 2 + 2).map(|b| i16::from_be_bytes([b[0], b[1]])).ok_or_else(|| "short NUMERIC".into())
    };
    let ndigits = word(0)? as usize;
    let weight = i32::from(word(1)?);
    let sign = word(2)? as u16;
    let dscale = word(3)?;
    if sign == 0xC000 {
        return Ok(ValueRef::Real(f64::NAN));
    }
    let negative = sign == 0x4000;
    let digits: Vec<i16> = (0..ndigits).map(|i| word(4 + i)).collect::<Result<_, _>>()?;
    let integral = dscale == 0 && (ndigits as i32) <= weight + 1;
    if integral {
        let mut n: i128 = 0;
        for (i, d) in digits.iter().enumerate() {
            n += i128::from(*d) * 10_000i128.pow((weight - i as i32) as u32);
        }
        let n = if negative { -n } else { n };
        if let Ok(n) = i64::try_from(n) {
            return Ok(ValueRef::Integer(n));
        }
    }
    let mut f = 0f64;
    for (i, d) in digits.iter().enumerate() {
        f += f64::from(*d) * 10_000f64.powi(weight - i as i32);
    }
    Ok(ValueRef::Real(if negative { -f } else { f }))
}

fn numeric_of_i64(i: i64, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
    use bytes::BufMut;
    let mut digits = Vec::new();
    let mut n = i.unsigned_abs();
    while n > 0 {
        digits.push((n % 10_000) as i16);
        n /= 10_000;
    }
    digits.reverse();
    out.put_i16(digits.len() as i16);
    out.put_i16(digits.len().saturating_sub(1) as i16);
    out.put_u16(if i < 0 { 0x4000 } else { 0 });
    out.put_u16(0);
    for d in digits {
        out.put_i16(d);
    }
    Ok(IsNull::No)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(i: i64) -> Vec<u8> {
        let mut b = bytes::BytesMut::new();
        numeric_of_i64(i, &mut b).unwrap();
        b.to_vec()
    }

    #[test]
    fn numeric_round_trips_integers() {
        for i in [0, 1, -1, 9_999, 10_000, 123_456_789, -987_654_321_012, i64::MAX, i64::MIN + 1] {
            assert_eq!(numeric(&encode(i)).unwrap(), ValueRef::Integer(i), "{i}");
        }
    }

    #[test]
    fn numeric_with_a_fraction_is_real() {
        // 12.5: digits [12, 5000], weight 0, dscale 1.
        let raw = [0, 2, 0, 0, 0, 0, 0, 1, 0, 12, 0x13, 0x88];
        assert_eq!(numeric(&raw).unwrap(), ValueRef::Real(12.5));
    }
}
