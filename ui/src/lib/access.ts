// What the signed-in person may do here, to disable controls with a reason. The commands refuse
// anyway; this only spares people a click that cannot work.
import type { MyAccess } from "../bindings/MyAccess";

export const PERMISSION_FOR: Record<string, string> = {
  invite: "members.invite",
  manageMembers: "members.manage",
  manageOwners: "owners.manage",
  manageRoles: "roles.manage",
  manageWorkspaces: "workspaces.manage",
  manageServiceAccounts: "service_accounts.manage",
  viewAudit: "audit.view",
  manageOrg: "org.manage",
};

export type Ability = keyof typeof PERMISSION_FOR;

export function can(access: MyAccess | null, ability: Ability): boolean {
  if (!access) return false;
  return access.is_owner || access.permissions.includes(PERMISSION_FOR[ability]);
}

/** Why a control is disabled, or "" when it is not. */
export function whyNot(access: MyAccess | null, ability: Ability): string {
  if (can(access, ability)) return "";
  return `Needs the ${PERMISSION_FOR[ability]} permission, which your role in this organization does not have`;
}

/** Whether the caller may act on a member with these roles (owners need owners.manage). */
export function canActOn(access: MyAccess | null, roles: string[], selfEmail: string, email: string): string {
  if (!can(access, "manageMembers")) return whyNot(access, "manageMembers");
  if (roles.includes("owner") && !can(access, "manageOwners")) return "Only someone with owners.manage may change an owner";
  if (selfEmail.toLowerCase() === email.toLowerCase()) return "You cannot change your own access here; use Leave";
  return "";
}
