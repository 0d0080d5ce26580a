import { describe, expect, it } from "vitest";
import { describeError, ApiError } from "../api/errors";
import { formatTime, formatCellDate, relativeTime, initials, statusLabel, statusTone, plural } from "../lib/format";
import { localInputToRfc3339, rfc3339ToLocalInput, isPast, inSeconds } from "../lib/expiry";
import { addPasted, blankRow, rowProblems, splitPasted, mailtoLink, invitationText } from "../lib/invite";
import { pageCount, pageWindow, rangeLabel } from "../lib/pages";
import { can, whyNot, canActOn, grantable, withheldNote } from "../lib/access";
import { placePopup } from "../lib/popover";
import { parseTypedExpiry, expiryValue } from "../lib/expiry";
import { refusedRows } from "../lib/invite";
import { plainWords } from "../api/errors";
import { nextRefreshDelay, skipReason, isInvitation } from "../lib/members";
import { parseDuration } from "../lib/duration";
import { detailsText } from "../lib/audit";
import type { MyAccess } from "../bindings/MyAccess";
import type { MemberRow } from "../bindings/MemberRow";
import type { MemberStatus } from "../bindings/MemberStatus";

describe("errors in words", () => {
  it("names the field of invalid input", () => {
    expect(describeError({ code: "invalid_input", field: "email", message: "email: 'x' is not an email address" })).toBe(
      "Email: 'x' is not an email address",
    );
  });
  it("says a refusal is not allowed, without the code word", () => {
    expect(describeError({ code: "forbidden", message: "forbidden: inviting as owner needs owners.manage in organization acme" })).toBe(
      "Not allowed: inviting as owner needs owners.manage in organization acme",
    );
  });
  it("keeps conflicts as sentences and wraps strings and unknown errors", () => {
    expect(describeError({ code: "conflict", message: "the last owner cannot be demoted", reason: "last_owner" })).toBe("The last owner cannot be demoted");
    expect(describeError("boom")).toBe("Something went wrong: boom");
    expect(ApiError.from(new Error("x")).code).toBe("internal");
  });
});

describe("formatting", () => {
  it("labels and tones statuses", () => {
    expect(statusLabel("pending")).toBe("Invited");
    expect(statusLabel("invitation_expired")).toBe("Invitation expired");
    expect(statusTone("active")).toBe("good");
    expect(statusTone("expired")).toBe("bad");
    expect(statusTone("disabled")).toBe("muted");
  });
  it("formats times and nothing", () => {
    expect(formatTime(null)).toBe("—");
    expect(formatTime("2026-11-23T17:00:00Z", "en-GB")).toContain("2026");
    expect(relativeTime("2026-11-23T17:00:05Z", new Date("2026-11-23T17:00:00Z"))).toBe("in 5 seconds");
    expect(relativeTime("2026-11-20T17:00:00Z", new Date("2026-11-23T17:00:00Z"))).toBe("3 days ago");
  });
  it("makes initials and plurals", () => {
    expect(initials("Ada King Lovelace", "a@x.io")).toBe("AL");
    expect(initials("", "zed@x.io")).toBe("ZE");
    expect(plural(1, "row")).toBe("1 row");
    expect(plural(1200, "person", "people")).toBe("1,200 people");
  });
});

describe("expiry inputs", () => {
  it("round-trips local input and RFC 3339", () => {
    const rfc = localInputToRfc3339("2027-01-31T17:00");
    expect(rfc).toMatch(/^2027-01-31T\d\d:00:00Z$/);
    expect(rfc3339ToLocalInput(rfc!)).toBe("2027-01-31 17:00");
    expect(localInputToRfc3339("")).toBeNull();
    expect(localInputToRfc3339("not a date")).toBeUndefined();
  });
  it("knows the past", () => {
    const now = new Date("2026-11-23T17:00:00Z");
    expect(isPast("2026-11-23T16:59:59Z", now)).toBe(true);
    expect(isPast(inSeconds(3, now), now)).toBe(false);
    expect(isPast(null, now)).toBe(false);
  });
  it("parses durations like the CLI", () => {
    expect(parseDuration("90d")).toBe(90 * 86400);
    expect(parseDuration("3s")).toBe(3);
    expect(Number.isNaN(parseDuration("soon"))).toBe(true);
  });
});

describe("the invite form", () => {
  it("splits pasted lists in every common shape", () => {
    expect(splitPasted("a@x.io, b@x.io;c@x.io\n d@x.io <e@x.io> mailto:f@x.io")).toEqual(["a@x.io", "b@x.io", "c@x.io", "d@x.io", "e@x.io", "f@x.io"]);
  });
  it("adds pasted emails once, replacing the empty placeholder row", () => {
    let rows = [blankRow("member")];
    rows = addPasted(rows, "a@x.io, A@X.io, b@x.io", "admin");
    expect(rows.map((r) => [r.email, r.role])).toEqual([["a@x.io", "admin"], ["b@x.io", "admin"]]);
    rows = addPasted(rows, "b@x.io c@x.io", "member");
    expect(rows.map((r) => r.email)).toEqual(["a@x.io", "b@x.io", "c@x.io"]);
  });
  it("names each bad row before sending", () => {
    const now = new Date("2026-11-23T17:00:00Z");
    const rows = [
      { ...blankRow("member"), email: "ok@x.io" },
      { ...blankRow("member"), email: "nope" },
      { ...blankRow("member"), email: "OK@x.io" },
      { ...blankRow("member"), email: "" },
      { ...blankRow("member"), email: "late@x.io", expires: "2020-01-01T00:00" },
    ];
    const p = rowProblems(rows, now);
    expect(p.has(1)).toBe(false);
    expect(p.get(2)).toContain("not an email");
    expect(p.get(3)).toContain("twice");
    expect(p.get(4)).toContain("empty");
    expect(p.get(5)).toContain("past");
  });
  it("builds a mailto link carrying the code", () => {
    const link = mailtoLink("a@x.io", "Acme", "ghi_TOKEN", "tomorrow");
    expect(link.startsWith("mailto:a%40x.io?subject=")).toBe(true);
    expect(decodeURIComponent(link)).toContain("gatehouse://invite/ghi_TOKEN");
    expect(invitationText("Acme", "ghi_T", "x")).toContain("gatehouse invites accept ghi_T");
  });
});

describe("paging", () => {
  it("counts pages and windows them", () => {
    expect(pageCount(0, 25)).toBe(1);
    expect(pageCount(1_000_000, 50)).toBe(20_000);
    expect(pageWindow(1, 1)).toEqual([1]);
    expect(pageWindow(5, 20)).toEqual([1, null, 4, 5, 6, null, 20]);
    expect(pageWindow(2, 4)).toEqual([1, 2, 3, 4]);
    // A lower bound: no page claims to be the last (74 would, for "1,840+" at 25 a page).
    expect(pageWindow(1, 74, 1, true)).toEqual([1, 2, null]);
    expect(pageWindow(5, 74, 1, true)).toEqual([1, null, 4, 5, 6, null]);
    expect(rangeLabel(2, 50, 1_000_000)).toBe("51–100 of 1,000,000");
    expect(rangeLabel(1, 50, 0)).toBe("0 of 0");
  });
});

describe("what a role may do", () => {
  const admin: MyAccess = { organization: { slug: "acme", name: "Acme" }, is_owner: false, permissions: ["org.view", "members.invite", "members.manage"], grantable_roles: ["admin", "member"] };
  const owner: MyAccess = { organization: { slug: "acme", name: "Acme" }, is_owner: true, permissions: [], grantable_roles: ["owner", "admin", "member"] };
  it("greys out what the permissions do not cover, with the reason", () => {
    expect(can(admin, "invite")).toBe(true);
    expect(can(admin, "viewAudit")).toBe(false);
    expect(whyNot(admin, "viewAudit")).toBe("Your role here does not let you read the audit log");
    expect(can(owner, "manageOwners")).toBe(true);
    expect(can(null, "invite")).toBe(false);
  });
  it("refuses acting on owners without owners.manage, and on oneself", () => {
    expect(canActOn(admin, ["owner"], "me@x.io", "o@x.io")).toBe("Only an owner can change an owner");
    expect(canActOn(admin, ["member"], "me@x.io", "m@x.io")).toBe("");
    expect(canActOn(owner, ["owner"], "me@x.io", "ME@x.io")).toContain("your own access");
  });
  it("offers only the roles the core says the caller may hand out, and says which are left out", () => {
    const roles = [{ name: "owner" }, { name: "admin" }, { name: "member" }];
    expect(grantable(admin, roles).map((r) => r.name)).toEqual(["admin", "member"]);
    expect(grantable(owner, roles).map((r) => r.name)).toEqual(["owner", "admin", "member"]);
    expect(withheldNote(admin, roles)).toMatch(/^Not offered: owner\. .*only an owner can make an owner/);
    expect(withheldNote(owner, roles)).toBe("");
    expect(grantable(null, roles)).toEqual([]);
  });
});

describe("member statuses", () => {
  it("tells invitations from memberships for every status the core sends", () => {
    const all: MemberStatus[] = ["active", "disabled", "expired", "pending", "rejected", "invitation_expired"];
    expect(all.filter((status) => isInvitation({ status }))).toEqual(["pending", "rejected", "invitation_expired"]);
    for (const s of all) expect(statusLabel(s)).not.toBe(s);
  });
});

describe("self-refresh on expiry", () => {
  const row = (status: MemberStatus, at: string | null): MemberRow => ({ email: "a@x.io", name: "A", roles: ["member"], status, confirmed: true, enabled: true, created_at: "2026-01-01T00:00:00Z", last_login_at: null, access_expires_at: at });
  it("waits until the soonest active expiry on the page has passed", () => {
    const now = new Date("2026-11-23T17:00:00Z");
    expect(nextRefreshDelay([row("active", "2026-11-23T17:00:03Z"), row("active", "2026-11-23T18:00:00Z")], now)).toBe(3600);
    expect(nextRefreshDelay([row("expired", "2026-11-23T16:00:00Z"), row("disabled", "2026-11-23T17:00:03Z")], now)).toBeNull();
    expect(nextRefreshDelay([row("active", "2026-12-30T00:00:00Z")], now)).toBeNull();
  });
});

describe("audit details", () => {
  it("flattens details into one line", () => {
    expect(detailsText({ role: "admin", from: "member", none: null })).toBe("role: admin · from: member");
    expect(detailsText(null)).toBe("");
  });
});

describe("popovers stay on screen", () => {
  const view = { width: 960, height: 600 };
  it("opens below its button, right edges aligned", () => {
    const p = placePopup({ top: 100, left: 800, width: 30, height: 30 }, { width: 220, height: 200 }, view);
    expect(p).toMatchObject({ top: 134, left: 610, above: false });
  });
  it("opens above a button near the bottom, whole", () => {
    const p = placePopup({ top: 560, left: 900, width: 30, height: 30 }, { width: 220, height: 240 }, view);
    expect(p.above).toBe(true);
    expect(p.top).toBe(560 - 4 - 240);
    expect(p.top + 240).toBeLessThanOrEqual(600 - 8);
    expect(p.left + 220).toBeLessThanOrEqual(960 - 8);
  });
  it("is pulled inside the left edge and shrinks to the room there is", () => {
    const p = placePopup({ top: 300, left: 0, width: 30, height: 30 }, { width: 220, height: 2000 }, view);
    expect(p.left).toBe(8);
    expect(p.top).toBeGreaterThanOrEqual(8);
    expect(p.maxHeight).toBeLessThan(600);
  });
});

describe("typed expiry dates", () => {
  const now = new Date(2026, 10, 23, 12, 0, 0);
  it("reads a day (to its end), a day and time, and a duration", () => {
    expect(parseTypedExpiry("2026-12-31", now)).toEqual({ at: new Date(2026, 11, 31, 23, 59, 59).toISOString().replace(/\.\d{3}Z$/, "Z") });
    expect(parseTypedExpiry("2026-12-31 17:05", now)).toEqual({ at: new Date(2026, 11, 31, 17, 5, 0).toISOString().replace(/\.\d{3}Z$/, "Z") });
    expect(parseTypedExpiry("2026-12-31T17:05:09", now)).toEqual({ at: new Date(2026, 11, 31, 17, 5, 9).toISOString().replace(/\.\d{3}Z$/, "Z") });
    expect(parseTypedExpiry("2d", now)).toEqual({ at: new Date(2026, 10, 25, 12, 0, 0).toISOString().replace(/\.\d{3}Z$/, "Z") });
  });
  it("says what is wrong with half a date, a date that does not exist, and the past", () => {
    expect(parseTypedExpiry("2030-1", now)).toMatchObject({ error: expect.stringMatching(/Not a date yet/) });
    expect(parseTypedExpiry("2027-02-30", now)).toMatchObject({ error: expect.stringMatching(/no such day/) });
    expect(parseTypedExpiry("2020-01-01", now)).toMatchObject({ error: expect.stringMatching(/passed/) });
    expect(parseTypedExpiry("  ", now)).toBeNull();
  });
  it("gives the commands never, a preset, or the date; nothing while the date is unfinished", () => {
    expect(expiryValue("", "", now)).toBeNull();
    expect(expiryValue("30d", "", now)).toBe("30d");
    expect(expiryValue("date", "2030-1", now)).toBeUndefined();
    expect(expiryValue("date", "2027-01-02", now)).toMatch(/^2027-01-0[23]T/);
  });
});

describe("refused invite rows", () => {
  it("finds each row the core names", () => {
    const m = "email: nothing was invited: 2 of 3 rows refused: row 1 (a@x.io): a@x.io is already a member of acme; row 3 (c@x.io): role: no role 'boss' in acme";
    expect([...refusedRows(m, 3)]).toEqual([
      [1, "A@x.io is already a member of acme"],
      [3, "No role 'boss' in acme"],
    ]);
  });
  it("puts a one-row refusal on that row, and marks nothing it cannot place", () => {
    expect([...refusedRows("bob@x.io already has an open invitation; resend or revoke it", 1)]).toEqual([[1, "Bob@x.io already has an open invitation; resend or revoke it"]]);
    expect(refusedRows("the database is unavailable", 2).size).toBe(0);
  });
});

describe("refusals in words", () => {
  it("says who may, instead of naming a permission", () => {
    expect(plainWords("only holders of owners.manage may grant the owner role")).toBe("only an owner may grant the owner role");
    expect(plainWords("you lack the permission audit.view")).toBe("your role here does not include audit.view");
  });
});

describe("why a bulk change leaves someone out", () => {
  it("says it in words, not in permission names or error codes", () => {
    const me = "olivia@acme.test";
    expect(skipReason({ email: "Olivia@acme.test", reason: "you cannot enable or disable yourself" }, me)).toMatch(/^you:/);
    expect(skipReason({ email: "o2@acme.test", reason: "only holders of owners.manage may act on an owner" }, me)).toBe(
      "an owner: only an owner may change an owner",
    );
    const last = skipReason({ email: "o3@acme.test", reason: "last_owner: disabling would leave the organization without an owner" }, me);
    expect(last).toMatch(/last owner/);
    expect(last).not.toMatch(/last_owner|owners\.manage/);
    expect(skipReason({ email: "x@acme.test", reason: "something else" }, me)).toBe("something else");
  });
});

describe("dates in table cells", () => {
  it("keep the year and one width: YYYY-MM-DD in local time, a dash for none", () => {
    const d = new Date(2026, 10, 2, 23, 59);
    expect(formatCellDate(d.toISOString())).toBe("2026-11-02");
    expect(formatCellDate(new Date(2027, 0, 31).toISOString())).toHaveLength(10);
    expect(formatCellDate(null)).toBe("—");
    expect(formatCellDate("not a date")).toBe("not a date");
  });
});
