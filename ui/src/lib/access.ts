// What the signed-in person may do here, to hide or disable controls and say why in words. The
// commands refuse anyway; this only spares people a click that cannot work.
import type { MyAccess } from "../bindings/MyAccess";

export const PERMISSION_FOR = {
  invite: "members.invite",
  manageMembers: "members.manage",
  manageOwners: "owners.manage",
  manageRoles: "roles.manage",
  manageWorkspaces: "workspaces.manage",
  manageServiceAccounts: "service_accounts.manage",
  viewAudit: "audit.view",
  manageOrg: "org.manage",
} as const;

export type Ability = keyof typeof PERMISSION_FOR;

/** What each ability lets a person do, as the end of "Your role here does not let you …". */
const DOING: Record<Ability, string> = {
  invite: "invite people",
  manageMembers: "change members",
  manageOwners: "change owners",
  manageRoles: "edit roles",
  manageWorkspaces: "manage workspaces",
  manageServiceAccounts: "manage service accounts",
  viewAudit: "read the audit log",
  manageOrg: "change the organization",
};

export function can(access: MyAccess | null, ability: Ability): boolean {
  if (!access) return false;
  return access.is_owner || access.permissions.includes(PERMISSION_FOR[ability]);
}

/** Why a control is disabled, in words, or "" when it is not. */
export function whyNot(access: MyAccess | null, ability: Ability): string {
  if (can(access, ability)) return "";
  return `Your role here does not let you ${DOING[ability]}`;
}

/** Why the caller may not act on this member (owners need owners.manage), or "". */
export function canActOn(access: MyAccess | null, roles: string[], selfEmail: string, email: string): string {
  if (!can(access, "manageMembers")) return whyNot(access, "manageMembers");
  if (roles.includes("owner") && !can(access, "manageOwners")) return "Only an owner can change an owner";
  if (selfEmail.toLowerCase() === email.toLowerCase()) return "You cannot change your own access; another admin can";
  return "";
}

/** The roles the caller may hand out, in the order given (the core computes which: `grantable_roles`). */
export function grantable<T extends { name: string }>(access: MyAccess | null, roles: T[]): T[] {
  if (!access) return [];
  const ok = new Set(access.grantable_roles.map((r) => r.toLowerCase()));
  return roles.filter((r) => ok.has(r.name.toLowerCase()));
}

/** A sentence naming the roles left out of a picker, or "" when none are. */
export function withheldNote(access: MyAccess | null, roles: { name: string }[]): string {
  const offered = new Set(grantable(access, roles).map((r) => r.name));
  const left = roles.filter((r) => !offered.has(r.name)).map((r) => r.name);
  if (left.length === 0) return "";
  const list = left.join(", ");
  return `Not offered: ${list}. You can give only roles whose permissions you hold yourself${left.includes("owner") ? ", and only an owner can make an owner" : ""}.`;
}
