// The member list's columns and its self-refresh when an access expiry passes.
import type { MemberRow } from "../bindings/MemberRow";
import type { MemberStatus } from "../bindings/MemberStatus";
import type { SortKey } from "../bindings/SortKey";

export type { SortKey };

/** The member list's columns in order; those with a sort key sort when their heading is clicked. */
export const COLUMNS: { id: string; label: string; sort?: SortKey }[] = [
  { id: "name", label: "Name", sort: "name" },
  { id: "email", label: "Email", sort: "email" },
  { id: "roles", label: "Roles", sort: "role" },
  { id: "status", label: "Status", sort: "status" },
  { id: "confirmed", label: "Confirmed" },
  { id: "enabled", label: "Enabled" },
  { id: "created", label: "Created", sort: "created" },
  { id: "last_login", label: "Last sign-in", sort: "last_login" },
  { id: "expires", label: "Access expires", sort: "expires" },
];

/** Rows that are invitations rather than memberships. */
export function isInvitation(r: { status: MemberStatus }): boolean {
  switch (r.status) {
    case "pending":
    case "invitation_expired":
    case "rejected":
      return true;
    case "active":
    case "disabled":
    case "expired":
      return false;
  }
}

/**
 * Milliseconds until the soonest future access expiry among active rows (plus a little, so the
 * core sees it as passed), or null when no visible row will expire in the next 24 hours.
 */
export function nextRefreshDelay(items: MemberRow[], now: Date): number | null {
  let soonest = Infinity;
  for (const r of items) {
    if (r.status !== "active" || !r.access_expires_at) continue;
    const t = new Date(r.access_expires_at).getTime() - now.getTime();
    if (t > 0 && t < soonest) soonest = t;
  }
  if (soonest === Infinity || soonest > 86_400_000) return null;
  return soonest + 600;
}

/**
 * Why a bulk enable/disable leaves a member out, in words for the person confirming (the core's
 * reasons name permissions and error codes).
 */
export function skipReason(r: { email: string; reason: string | null }, me: string): string {
  const why = r.reason ?? "";
  if (r.email.toLowerCase() === me.toLowerCase() || /yourself/.test(why)) return "you: no one enables or disables themself";
  if (why.startsWith("last_owner")) return "the last owner whose access never ends: the organization keeps one";
  if (/owners\.manage/.test(why)) return "an owner: only an owner may change an owner";
  return why;
}

/**
 * Where the window stops counting a status (`count_limit`): a count that must walk the matching
 * rows (a search, roles that start or end) stops here and shows as "1,000+". Below it every count
 * is exact, so small organizations and lists without a search always show exact numbers.
 */
export const COUNT_LIMIT = 1000;

/** Whether the page's count of `key` (a status, or `total`) is a lower bound. */
export function isEstimate(page: { estimated?: string[] } | null, key: MemberStatus | "total"): boolean {
  return !!page?.estimated?.includes(key);
}

/** A status badge's number: "1,234", or "1,000+" for a lower bound. */
export function countText(n: number, estimate: boolean): string {
  return `${n.toLocaleString("en")}${estimate ? "+" : ""}`;
}

/** What a status badge says when pointed at: how exact its number is, and what a click does. */
export function countTitle(label: string, n: number, estimate: boolean): string {
  if (!estimate) return `${label}: exactly ${n.toLocaleString("en")}. Click to list them.`;
  return `${label}: at least ${n.toLocaleString("en")} (an estimate: counting stops there to keep the list fast). Click to list exactly them.`;
}
