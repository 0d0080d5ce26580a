// The only module that talks to the Rust side. Every function is one Tauri command; its types are
// the ts-rs bindings generated from the Rust types. A refusal arrives as an ApiError carrying the
// core's {code, message, field?, reason?}.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AcceptedMembership } from "../bindings/AcceptedMembership";
import type { AccountSummary } from "../bindings/AccountSummary";
import type { AddressedInvitation } from "../bindings/AddressedInvitation";
import type { AppStatus } from "../bindings/AppStatus";
import type { AuditEventView } from "../bindings/AuditEventView";
import type { AuditFilter } from "../bindings/AuditFilter";
import type { BulkProgress } from "../bindings/BulkProgress";
import type { BulkReport } from "../bindings/BulkReport";
import type { SortKey } from "../bindings/SortKey";
import type { ExportFormat } from "../bindings/ExportFormat";
import type { ChainReport } from "../bindings/ChainReport";
import type { CheckAnswer } from "../bindings/CheckAnswer";
import type { CreatedServiceAccount } from "../bindings/CreatedServiceAccount";
import type { DatabaseChoice } from "../bindings/DatabaseChoice";
import type { DatabaseSettings } from "../bindings/DatabaseSettings";
import type { DatabaseStatus } from "../bindings/DatabaseStatus";
import type { Initialized } from "../bindings/Initialized";
import type { InvitationPreview } from "../bindings/InvitationPreview";
import type { InvitationView } from "../bindings/InvitationView";
import type { InviteeInput } from "../bindings/InviteeInput";
import type { IssuedInvitations } from "../bindings/IssuedInvitations";
import type { MemberDetails } from "../bindings/MemberDetails";
import type { MemberListArgs } from "../bindings/MemberListArgs";
import type { MemberPage } from "../bindings/MemberPage";
import type { MyAccess } from "../bindings/MyAccess";
import type { OrganizationView } from "../bindings/OrganizationView";
import type { PermissionView } from "../bindings/PermissionView";
import type { ReviewRow } from "../bindings/ReviewRow";
import type { RoleView } from "../bindings/RoleView";
import type { ServiceAccountView } from "../bindings/ServiceAccountView";
import type { ServiceStatus } from "../bindings/ServiceStatus";
import type { WorkspaceGrantView } from "../bindings/WorkspaceGrantView";
import type { WorkspaceView } from "../bindings/WorkspaceView";
import { ApiError } from "./errors";

export { ApiError, describeError } from "./errors";

async function call<T>(command: string, args: Record<string, unknown> = {}): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw ApiError.from(e);
  }
}

/** Every change of the database's status (opening, waiting, upgrading, ready, failed). */
export function onDatabaseStatus(handler: (status: DatabaseStatus) => void): Promise<UnlistenFn> {
  return listen<DatabaseStatus>("database-status", (event) => handler(event.payload));
}

/** How far the running bulk enable/disable has got (each event names its job). */
export function onBulkProgress(handler: (progress: BulkProgress) => void): Promise<UnlistenFn> {
  return listen<BulkProgress>("bulk-progress", (event) => handler(event.payload));
}

export const api = {
  appStatus: () => call<AppStatus>("app_status"),
  /** Answers at once, also while the database is being upgraded (other commands wait for it). */
  databaseStatus: () => call<DatabaseStatus>("database_status"),
  /** First run, a database that could not be opened, or the Database settings: this computer's
   *  file or a team server, opened (a server tried) before the choice is saved; signs out. */
  chooseDatabase: (choice: DatabaseChoice) => call<DatabaseStatus>("choose_database", { choice }),
  /** The window's Database settings: the database in use (a server without its password), the
   *  file "this computer" means, and why it cannot be changed here when $GATEHOUSE_DB names it. */
  databaseSettings: () => call<DatabaseSettings>("database_settings"),
  /** Whether `gatehouse serve` runs on the configured address, and on this window's database. */
  serviceStatus: () => call<ServiceStatus>("service_status"),
  setup: (org: string, email: string, name: string, password: string) =>
    call<Initialized>("setup", { org, email, name, password }),
  signIn: (email: string, password: string) => call<AccountSummary>("sign_in", { email, password }),
  signOut: () => call<null>("sign_out"),
  takePendingInvite: () => call<string | null>("take_pending_invite"),
  acceptInvitation: (token: string, name?: string, password?: string) =>
    call<AcceptedMembership>("accept_invitation", { token, name: name ?? null, password: password ?? null }),
  rejectInvitation: (token: string) => call<InvitationView>("reject_invitation", { token }),
  previewInvitation: (token: string) => call<InvitationPreview>("preview_invitation", { token }),
  myInvitations: () => call<AddressedInvitation[]>("my_invitations"),
  acceptMyInvitation: (id: string) => call<AcceptedMembership>("accept_my_invitation", { id }),
  declineMyInvitation: (id: string) => call<InvitationView>("decline_my_invitation", { id }),

  listOrgs: () => call<OrganizationView[]>("list_orgs"),
  createOrg: (name: string) => call<OrganizationView>("create_org", { name, workspaceAccess: null }),
  renameOrg: (org: string, name: string) => call<OrganizationView>("rename_org", { org, name }),
  myAccess: (org: string) => call<MyAccess>("my_access", { org }),

  /** `countLimit`: counts that walk the matching rows stop there and are named in `estimated`. */
  /** `after`: the `next` of the page before (same query), so the page is a seek; null: by `page`. */
  listMembers: (org: string, filter: MemberListArgs, sort: SortKey, descending: boolean, page: number, perPage: number, countLimit: number | null = null, after: string | null = null) =>
    call<MemberPage>("list_members", { org, filter, sort, descending, page, perPage, countLimit, after }),
  memberDetails: (org: string, email: string) => call<MemberDetails>("member_details", { org, email }),
  setMemberRole: (org: string, email: string, role: string) => call<null>("set_member_role", { org, email, role }),
  setMemberExpiry: (org: string, email: string, when: string | null) => call<null>("set_member_expiry", { org, email, when }),
  /** With `job`, `onBulkProgress` hears it and `cancelBulk(job)` stops it (rolled back: `conflict` `cancelled`). */
  setMembersEnabled: (org: string, selection: { emails: string[] } | { allMatching: MemberListArgs }, enabled: boolean, job: string | null = null) =>
    call<BulkReport>("set_members_enabled", {
      org,
      emails: "emails" in selection ? selection.emails : [],
      allMatching: "allMatching" in selection ? selection.allMatching : null,
      enabled,
      job,
    }),
  /** Stop the running bulk job `job`; answers at once. */
  cancelBulk: (job: string) => call<null>("cancel_bulk", { job }),
  previewMembersEnabled: (org: string, selection: { emails: string[] } | { allMatching: MemberListArgs }, enabled: boolean) =>
    call<BulkReport>("preview_members_enabled", {
      org,
      emails: "emails" in selection ? selection.emails : [],
      allMatching: "allMatching" in selection ? selection.allMatching : null,
      enabled,
    }),
  removeMember: (org: string, email: string) => call<null>("remove_member", { org, email }),
  leaveOrg: (org: string) => call<null>("leave_org", { org }),
  exportMembers: (org: string) => call<string>("export_members", { org }),

  createInvitations: (org: string, rows: InviteeInput[], validFor: string | null) =>
    call<IssuedInvitations>("create_invitations", { org, rows, validFor }),
  parseInvitationsCsv: (text: string) => call<InviteeInput[]>("parse_invitations_csv", { text }),
  listInvitations: (org: string, status: string | null) => call<InvitationView[]>("list_invitations", { org, status }),
  resendInvitation: (org: string, email: string) => call<IssuedInvitations>("resend_invitation", { org, email }),
  revokeInvitation: (org: string, email: string) => call<null>("revoke_invitation", { org, email }),

  listRoles: (org: string) => call<RoleView[]>("list_roles", { org }),
  createRole: (org: string, name: string, permissions: string[], description: string) =>
    call<RoleView>("create_role", { org, name, permissions, description }),
  updateRole: (org: string, role: string, permissions: string[], description: string | null) =>
    call<RoleView>("update_role", { org, role, permissions, description }),
  deleteRole: (org: string, role: string) => call<null>("delete_role", { org, role }),
  listPermissions: (org: string) => call<PermissionView[]>("list_permissions", { org }),
  createPermission: (org: string, name: string, description: string) =>
    call<PermissionView>("create_permission", { org, name, description }),

  listWorkspaces: (org: string) => call<WorkspaceView[]>("list_workspaces", { org }),
  createWorkspace: (org: string, name: string) => call<WorkspaceView>("create_workspace", { org, name }),
  grantWorkspace: (org: string, workspace: string, email: string, role: string, expires: string | null) =>
    call<WorkspaceGrantView>("grant_workspace", { org, workspace, email, role, expires }),
  revokeWorkspace: (org: string, workspace: string, email: string) => call<null>("revoke_workspace", { org, workspace, email }),

  listServiceAccounts: (org: string) => call<ServiceAccountView[]>("list_service_accounts", { org }),
  createServiceAccount: (org: string, name: string, role: string, expires: string | null) =>
    call<CreatedServiceAccount>("create_service_account", { org, name, role, expires }),
  revokeServiceAccount: (org: string, name: string) => call<ServiceAccountView>("revoke_service_account", { org, name }),

  listAudit: (org: string, filter: AuditFilter) => call<AuditEventView[]>("list_audit", { org, filter }),
  verifyAudit: (org: string) => call<ChainReport>("verify_audit", { org }),
  exportAudit: (org: string, filter: AuditFilter, format: ExportFormat) => call<string>("export_audit", { org, filter, format }),

  accessReview: (org: string, expiringWithin: string | null) => call<ReviewRow[]>("access_review", { org, expiringWithin }),
  exportReview: (org: string, expiringWithin: string | null) => call<string>("export_review", { org, expiringWithin }),
  checkPermission: (org: string, user: string, permission: string, workspace: string | null) =>
    call<CheckAnswer>("check_permission", { org, user, permission, workspace }),
};
