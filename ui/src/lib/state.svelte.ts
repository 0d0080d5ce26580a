// The page's own state: who is signed in (as the Rust side reports it), the chosen organization
// and what the person may do there, the screen, and notices. No secrets live here.
import type { AccountSummary } from "../bindings/AccountSummary";
import type { MyAccess } from "../bindings/MyAccess";
import type { OrganizationView } from "../bindings/OrganizationView";

export type Screen =
  | "users"
  | "invite"
  | "invitations"
  | "roles"
  | "workspaces"
  | "service-accounts"
  | "audit"
  | "review";

export const app = $state({
  account: null as AccountSummary | null,
  orgs: [] as OrganizationView[],
  org: null as string | null,
  access: null as MyAccess | null,
  screen: "users" as Screen,
  /** The member whose details are open, if any. */
  details: null as string | null,
  /** Bumped after a change elsewhere so lists reload. */
  version: 0,
});

export interface Notice {
  id: number;
  kind: "ok" | "error";
  text: string;
}

export const notices = $state({ items: [] as Notice[] });
let noticeId = 1;

/** The most notices shown at once; older ones give way. */
const MAX_NOTICES = 3;

export function notify(text: string, kind: Notice["kind"] = "ok", ms = 5000) {
  // The same words again replace the earlier notice rather than stack under it.
  const same = notices.items.findIndex((n) => n.text === text && n.kind === kind);
  if (same >= 0) notices.items.splice(same, 1);
  const id = noticeId++;
  notices.items.push({ id, kind, text });
  while (notices.items.length > MAX_NOTICES) notices.items.shift();
  setTimeout(() => dismiss(id), kind === "error" ? ms * 2 : ms);
}

export function dismiss(id: number) {
  const i = notices.items.findIndex((n) => n.id === id);
  if (i >= 0) notices.items.splice(i, 1);
}

export function changed() {
  app.version++;
}
