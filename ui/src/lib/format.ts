// Formatting of times, statuses and names for the tables.
import type { MemberStatus } from "../bindings/MemberStatus";
import type { InvitationStatus } from "../bindings/InvitationStatus";

/** The member list's statuses, in the order of its summary badges and status filter. */
export const STATUSES: readonly MemberStatus[] = ["active", "disabled", "expired", "pending", "invitation_expired", "rejected"];

/** Every member and invitation status has a label (a status the core adds and this misses does not compile). */
const STATUS_LABELS: Record<MemberStatus | InvitationStatus | "open", string> & Record<string, string | undefined> = {
  active: "Active",
  disabled: "Disabled",
  expired: "Expired",
  pending: "Invited",
  rejected: "Rejected",
  invitation_expired: "Invitation expired",
  open: "Open",
  accepted: "Accepted",
  revoked: "Revoked",
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status;
}

/** The colour family of a status badge. */
export function statusTone(status: string): "good" | "bad" | "warn" | "info" | "muted" {
  switch (status) {
    case "active":
    case "accepted":
      return "good";
    case "expired":
    case "invitation_expired":
    case "revoked":
      return "bad";
    case "disabled":
    case "rejected":
      return "muted";
    case "pending":
    case "open":
      return "info";
    default:
      return "warn";
  }
}

/** "23 Nov 2026, 17:05" in the person's locale and time zone; "—" for nothing. */
export function formatTime(rfc3339: string | null | undefined, locale?: string): string {
  if (!rfc3339) return "—";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  return d.toLocaleString(locale, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** "23 Nov 2026": a table cell's date, one short line; the full time goes in its title. */
export function formatDate(rfc3339: string | null | undefined, locale?: string): string {
  if (!rfc3339) return "—";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  return d.toLocaleDateString(locale, { day: "numeric", month: "short", year: "numeric" });
}

/**
 * A date for a table cell: 2026-11-12 (local time). Short and the same width in every row and
 * locale, so a dense table never cuts off the year; the cell's title carries the full time.
 */
export function formatCellDate(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "—";
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** "in 3 days", "2 hours ago", "in 5 seconds": for expiries. */
export function relativeTime(rfc3339: string | null | undefined, now: Date = new Date()): string {
  if (!rfc3339) return "";
  const t = new Date(rfc3339).getTime();
  if (Number.isNaN(t)) return "";
  const diff = Math.round((t - now.getTime()) / 1000);
  const abs = Math.abs(diff);
  const units: [number, Intl.RelativeTimeFormatUnit][] = [
    [60, "second"],
    [3600, "minute"],
    [86400, "hour"],
    // Days up to two months: "in 30 days" says more than "next month".
    [86400 * 61, "day"],
    [86400 * 365, "month"],
    [Infinity, "year"],
  ];
  const sizes: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400, month: 86400 * 30, year: 86400 * 365 };
  const fmt = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  for (const [limit, unit] of units) {
    if (abs < limit) return fmt.format(Math.round(diff / sizes[unit]), unit);
  }
  return "";
}

export function initials(name: string, email: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length >= 2) return (parts[0][0] + parts[parts.length - 1][0]).toUpperCase();
  if (parts.length === 1) return parts[0].slice(0, 2).toUpperCase();
  return email.slice(0, 2).toUpperCase();
}

export function plural(n: number, one: string, many = one + "s"): string {
  return `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
}
