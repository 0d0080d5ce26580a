import { describe, expect, it } from "vitest";
import { describeError, ApiError } from "../api/errors";
import { formatTime, relativeTime, initials, statusLabel, statusTone, plural } from "../lib/format";
import { localInputToRfc3339, rfc3339ToLocalInput, isPast, inSeconds } from "../lib/expiry";
import { addPasted, blankRow, rowProblems, splitPasted, mailtoLink, invitationText } from "../lib/invite";
import { pageCount, pageWindow, rangeLabel } from "../lib/pages";
import { can, whyNot, canActOn } from "../lib/access";
import { nextRefreshDelay } from "../lib/members";
import { parseDuration } from "../lib/duration";
import { detailsText } from "../lib/audit";
import type { MyAccess } from "../bindings/MyAccess";
import type { MemberRow } from "../bindings/MemberRow";

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
    expect(rfc3339ToLocalInput(rfc!)).toBe("2027-01-31T17:00");
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
    expect(rangeLabel(2, 50, 1_000_000)).toBe("51–100 of 1,000,000");
    expect(rangeLabel(1, 50, 0)).toBe("0 of 0");
  });
});

describe("what a role may do", () => {
  const admin: MyAccess = { organization: { slug: "acme", name: "Acme" }, is_owner: false, permissions: ["org.view", "members.invite", "members.manage"] };
  const owner: MyAccess = { organization: { slug: "acme", name: "Acme" }, is_owner: true, permissions: [] };
  it("greys out what the permissions do not cover, with the reason", () => {
    expect(can(admin, "invite")).toBe(true);
    expect(can(admin, "viewAudit")).toBe(false);
    expect(whyNot(admin, "viewAudit")).toContain("audit.view");
    expect(can(owner, "manageOwners")).toBe(true);
    expect(can(null, "invite")).toBe(false);
  });
  it("refuses acting on owners without owners.manage, and on oneself", () => {
    expect(canActOn(admin, ["owner"], "me@x.io", "o@x.io")).toContain("owners.manage");
    expect(canActOn(admin, ["member"], "me@x.io", "m@x.io")).toBe("");
    expect(canActOn(owner, ["owner"], "me@x.io", "ME@x.io")).toContain("Leave");
  });
});

describe("self-refresh on expiry", () => {
  const row = (status: string, at: string | null): MemberRow => ({ email: "a@x.io", name: "A", roles: ["member"], status, confirmed: true, enabled: true, created_at: "2026-01-01T00:00:00Z", last_login_at: null, access_expires_at: at });
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
