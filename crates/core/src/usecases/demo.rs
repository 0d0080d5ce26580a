//! `demo`: a realistic organization with N synthetic members of every status, fast enough to make a
//! million (one transaction, prepared statements, no password hashing: demo accounts cannot sign in).

use super::orgs::{create_with_owner, OrganizationSummary};
use crate::audit_actions::AuditAction;
use crate::auth::{self, Principal};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::sql::{params, BulkRows};
use crate::store::organizations::WorkspaceAccessMode;
use crate::store::{audit, new_id, permissions, roles, roster, workspaces};
use crate::time::Timestamp;
use crate::validate;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use ts_rs::TS;

const GIVEN: [&str; 24] = [
    "Ada", "Bruno", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Maya",
    "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Zoë",
];
const FAMILY: [&str; 24] = [
    "Abbott", "Becker", "Castro", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ito", "Jensen", "Kowalski",
    "Lopez", "Müller", "Novak", "Okafor", "Petrov", "Quinto", "Rossi", "Silva", "Tanaka", "Ulrich", "Varga", "Wong",
    "Young",
];

/// The secondary indexes of the tables `demo` fills (not those that make a key unique: the loaded
/// rows are checked against them row by row). `invitations_one_open` is re-made from the loaded rows
/// and so still refuses two open invitations of one email.
const BASE_INDEXES: [&str; 10] = [
    "accounts_email_id",
    "memberships_account",
    "memberships_pending_expiry",
    "access_grants_membership",
    "access_grants_service_account",
    "access_grants_role",
    "access_grants_pending_expiry",
    "invitations_one_open",
    "invitations_org_email",
    "invitations_org_status",
];

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct DemoReport {
    pub organization: OrganizationSummary,
    #[ts(type = "number")]
    pub members: i64,
    /// Rows written in all tables.
    #[ts(type = "number")]
    pub rows: i64,
}

pub fn demo(db: &mut Database, who: &Principal, slug: &str, n: i64, now: Timestamp) -> Result<DemoReport> {
    let slug = slug.trim();
    if slug.is_empty() || validate::slugify(slug) != slug {
        return Err(Error::invalid("org", "a slug is lower-case letters and digits joined by '-', e.g. demo"));
    }
    if !(0..=10_000_000).contains(&n) {
        return Err(Error::invalid("members", "must be between 0 and 10000000"));
    }
    let account = who
        .account_id()
        .ok_or_else(|| Error::forbidden("run demo --as a person; they will own the demo organization"))?
        .to_string();
    let mut rng = rand::rngs::SmallRng::from_os_rng();
    // A large page cache and SQLite's sorter in contiguous memory for the load and the indexes
    // built after it (`db.rs`); the connection's settings are back when `load` is dropped.
    let mut load = db.bulk_load_settings()?;
    demo_rows(&mut load, who, slug, n, now, &account, &mut rng)
}

fn demo_rows(
    db: &mut Database,
    who: &Principal,
    slug: &str,
    n: i64,
    now: Timestamp,
    account: &str,
    rng: &mut rand::rngs::SmallRng,
) -> Result<DemoReport> {
    db.write(now, |tx| {
        let org = create_with_owner(tx, slug, slug, WorkspaceAccessMode::Separate, account, &who.label(), now)?;
        // Most of the database is this load (an empty database, or one smaller than the demo):
        // its secondary indexes are built once from the loaded rows rather than kept row by row.
        let bulk = roster::size_bound(tx)? <= n;
        // The roster is written once at the end, in bulk, not row by row by the triggers.
        let triggers = roster::suspend(tx, &roster::INSERT_TRIGGERS)?;
        // Where triggers cannot be suspended (PostgreSQL), they skip a deferred organization.
        roster::defer(tx, &org)?;
        let indexes = roster::suspend(tx, if bulk { &BASE_INDEXES } else { &[] })?;
        let mut rows: i64 = 8;
        permissions::insert(tx, &org, "billing.access", "Billing and subscription", now)?;
        let billing: std::collections::BTreeSet<String> = ["org.view".to_string(), "billing.access".to_string()].into();
        let billing_role = roles::insert(tx, &org, "billing", "Billing and subscription", false, &billing, now)?;
        let admin_role = roles::by_name(tx, &org, "admin")?.map(|r| r.id).unwrap_or_default();
        let member_role = roles::by_name(tx, &org, "member")?.map(|r| r.id).unwrap_or_default();
        let mut ws = Vec::new();
        for name in ["Production", "Staging", "Analytics"] {
            ws.push(workspaces::insert(tx, &org, name, now)?);
        }
        for (name, role) in [("ci-pipeline", &member_role), ("billing-agent", &billing_role)] {
            let token = auth::new_token(super::service_accounts::TOKEN_PREFIX)?;
            let sa = crate::store::service_accounts::insert(tx, &org, name, &auth::token_hash(&token), &token[..12], None, &who.label(), Some(account), now)?;
            crate::store::grants::insert(
                tx,
                &crate::store::grants::NewGrant::organization_role(&org, crate::store::grants::Subject::ServiceAccount(&sa), role, Some(&who.label())),
                now,
            )?;
            rows += 2;
        }
        // Prepared INSERTs on SQLite; COPY on PostgreSQL, flushed every `BATCH` members, parents first.
        let mut acc = BulkRows::new(tx, "accounts", &["id", "email", "email_norm", "given_name", "family_name", "sort_name", "password_hash", "email_confirmed", "created_at", "last_login_at"])?;
        let mut mem = BulkRows::new(tx, "memberships", &["id", "organization_id", "account_id", "enabled", "access_expires_at", "expiry_recorded", "joined_at"])?;
        let mut grant = BulkRows::new(tx, "access_grants", &["id", "organization_id", "membership_id", "role_id", "workspace_id", "expires_at", "granted_by", "granted_at"])?;
        let mut inv = BulkRows::new(tx, "invitations", &["id", "organization_id", "email", "email_norm", "role_id", "access_expires_at", "valid_until", "token_hash", "status", "invited_by", "created_at", "last_sent_at", "times_sent"])?;
        const BATCH: i64 = 10_000;
        for i in 0..n {
            let given = GIVEN[(i % 24) as usize];
            let family = FAMILY[((i / 24) % 24) as usize];
            let email = format!("{}.{}.{i}@{slug}.example", given.to_lowercase(), family.to_lowercase()).replace(['é', 'ë'], "e").replace('í', "i").replace('ü', "u");
            let created = now - 60 - rng.random_range(0..365 * 86_400);
            let role = match i % 20 {
                0 => &admin_role,
                1 => &billing_role,
                _ => &member_role,
            };
            let bucket = i % 100;
            if bucket < 90 {
                let id = new_id();
                let last_login = (bucket < 80 && i % 3 != 0).then(|| created + rng.random_range(0..(now - created).max(1)));
                let sort_name = format!("{given} {family}").to_lowercase();
                acc.add(params![id, email, email, given, family, sort_name, Option::<String>::None, i % 7 != 0, created, last_login])?;
                let (enabled, expires, recorded) = match bucket {
                    80..=84 => (false, None, 0),
                    85..=89 => (true, Some(now - rng.random_range(60..90 * 86_400)), 1),
                    _ if i % 10 == 3 => (true, Some(now + rng.random_range(3600..120 * 86_400)), 0),
                    _ => (true, None, 0),
                };
                let membership = new_id();
                mem.add(params![membership, org, id, enabled, expires, recorded, created])?;
                grant.add(params![new_id(), org, membership, role, Option::<String>::None, Option::<i64>::None, "demo", created])?;
                rows += 3;
                if i % 25 == 0 {
                    let w = &ws[(i / 25 % 3) as usize];
                    let until = (i % 50 == 0).then(|| now + rng.random_range(86_400..60 * 86_400));
                    grant.add(params![new_id(), org, membership, role, Some(w), until, "demo", created])?;
                    rows += 1;
                }
            } else {
                let (status, valid_until) = match bucket {
                    90..=94 => ("open", now + rng.random_range(3600..7 * 86_400)),
                    95..=97 => ("rejected", created + 7 * 86_400),
                    _ => ("open", now - rng.random_range(60..30 * 86_400)),
                };
                let mut secret = [0u8; 16];
                rng.fill(&mut secret);
                let sent = created.min(valid_until - 60);
                inv.add(params![new_id(), org, email, email, role, Option::<i64>::None, valid_until, auth::token_hash(&hex::encode(secret)), status, "demo", sent, sent, 1])?;
                rows += 1;
            }
            if i % BATCH == BATCH - 1 {
                for table in [&mut acc, &mut mem, &mut grant, &mut inv] {
                    table.flush()?;
                }
            }
        }
        for table in [&mut acc, &mut mem, &mut grant, &mut inv] {
            table.flush()?;
        }
        drop((acc, mem, grant, inv));
        indexes.restore(tx)?;
        let roster_indexes = roster::suspend(tx, if bulk { &roster::INDEXES } else { &[] })?;
        roster::rebuild(tx, &org)?;
        roster_indexes.restore(tx)?;
        triggers.restore(tx)?;
        audit::append(tx, &org, &who.label(), AuditAction::DemoCreated, slug, &serde_json::json!({"members": n, "rows": rows, "note": "demo members' past expiries are recorded as already audited"}), now)?;
        Ok(DemoReport { organization: OrganizationSummary { slug: slug.to_string(), name: slug.to_string() }, members: n, rows })
    })
}
