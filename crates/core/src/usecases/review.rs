//! Access review (recertification): who has what, until when; and the roster export.

use super::access::OrgAccess;
use super::members::{all_matching, MemberFilter, MemberRow};
use crate::auth::Principal;
use crate::db::Database;
use crate::error::Result;
use crate::policy::Action;
use crate::store::{grants, service_accounts};
use crate::time::{rfc3339_opt, Timestamp};
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ReviewRow {
    /// `member` or `service_account`.
    pub kind: String,
    pub subject: String,
    pub name: String,
    pub status: String,
    pub role: String,
    /// `organization` or the workspace's name.
    pub scope: String,
    pub valid_from: Option<String>,
    pub expires_at: Option<String>,
    pub last_login_at: Option<String>,
}

/// The earlier of two optional ends (None: no end): when a grant really ends, given the end of
/// the membership or service account it belongs to. The access review and a member's details both
/// show this, so they never disagree.
pub(crate) fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Every grant of every member and service account, with the earliest moment it ends (grant
/// expiry or membership expiry). `expiring_within`: only rows ending within that many seconds.
pub fn review(
    db: &mut Database,
    who: &Principal,
    org: &str,
    expiring_within: Option<i64>,
    now: Timestamp,
) -> Result<Vec<ReviewRow>> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ReviewAccess, "review")?;
        let mut out = Vec::new();
        // Every member's grants in one query, then walked in the roster's order.
        let mut grants_of: std::collections::HashMap<String, Vec<(Option<Timestamp>, grants::Grant)>> =
            Default::default();
        for (email, membership_expires, g) in grants::of_memberships(tx, &access.org.id)? {
            grants_of.entry(email).or_default().push((membership_expires, g));
        }
        for row in all_matching(tx, &access.org.id, &MemberFilter::default(), now)? {
            if !row.status.is_membership() {
                continue;
            }
            for (membership_expires, g) in grants_of.remove(&row.email).unwrap_or_default() {
                let ends = earliest(g.expires_at, membership_expires);
                out.push((
                    ends,
                    ReviewRow {
                        kind: "member".into(),
                        subject: row.email.clone(),
                        name: row.name.clone(),
                        status: row.status.as_str().to_string(),
                        role: g.role_name,
                        scope: g.workspace.unwrap_or_else(|| "organization".into()),
                        valid_from: rfc3339_opt(g.valid_from),
                        expires_at: rfc3339_opt(ends),
                        last_login_at: row.last_login_at.clone(),
                    },
                ));
            }
        }
        for sa in service_accounts::list(tx, &access.org.id)? {
            if sa.revoked_at.is_some() {
                continue;
            }
            for g in grants::of_subject(tx, grants::Subject::ServiceAccount(&sa.id))? {
                let ends = earliest(g.expires_at, sa.expires_at);
                out.push((
                    ends,
                    ReviewRow {
                        kind: "service_account".into(),
                        subject: sa.name.clone(),
                        name: sa.name.clone(),
                        status: if sa.expires_at.is_some_and(|t| t <= now) {
                            "expired".into()
                        } else {
                            "active".into()
                        },
                        role: g.role_name,
                        scope: g.workspace.unwrap_or_else(|| "organization".into()),
                        valid_from: rfc3339_opt(g.valid_from),
                        expires_at: rfc3339_opt(ends),
                        last_login_at: rfc3339_opt(sa.last_used_at),
                    },
                ));
            }
        }
        Ok(out
            .into_iter()
            .filter(|(ends, _)| match expiring_within {
                Some(w) => ends.is_some_and(|t| t <= now + w),
                None => true,
            })
            .map(|(_, r)| r)
            .collect())
    })
}

/// The whole roster, for other systems, one row at a time in email order: `each` writes it out, so
/// memory stays bounded whatever the size of the organization. Returns the number of rows.
pub fn export_members_each(
    db: &mut Database,
    who: &Principal,
    org: &str,
    now: Timestamp,
    mut each: impl FnMut(MemberRow) -> Result<()>,
) -> Result<u64> {
    db.read_unmapped(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "members")?;
        crate::usecases::members::each_in_email_order(tx, &access.org.id, now, &mut each)
    })
}

/// The whole roster, for other systems.
pub fn export_members(db: &mut Database, who: &Principal, org: &str, now: Timestamp) -> Result<Vec<MemberRow>> {
    db.read(now, |tx| {
        let access = OrgAccess::load(tx, who, org, now)?;
        access.require(&Action::ViewOrganization, "members")?;
        all_matching(tx, &access.org.id, &MemberFilter::default(), now)
    })
}
