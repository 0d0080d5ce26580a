// The Invite form's rows: paste many emails at once, one role and optional expiry per row.

export interface InviteRow {
  id: number;
  email: string;
  role: string;
  /** The workspace of an invitation to one workspace only; "" for the organization. */
  workspace: string;
  /** The access expiry as the commands take it: "" (none), a duration ("30d") or RFC 3339. */
  expires: string;
  /** False while the expiry field holds a half-typed date. */
  expiresValid: boolean;
}

// Deliberately loose: the core validates for real and names the row it refuses.
const EMAIL = /^[^\s@,;<>]+@[^\s@,;<>]+\.[^\s@,;<>]+$/;

export function looksLikeEmail(s: string): boolean {
  return EMAIL.test(s.trim());
}

/** Emails from pasted text: commas, semicolons, spaces, new lines, and "Name <email>" forms. */
export function splitPasted(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.split(/[,;\s]+/)) {
    const e = piece.replace(/^<|>$/g, "").replace(/^mailto:/i, "").trim();
    if (e) out.push(e);
  }
  return out;
}

let nextId = 1;

/** Add pasted emails as rows, skipping ones already listed (case-insensitive). */
export function addPasted(rows: InviteRow[], text: string, role: string, expires = "", workspace = ""): InviteRow[] {
  const have = new Set(rows.map((r) => r.email.trim().toLowerCase()).filter(Boolean));
  const added: InviteRow[] = [];
  for (const email of splitPasted(text)) {
    const key = email.toLowerCase();
    if (have.has(key)) continue;
    have.add(key);
    added.push({ id: nextId++, email, role, workspace, expires, expiresValid: true });
  }
  // A single empty row is the form's placeholder: replace it.
  const kept = rows.filter((r) => r.email.trim() !== "" || rows.length > 1);
  return [...kept.filter((r) => r.email.trim() !== ""), ...added];
}

export function blankRow(role: string, workspace = ""): InviteRow {
  return { id: nextId++, email: "", role, workspace, expires: "", expiresValid: true };
}

/** Problems the form can see before sending: row number (1-based) → message. */
export function rowProblems(rows: InviteRow[], now: Date = new Date()): Map<number, string> {
  const problems = new Map<number, string>();
  const seen = new Map<string, number>();
  rows.forEach((r, i) => {
    const n = i + 1;
    const email = r.email.trim();
    if (!email) problems.set(n, "Email is empty");
    else if (!looksLikeEmail(email)) problems.set(n, `“${email}” is not an email address`);
    else if (seen.has(email.toLowerCase())) problems.set(n, `Listed twice (row ${seen.get(email.toLowerCase())})`);
    else if (!r.role) problems.set(n, "Choose a role");
    else if (!r.expiresValid) problems.set(n, "The access expiry is not a date yet");
    else if (/^\d{4}-/.test(r.expires) && new Date(r.expires).getTime() <= now.getTime()) problems.set(n, "Access expiry is in the past");
    if (email) seen.set(email.toLowerCase(), seen.get(email.toLowerCase()) ?? n);
  });
  return problems;
}

/** The text of an invitation, for copying or a mailto: body. */
export function invitationText(org: string, token: string, validUntil: string): string {
  return [
    `You are invited to ${org} in Gatehouse.`,
    "",
    `Open this link on the computer where Gatehouse is installed: gatehouse://invite/${token}`,
    `or run: gatehouse invites accept ${token} --name "Your Name"`,
    "",
    `The invitation is valid until ${validUntil}.`,
  ].join("\n");
}

export function mailtoLink(email: string, org: string, token: string, validUntil: string): string {
  const subject = encodeURIComponent(`Your invitation to ${org}`);
  const body = encodeURIComponent(invitationText(org, token, validUntil));
  return `mailto:${encodeURIComponent(email)}?subject=${subject}&body=${body}`;
}

/**
 * The rows a refused invite names, row number → reason. The core refuses a bulk invite whole and
 * names each refused row as "row N (email): reason"; a single-row invite's refusal is that row's.
 */
export function refusedRows(message: string, rowCount: number): Map<number, string> {
  const out = new Map<number, string>();
  const re = /row (\d+) \((?:[^()]|\([^()]*\))*\): (.*?)(?=; row \d+ \(|$)/g;
  for (const m of message.matchAll(re)) out.set(Number(m[1]), sentence(m[2]));
  if (out.size === 0 && rowCount === 1) out.set(1, sentence(message));
  return out;
}

function sentence(text: string): string {
  const t = text.trim().replace(/^(email|role|access_expires): /, "");
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/**
 * Where an invitation puts someone and as what, in one picker: "member" (the organization) or
 * "member in Staging only" (rule 11). A tab separates the two in the value; names hold no tabs.
 */
export function scopedRole(workspace: string, role: string): string {
  return `${workspace}\t${role}`;
}

export function splitScopedRole(value: string): { workspace: string; role: string } {
  const i = value.indexOf("\t");
  return i < 0 ? { workspace: "", role: value } : { workspace: value.slice(0, i), role: value.slice(i + 1) };
}
