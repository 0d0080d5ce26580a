// The member list's columns and its self-refresh when an access expiry passes.
import type { MemberRow } from "../bindings/MemberRow";

export type SortKey = "name" | "role" | "status" | "created" | "last_login" | "expires";

export const SORTS: { key: SortKey; label: string }[] = [
  { key: "name", label: "Name" },
  { key: "role", label: "Roles" },
  { key: "status", label: "Status" },
  { key: "created", label: "Created" },
  { key: "last_login", label: "Last sign-in" },
  { key: "expires", label: "Access expires" },
];

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
