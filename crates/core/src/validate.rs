//! Input validation (rule 10). Every check names the field it refuses, so the front doors can say
//! which value was wrong; the use cases validate everything before they write anything.

use crate::error::{Error, Result};

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A short form of a rejected value for an error message (never echo 10 MB back).
pub fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn reject_control(field: &str, s: &str) -> Result<()> {
    if s.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, "must not contain control characters (tabs, new lines, escapes)"));
    }
    Ok(())
}

fn bounded<'a>(field: &str, s: &'a str, max: usize) -> Result<&'a str> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    // Count cheaply first: a 10 MB value must not be walked char by char twice.
    if t.len() > max * 4 || t.chars().count() > max {
        return Err(Error::invalid(field, format!("is longer than {max} characters")));
    }
    reject_control(field, t)?;
    Ok(t)
}

/// A normalized email: trimmed, checked, lower-cased for comparison. Returns (as written, normalized).
pub fn email(field: &str, s: &str) -> Result<(String, String)> {
    let t = bounded(field, s, MAX_EMAIL_CHARS)?;
    let bad = || Error::invalid(field, format!("'{}' is not an email address", shorten(t)));
    let (local, domain) = t.rsplit_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if !local_ok || !domain_ok {
        return Err(bad());
    }
    Ok((t.to_string(), t.to_ascii_lowercase()))
}

/// An email as sign-in takes it, normalized as accounts keep it: trimmed, lower-cased, and only
/// what an account's email could be (at most `MAX_EMAIL_CHARS`, no control characters). Not all of
/// `email`: an account kept from before a rule was added must still be able to sign in.
pub fn sign_in_email(field: &str, s: &str) -> Result<String> {
    Ok(bounded(field, s, MAX_EMAIL_CHARS)?.to_ascii_lowercase())
}

/// A person's or organization's name: letters of any script, digits, spaces and the punctuation
/// names really use. Semicolons, quotes other than apostrophes, `=` and the like are refused, so
/// SQL-looking text never becomes a name.
pub fn display_name(field: &str, s: &str) -> Result<String> {
    let t = bounded(field, s, MAX_NAME_CHARS)?;
    if let Some(c) = t.chars().find(|c| !(c.is_alphanumeric() || " '’.-,&()".contains(*c))) {
        return Err(Error::invalid(
            field,
            format!("must not contain '{c}'; use letters, digits, spaces and ' . - , & ( )"),
        ));
    }
    Ok(t.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// "GIVEN FAMILY": the first word is the given name, the rest the family name.
pub fn full_name(field: &str, s: &str) -> Result<(String, String)> {
    let t = display_name(field, s)?;
    match t.split_once(' ') {
        Some((given, family)) => Ok((given.to_string(), family.to_string())),
        None => Ok((t, String::new())),
    }
}

/// A role, workspace or service-account name: letters, digits, space, `_`, `-`, `.`.
pub fn identifier_name(field: &str, s: &str) -> Result<String> {
    let t = bounded(field, s, 64)?;
    if let Some(c) = t.chars().find(|c| !(c.is_alphanumeric() || " _-.".contains(*c))) {
        return Err(Error::invalid(field, format!("must not contain '{c}'; use letters, digits, space, _ - .")));
    }
    Ok(t.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A permission name `area.action`: lower-case ASCII letters, digits and `_`, one dot.
pub fn permission_name(field: &str, s: &str) -> Result<String> {
    let t = bounded(field, s, 64)?;
    let ok = t.split_once('.').is_some_and(|(area, action)| {
        let part =
            |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        part(area) && part(action)
    });
    if !ok {
        return Err(Error::invalid(
            field,
            format!("'{}' is not a permission name; write area.action in lower case, e.g. billing.access", shorten(t)),
        ));
    }
    Ok(t.to_string())
}

pub fn description(field: &str, s: &str) -> Result<String> {
    let t = s.trim();
    if t.len() > MAX_DESCRIPTION_CHARS * 4 || t.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid(field, format!("is longer than {MAX_DESCRIPTION_CHARS} characters")));
    }
    reject_control(field, t)?;
    Ok(t.to_string())
}

pub fn password(field: &str, s: &str) -> Result<()> {
    if s.chars().count() < 8 {
        return Err(Error::invalid(field, "must be at least 8 characters"));
    }
    if s.len() > 1024 {
        return Err(Error::invalid(field, "is longer than 1024 bytes"));
    }
    Ok(())
}

/// The slug of an organization name: lower-cased, runs of other characters turned into `-`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    let mut dash = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.push(c);
        } else {
            dash = true;
        }
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(email("email", "  Ann@Example.COM ").unwrap(), ("Ann@Example.COM".into(), "ann@example.com".into()));
        for bad in [
            "",
            "a",
            "a@b",
            "a@@b.io",
            "a b@c.io",
            "a@b.c",
            "x'; DROP TABLE accounts;--@x.io",
            "a@-b.io",
            "\u{1b}a@b.io",
        ] {
            assert_eq!(email("email", bad).unwrap_err().field(), Some("email"), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(full_name("name", "Mary  Ann O'Neil").unwrap(), ("Mary".into(), "Ann O'Neil".into()));
        assert!(display_name("name", "Robert'); DROP TABLE students;--").is_err());
        assert!(display_name("name", "").is_err());
        assert!(display_name("name", &"x".repeat(10 * 1024 * 1024)).is_err());
        assert!(display_name("name", "a\u{7}b").is_err());
        assert_eq!(display_name("name", "Zoë Łukasz").unwrap(), "Zoë Łukasz");
    }

    #[test]
    fn slugs_and_permissions() {
        assert_eq!(slugify("Acme, Inc."), "acme-inc");
        assert_eq!(slugify("  Big  Co 2 "), "big-co-2");
        assert!(permission_name("permission", "billing.access").is_ok());
        assert!(permission_name("permission", "Billing").is_err());
        assert!(permission_name("permission", "a.b.c").is_err());
    }
}
