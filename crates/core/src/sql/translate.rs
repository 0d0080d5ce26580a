//! SQLite's dialect, as the store writes it, turned into PostgreSQL's: one pass over the tokens of a
//! statement (string literals, quoted names and comments are copied untouched).
//!
//! - Placeholders `?NNN`, `?`, `:name`, `@name`, `$name` become `$N`, numbered as SQLite numbers them
//!   (a bare `?` takes the number after the largest so far; a name keeps the number of its first use).
//! - `INDEXED BY index` and `NOT INDEXED` go: PostgreSQL's planner takes no hints.
//! - `COLLATE NOCASE` goes: the columns SQLite compares without case are `citext` in the PostgreSQL
//!   schema; `COLLATE BINARY` becomes `COLLATE "C"`.
//! - Every `ORDER BY` term gets SQLite's place for NULLs (`NULLS FIRST` ascending, `NULLS LAST`
//!   descending) unless it names one, so both engines return rows in the same order. The PostgreSQL
//!   schema builds its ordering indexes `NULLS FIRST` so that this order still walks them.
//! - `LIMIT ?n` admits SQLite's negative "no limit" (`CASE WHEN $n < 0 THEN NULL ELSE $n END`), and a
//!   literal negative limit becomes `LIMIT ALL`.
//! - `a IS b` and `a IS NOT b` with anything but NULL/TRUE/FALSE on the right become
//!   `IS [NOT] DISTINCT FROM`; `X'hex'` blob literals become `'\xhex'::bytea`.
//! - `CROSS JOIN t ON …` (SQLite's inner join in a fixed order) becomes `INNER JOIN`; `json_each(…)`,
//!   which the store gives arrays only, becomes `json_array_elements(…)` (its `value` is json there);
//!   a unary `+column` (SQLite's way to keep an index out of a plan) becomes the column.
//!
//! It also records which parameters are first used as `?n IS [NOT] NULL`: PostgreSQL infers a
//! parameter's type from its first use and cannot from that one, so the backend asks the server for
//! the types of a variant of the statement (`describe`) where those tests read `NULL IS NULL`.

/// A statement in PostgreSQL's dialect, with what the backend needs to bind its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub sql: String,
    /// The largest parameter number (`$1` … `$count`).
    pub count: usize,
    /// Named parameters with their prefix (`:now`) and number.
    pub names: Vec<(String, usize)>,
    /// Per parameter: its first use is `IS [NOT] NULL`, which types nothing.
    pub null_test_first: Vec<bool>,
    /// Per parameter: every use of it is `IS [NOT] NULL` (the describe variant names it nowhere).
    pub null_test_only: Vec<bool>,
    /// The statement with every `$n IS [NOT] NULL` written `NULL IS [NOT] NULL`, when there is one.
    pub describe: Option<String>,
}

impl Translation {
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().find(|(n, _)| n == name).map(|(_, i)| *i)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Space,
    Comment,
    Str,
    Ident,
    Word,
    Number,
    /// A placeholder: its number.
    Param(usize),
    Blob,
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
}

impl Token<'_> {
    fn is(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }
    fn significant(&self) -> bool {
        !matches!(self.kind, Kind::Space | Kind::Comment)
    }
}

struct Numbering {
    max: usize,
    names: Vec<(String, usize)>,
}

impl Numbering {
    fn number(&mut self, text: &str) -> usize {
        let n = if text == "?" {
            self.max + 1
        } else if let Some(digits) = text.strip_prefix('?') {
            digits.parse().unwrap_or(self.max + 1)
        } else if let Some((_, n)) = self.names.iter().find(|(name, _)| name == text) {
            *n
        } else {
            let n = self.max + 1;
            self.names.push((text.to_string(), n));
            n
        };
        self.max = self.max.max(n);
        n
    }
}

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn tokenize<'a>(sql: &'a str, numbering: &mut Numbering) -> Vec<Token<'a>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                Kind::Space
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                Kind::Comment
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                Kind::Comment
            }
            b'\'' | b'"' | b'`' => {
                i += 1;
                loop {
                    if i >= b.len() {
                        break;
                    }
                    if b[i] == c {
                        // A doubled quote is the quote itself.
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                if c == b'\'' {
                    Kind::Str
                } else {
                    Kind::Ident
                }
            }
            b'[' => {
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(b.len());
                Kind::Ident
            }
            b'x' | b'X' if b.get(i + 1) == Some(&b'\'') => {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i = (i + 1).min(b.len());
                Kind::Blob
            }
            b'?' => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                Kind::Param(numbering.number(&sql[start..i]))
            }
            b':' | b'@' | b'$'
                if b.get(i + 1).is_some_and(|&n| ident_char(n))
                    && !(c == b':' && start > 0 && b[start - 1] == b':') =>
            {
                i += 1;
                while i < b.len() && ident_char(b[i]) {
                    i += 1;
                }
                Kind::Param(numbering.number(&sql[start..i]))
            }
            c if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Kind::Number
            }
            c if ident_char(c) => {
                while i < b.len() && (ident_char(b[i]) || b[i] == b'$') {
                    i += 1;
                }
                Kind::Word
            }
            _ => {
                // One character of punctuation; keep multi-byte characters whole.
                i += 1;
                while i < b.len() && !sql.is_char_boundary(i) {
                    i += 1;
                }
                Kind::Punct
            }
        };
        out.push(Token { kind, text: &sql[start..i] });
    }
    out
}

/// An `ORDER BY` list being copied: at which parenthesis depth, and what its current term says.
struct OrderList {
    depth: usize,
    descending: bool,
    has_nulls: bool,
    has_term: bool,
}

impl OrderList {
    fn close_term(&mut self, out: &mut String, describe: &mut String) {
        if self.has_term && !self.has_nulls {
            let nulls = if self.descending { " NULLS LAST" } else { " NULLS FIRST" };
            // Before any trailing white space, so the statement reads naturally.
            let trimmed = out.trim_end().len();
            let tail = out.split_off(trimmed);
            out.push_str(nulls);
            out.push_str(&tail);
            let trimmed = describe.trim_end().len();
            let tail = describe.split_off(trimmed);
            describe.push_str(nulls);
            describe.push_str(&tail);
        }
        self.descending = false;
        self.has_nulls = false;
        self.has_term = false;
    }
}

fn trim_end(out: &mut String, describe: &mut String) {
    out.truncate(out.trim_end().len());
    describe.truncate(describe.trim_end().len());
}

/// Words that end an `ORDER BY` list at its own depth.
const ORDER_END: [&str; 9] = ["LIMIT", "OFFSET", "UNION", "EXCEPT", "INTERSECT", "FETCH", "WINDOW", "ROWS", "RANGE"];

/// Translate one statement of SQLite's dialect into PostgreSQL's.
pub fn translate(sql: &str) -> Translation {
    let mut numbering = Numbering { max: 0, names: Vec::new() };
    let tokens = tokenize(sql, &mut numbering);
    let next_sig = |from: usize| (from..tokens.len()).find(|&j| tokens[j].significant());
    let mut out = String::with_capacity(sql.len() + 32);
    let mut describe = String::with_capacity(sql.len() + 32);
    let mut seen = vec![false; numbering.max + 1];
    let mut null_test_first = vec![false; numbering.max + 1];
    let mut typed_use = vec![false; numbering.max + 1];
    let mut any_null_test = false;
    let mut depth = 0usize;
    let mut lists: Vec<OrderList> = Vec::new();
    let mut i = 0;
    // Emit to both the statement and its describe variant.
    macro_rules! emit {
        ($s:expr) => {{
            let s: &str = $s;
            out.push_str(s);
            describe.push_str(s);
        }};
    }
    while i < tokens.len() {
        let t = tokens[i];
        // The end of the current ORDER BY term or list.
        if let Some(list) = lists.last_mut() {
            if list.depth == depth {
                let ends_list =
                    (t.kind == Kind::Punct && (t.text == ")" || t.text == ";")) || ORDER_END.iter().any(|w| t.is(w));
                if ends_list {
                    list.close_term(&mut out, &mut describe);
                    lists.pop();
                } else if t.kind == Kind::Punct && t.text == "," {
                    list.close_term(&mut out, &mut describe);
                } else if t.significant() {
                    if t.is("DESC") {
                        list.descending = true;
                    } else if t.is("ASC") {
                        list.descending = false;
                    } else if t.is("NULLS") {
                        list.has_nulls = true;
                    } else if !t.is("COLLATE") && !(t.is("NOCASE") || t.is("BINARY")) {
                        list.has_term = true;
                    }
                }
            }
        }
        match t.kind {
            Kind::Param(n) => {
                let tests_null = next_sig(i + 1).is_some_and(|j| {
                    tokens[j].is("IS")
                        && next_sig(j + 1).is_some_and(|k| {
                            tokens[k].is("NULL")
                                || (tokens[k].is("NOT") && next_sig(k + 1).is_some_and(|m| tokens[m].is("NULL")))
                        })
                });
                if !seen[n] {
                    seen[n] = true;
                    null_test_first[n] = tests_null;
                }
                let p = format!("${n}");
                out.push_str(&p);
                if tests_null {
                    any_null_test = true;
                    describe.push_str("NULL");
                } else {
                    typed_use[n] = true;
                    describe.push_str(&p);
                }
            }
            Kind::Blob => {
                let hex = &t.text[2..t.text.len().saturating_sub(1)];
                emit!(&format!("'\\x{hex}'::bytea"));
            }
            Kind::Ident if t.text.starts_with('`') || t.text.starts_with('[') => {
                let name = &t.text[1..t.text.len().saturating_sub(1)];
                emit!(&format!("\"{}\"", name.replace('"', "\"\"")));
            }
            Kind::Punct if t.text == "(" => {
                depth += 1;
                emit!("(");
            }
            Kind::Punct if t.text == ")" => {
                depth = depth.saturating_sub(1);
                emit!(")");
            }
            Kind::Punct if t.text == ";" => {
                for mut list in lists.drain(..) {
                    list.close_term(&mut out, &mut describe);
                }
                emit!(";");
            }
            Kind::Word if t.is("INDEXED") && next_sig(i + 1).is_some_and(|j| tokens[j].is("BY")) => {
                // INDEXED BY name: skip the three words and the space before them.
                trim_end(&mut out, &mut describe);
                let by = next_sig(i + 1).unwrap_or(i);
                i = next_sig(by + 1).unwrap_or(by) + 1;
                continue;
            }
            Kind::Word if t.is("NOT") && next_sig(i + 1).is_some_and(|j| tokens[j].is("INDEXED")) => {
                trim_end(&mut out, &mut describe);
                i = next_sig(i + 1).unwrap_or(i) + 1;
                continue;
            }
            Kind::Word if t.is("COLLATE") => {
                let j = next_sig(i + 1);
                match j.map(|j| tokens[j]) {
                    Some(name) if name.is("NOCASE") => {
                        trim_end(&mut out, &mut describe);
                        i = j.unwrap_or(i) + 1;
                        continue;
                    }
                    Some(name) if name.is("BINARY") => {
                        emit!("COLLATE \"C\"");
                        i = j.unwrap_or(i) + 1;
                        continue;
                    }
                    _ => emit!(t.text),
                }
            }
            // SQLite's `CROSS JOIN t ON …` (an inner join whose order the planner keeps) is an error
            // on PostgreSQL, where CROSS JOIN takes no ON: it becomes INNER JOIN there.
            // SQLite's unary `+column` (which keeps the planner off that column's index) has no
            // meaning for text on PostgreSQL: the column alone.
            Kind::Punct if t.text == "+" && unary_plus(&tokens, i, &next_sig) => {}
            Kind::Word if t.is("CROSS") && cross_join_with_on(&tokens, i, &next_sig) => emit!("INNER"),
            // `json_each(array)`: PostgreSQL's json_each takes objects only; its array walker gives
            // the same `value` column (as json: cast it through text to compare it).
            Kind::Word if t.is("json_each") && next_sig(i + 1).is_some_and(|j| tokens[j].text == "(") => {
                emit!("json_array_elements")
            }
            Kind::Word if t.is("ORDER") && next_sig(i + 1).is_some_and(|j| tokens[j].is("BY")) => {
                let by = next_sig(i + 1).unwrap_or(i);
                for tok in &tokens[i..=by] {
                    emit!(tok.text);
                }
                lists.push(OrderList { depth, descending: false, has_nulls: false, has_term: false });
                i = by + 1;
                continue;
            }
            Kind::Word if t.is("LIMIT") => {
                emit!(t.text);
                if let Some(j) = next_sig(i + 1) {
                    match tokens[j].kind {
                        Kind::Param(n) => {
                            seen[n] = true;
                            typed_use[n] = true;
                            emit!(&format!(" CASE WHEN ${n} < 0 THEN NULL ELSE ${n} END"));
                            i = j + 1;
                            continue;
                        }
                        Kind::Punct if tokens[j].text == "-" => {
                            if let Some(k) = next_sig(j + 1).filter(|&k| tokens[k].kind == Kind::Number) {
                                emit!(" ALL");
                                i = k + 1;
                                continue;
                            }
                        }
                        _ => {}
                    }
                }
            }
            Kind::Word if t.is("IS") => {
                emit!(t.text);
                let mut j = next_sig(i + 1);
                let negated = j.is_some_and(|j| tokens[j].is("NOT"));
                if negated {
                    j = j.and_then(|j| next_sig(j + 1));
                }
                let plain = j.is_none_or(|j| {
                    ["NULL", "TRUE", "FALSE", "UNKNOWN", "DISTINCT", "JSON", "DOCUMENT", "NORMALIZED"]
                        .iter()
                        .any(|w| tokens[j].is(w))
                });
                if !plain {
                    emit!(if negated { " DISTINCT FROM" } else { " NOT DISTINCT FROM" });
                    // Skip the NOT already said by DISTINCT FROM.
                    if negated {
                        i = next_sig(i + 1).unwrap_or(i) + 1;
                        continue;
                    }
                }
            }
            _ => emit!(t.text),
        }
        i += 1;
    }
    for mut list in lists.drain(..) {
        list.close_term(&mut out, &mut describe);
    }
    Translation {
        sql: out,
        count: numbering.max,
        names: numbering.names,
        null_test_first: null_test_first.into_iter().skip(1).collect(),
        null_test_only: seen.iter().zip(&typed_use).skip(1).map(|(s, t)| *s && !*t).collect(),
        describe: any_null_test.then_some(describe),
    }
}

/// Whether the `+` at `i` is a unary plus before a column name.
fn unary_plus(tokens: &[Token<'_>], i: usize, next_sig: &dyn Fn(usize) -> Option<usize>) -> bool {
    let before_operand = match tokens[..i].iter().rev().find(|t| t.significant()) {
        None => true,
        Some(p) if p.kind == Kind::Punct => p.text != ")",
        Some(p) => ["AND", "OR", "NOT", "WHERE", "ON", "WHEN", "THEN", "ELSE", "SELECT", "BY", "IN", "IS"]
            .iter()
            .any(|w| p.is(w)),
    };
    before_operand && next_sig(i + 1).is_some_and(|j| tokens[j].kind == Kind::Word)
}

/// Whether the `CROSS` at `i` starts `CROSS JOIN table [[AS] alias] ON`.
fn cross_join_with_on(tokens: &[Token<'_>], i: usize, next_sig: &dyn Fn(usize) -> Option<usize>) -> bool {
    let Some(join) = next_sig(i + 1).filter(|&j| tokens[j].is("JOIN")) else { return false };
    let Some(table) = next_sig(join + 1).filter(|&j| tokens[j].kind == Kind::Word) else { return false };
    let mut k = next_sig(table + 1);
    if let Some(j) = k.filter(|&j| tokens[j].is("AS")) {
        k = next_sig(j + 1);
    }
    if let Some(j) = k.filter(|&j| tokens[j].kind == Kind::Word && !tokens[j].is("ON")) {
        k = next_sig(j + 1);
    }
    k.is_some_and(|j| tokens[j].is("ON"))
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn a_unary_plus_goes_and_an_addition_stays() {
        assert_eq!(
            pg("SELECT a + b FROM t WHERE (+roles_key = ?1 OR x = +y) AND n = m + 1"),
            "SELECT a + b FROM t WHERE (roles_key = $1 OR x = y) AND n = m + 1"
        );
    }

    #[test]
    fn json_each_walks_an_array() {
        assert_eq!(
            pg("SELECT x FROM t WHERE id IN (SELECT CAST(CAST(value AS TEXT) AS INTEGER) FROM json_each(?1))"),
            "SELECT x FROM t WHERE id IN (SELECT CAST(CAST(value AS TEXT) AS INTEGER) FROM json_array_elements($1))"
        );
    }

    #[test]
    fn a_cross_join_with_on_is_an_inner_join_and_one_without_stays() {
        assert_eq!(
            pg("SELECT 1 FROM roles r CROSS JOIN access_grants g ON g.role_id = r.id CROSS JOIN memberships AS m ON m.id = g.m"),
            "SELECT 1 FROM roles r INNER JOIN access_grants g ON g.role_id = r.id INNER JOIN memberships AS m ON m.id = g.m"
        );
        assert_eq!(pg("SELECT 1 FROM a CROSS JOIN b WHERE a.x = b.x"), "SELECT 1 FROM a CROSS JOIN b WHERE a.x = b.x");
    }

    fn pg(sql: &str) -> String {
        translate(sql).sql
    }

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(
            pg("SELECT a FROM t WHERE b = ?1 AND c = ?2 OR d = ?1"),
            "SELECT a FROM t WHERE b = $1 AND c = $2 OR d = $1"
        );
        let t = translate("INSERT INTO t VALUES (?, ?, ?5, ?)");
        assert_eq!(t.sql, "INSERT INTO t VALUES ($1, $2, $5, $6)");
        assert_eq!(t.count, 6);
        let t = translate("SELECT x FROM t WHERE org = :org AND at <= :now AND until > :now AND y = @y AND z = $z");
        assert_eq!(t.sql, "SELECT x FROM t WHERE org = $1 AND at <= $2 AND until > $2 AND y = $3 AND z = $4");
        assert_eq!(t.index_of(":now"), Some(2));
        assert_eq!(t.index_of("@y"), Some(3));
        assert_eq!(t.index_of(":missing"), None);
    }

    #[test]
    fn literals_names_and_comments_are_left_alone() {
        assert_eq!(
            pg("SELECT 'a ?1 :x it''s', \"col ?\" -- ?3 :y\nFROM t /* ?4 */ WHERE coalesce(a.email, 'service-account:' || s.name) = ?1"),
            "SELECT 'a ?1 :x it''s', \"col ?\" -- ?3 :y\nFROM t /* ?4 */ WHERE coalesce(a.email, 'service-account:' || s.name) = $1"
        );
        assert_eq!(translate("SELECT 'é?', x FROM t WHERE y = ?").count, 1);
        assert_eq!(pg("SELECT a::text FROM t"), "SELECT a::text FROM t");
        assert_eq!(pg("SELECT X'00ff'"), "SELECT '\\x00ff'::bytea");
    }

    #[test]
    fn hints_and_nocase_go() {
        assert_eq!(
            pg("SELECT rid FROM roster INDEXED BY roster_by_email WHERE org = :org"),
            "SELECT rid FROM roster WHERE org = $1"
        );
        assert_eq!(pg("SELECT a FROM t NOT INDEXED WHERE b = 1"), "SELECT a FROM t WHERE b = 1");
        assert_eq!(
            pg("SELECT id FROM roles WHERE organization_id = ?1 AND name = ?2 COLLATE NOCASE"),
            "SELECT id FROM roles WHERE organization_id = $1 AND name = $2"
        );
        assert_eq!(pg("SELECT a FROM t WHERE b = c COLLATE BINARY"), "SELECT a FROM t WHERE b = c COLLATE \"C\"");
    }

    #[test]
    fn order_by_puts_nulls_where_sqlite_does() {
        assert_eq!(
            pg("SELECT a FROM t ORDER BY is_owner DESC, created_at, name COLLATE NOCASE"),
            "SELECT a FROM t ORDER BY is_owner DESC NULLS LAST, created_at NULLS FIRST, name NULLS FIRST"
        );
        assert_eq!(
            pg("SELECT a FROM t ORDER BY seq DESC LIMIT ?7"),
            "SELECT a FROM t ORDER BY seq DESC NULLS LAST LIMIT CASE WHEN $7 < 0 THEN NULL ELSE $7 END"
        );
        assert_eq!(
            pg("SELECT group_concat(r.name, ',' ORDER BY r.name COLLATE NOCASE) FROM r"),
            "SELECT group_concat(r.name, ',' ORDER BY r.name NULLS FIRST) FROM r"
        );
        assert_eq!(
            pg("SELECT a FROM t ORDER BY lower(coalesce(CASE WHEN x = 0 THEN y ELSE (SELECT z FROM u ORDER BY w DESC LIMIT 1) END, '')) ASC,\n  email_norm ASC, rid ASC LIMIT :limit OFFSET :offset"),
            "SELECT a FROM t ORDER BY lower(coalesce(CASE WHEN x = 0 THEN y ELSE (SELECT z FROM u ORDER BY w DESC NULLS LAST LIMIT 1) END, '')) ASC NULLS FIRST,\n  email_norm ASC NULLS FIRST, rid ASC NULLS FIRST LIMIT CASE WHEN $1 < 0 THEN NULL ELSE $1 END OFFSET $2"
        );
        assert_eq!(pg("SELECT a FROM t ORDER BY a NULLS LAST"), "SELECT a FROM t ORDER BY a NULLS LAST");
        assert_eq!(
            pg("SELECT * FROM (SELECT a FROM t ORDER BY a) ORDER BY b DESC\n"),
            "SELECT * FROM (SELECT a FROM t ORDER BY a NULLS FIRST) ORDER BY b DESC NULLS LAST\n"
        );
        assert_eq!(pg("SELECT a FROM t LIMIT -1"), "SELECT a FROM t LIMIT ALL");
    }

    #[test]
    fn is_with_a_value_is_distinct_from() {
        assert_eq!(
            pg("SELECT 1 WHERE a IS NOT b OR c IS d OR e IS NULL OR f IS NOT NULL"),
            "SELECT 1 WHERE a IS DISTINCT FROM b OR c IS NOT DISTINCT FROM d OR e IS NULL OR f IS NOT NULL"
        );
    }

    #[test]
    fn null_tests_first_are_described_apart() {
        let t =
            translate("SELECT 1 FROM e WHERE o = ?1 AND (?2 IS NULL OR lower(actor) = lower(?2)) AND (?3 IS NOT NULL)");
        assert_eq!(t.null_test_first, vec![false, true, true]);
        assert_eq!(t.null_test_only, vec![false, false, true]);
        assert_eq!(
            t.describe.as_deref(),
            Some("SELECT 1 FROM e WHERE o = $1 AND (NULL IS NULL OR lower(actor) = lower($2)) AND (NULL IS NOT NULL)")
        );
        assert!(translate("SELECT 1 WHERE a = ?1 AND ?1 IS NULL").describe.is_some());
        assert_eq!(translate("SELECT 1 WHERE a = ?1 AND ?1 IS NULL").null_test_first, vec![false]);
        assert_eq!(translate("SELECT 1 WHERE a = ?1").describe, None);
    }
}
