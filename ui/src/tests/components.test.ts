import { describe, expect, it, vi, beforeEach } from "vitest";
import { render, screen, fireEvent, waitFor } from "@testing-library/svelte";
import { tick } from "svelte";

// The Tauri bridge, replaced by a scripted fake: these tests cover the UI's own logic.
const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
// Events from the Rust side: a test sends them with `emit`.
const listeners = new Map<string, Set<(e: { payload: unknown }) => void>>();
vi.mock("@tauri-apps/api/event", () => ({
  listen: async (name: string, handler: (e: { payload: unknown }) => void) => {
    if (!listeners.has(name)) listeners.set(name, new Set());
    listeners.get(name)!.add(handler);
    return () => listeners.get(name)!.delete(handler);
  },
}));
function emit(name: string, payload: unknown) {
  for (const h of listeners.get(name) ?? []) h({ payload });
}

import ErrorNote from "../components/ErrorNote.svelte";
import SignIn from "../screens/SignIn.svelte";
import ChooseDatabase from "../screens/ChooseDatabase.svelte";
import DatabaseSettings from "../components/DatabaseSettings.svelte";
import Users from "../screens/Users.svelte";
import RowMenu from "../components/RowMenu.svelte";
import ExpiryHost from "./ExpiryHost.svelte";
import { app } from "../lib/state.svelte";

const page = (items: unknown[] = [], total = items.length) => ({
  items,
  page: 1,
  per_page: 25,
  total,
  counts: { active: total, disabled: 0, expired: 0, pending: 0, rejected: 0, invitation_expired: 0, total },
});

beforeEach(() => {
  invoke.mockReset();
});

describe("ErrorNote", () => {
  it("shows a refusal in words with the field", () => {
    render(ErrorNote, { error: { code: "invalid_input", field: "email", message: "email: is empty" } });
    expect(screen.getByRole("alert").textContent).toBe("Email: is empty");
  });
});

describe("SignIn", () => {
  it("explains a lockout and clears the password", async () => {
    invoke.mockRejectedValueOnce({ code: "unauthenticated", message: "too many failed sign-ins: locked for 30 s" });
    render(SignIn, { ondone: vi.fn(), onaccept: vi.fn(), ondatabase: vi.fn() });
    const email = screen.getByLabelText("Email") as HTMLInputElement;
    const password = screen.getByLabelText("Password") as HTMLInputElement;
    await fireEvent.input(email, { target: { value: "a@x.io" } });
    await fireEvent.input(password, { target: { value: "wrong" } });
    await fireEvent.submit(email.form!);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("locked"));
    expect(invoke).toHaveBeenCalledWith("sign_in", { email: "a@x.io", password: "wrong" });
    expect(screen.getByText(/longer after each further failure/)).toBeTruthy();
    expect(password.value).toBe("");
  });
});

describe("Users", () => {
  function setup(access: { is_owner: boolean; permissions: string[] }) {
    app.org = "acme";
    app.orgs = [{ slug: "acme", name: "Acme", workspace_access: "separate" }];
    app.account = { email: "me@x.io", name: "Me" };
    app.access = { organization: { slug: "acme", name: "Acme" }, grantable_roles: access.is_owner ? ["owner", "admin", "member"] : [], ...access };
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "list_roles") return [{ name: "admin", description: "", owner: false, permissions: [], grants: 1 }];
      if (cmd === "list_members") return page([{ email: "a@x.io", name: "Ada L", roles: ["member"], workspaces: [], status: "active", confirmed: true, enabled: true, created_at: "2026-01-01T00:00:00Z", last_login_at: null, access_expires_at: null }], 1);
      if (cmd === "set_members_enabled") return { rows: [], changed: 1, skipped: 0 };
      throw new Error("unexpected " + cmd);
    });
  }

  it("sends the status filter and the sort to the command", async () => {
    setup({ is_owner: true, permissions: [] });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    await fireEvent.change(screen.getByLabelText("Status"), { target: { value: "disabled" } });
    await fireEvent.click(screen.getByRole("button", { name: /Roles/ }));
    await waitFor(() =>
      expect(invoke).toHaveBeenLastCalledWith("list_members", { org: "acme", filter: { search: undefined, status: "disabled", role: undefined }, sort: "role", descending: false, page: 1, perPage: 25, countLimit: 1000, after: null }),
    );
  });

  it("asks Next and Previous by the page before's `next`, and starts over on a new sort", async () => {
    setup({ is_owner: true, permissions: [] });
    const list = invoke.getMockImplementation()!;
    invoke.mockImplementation(async (cmd: string, args: unknown) => {
      if (cmd !== "list_members") return list(cmd, args);
      const a = args as { page: number };
      // 60 rows: pages 1 and 2 are full (and say where the next starts), page 3 is not.
      return { ...(await list(cmd, args)), page: a.page, total: 60, next: a.page < 3 ? `after-page-${a.page}` : undefined };
    });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    const last = () => invoke.mock.calls.filter((c) => c[0] === "list_members").at(-1)![1] as { page: number; after: string | null; sort: string };
    const pager = (name: string) => screen.getByRole("button", { name });
    await fireEvent.click(pager("Next page"));
    await waitFor(() => expect(last()).toMatchObject({ page: 2, after: "after-page-1" }));
    await fireEvent.click(pager("Next page"));
    await waitFor(() => expect(last()).toMatchObject({ page: 3, after: "after-page-2" }));
    await fireEvent.click(pager("Previous page"));
    await waitFor(() => expect(last()).toMatchObject({ page: 2, after: "after-page-1" }));
    await fireEvent.click(pager("Previous page"));
    await waitFor(() => expect(last()).toMatchObject({ page: 1, after: null }));
    // A new sort forgets the starts: page 2 of it is asked by its number until page 1 says where.
    await fireEvent.click(screen.getByRole("button", { name: /Roles/ }));
    await waitFor(() => expect(last()).toMatchObject({ page: 1, after: null, sort: "role" }));
    await fireEvent.click(pager("Next page"));
    await waitFor(() => expect(last()).toMatchObject({ page: 2, after: "after-page-1", sort: "role" }));
  });

  it("asks before disabling all matching, and says exactly what will change", async () => {
    setup({ is_owner: true, permissions: [] });
    const list = invoke.getMockImplementation()!;
    // Three rows match (Ada, the person confirming, an invitation); one person changes.
    invoke.mockImplementation(async (cmd: string, args: unknown) => {
      if (cmd === "list_members") return { ...(await list(cmd, args)), total: 3 };
      if (cmd === "preview_members_enabled")
        return {
          rows: [
            { email: "a@x.io", result: "disabled", reason: null },
            { email: "me@x.io", result: "skipped", reason: "you cannot enable or disable yourself" },
          ],
          changed: 1,
          skipped: 1,
          dry_run: true,
        };
      return list(cmd, args);
    });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    await fireEvent.click(screen.getByRole("button", { name: "Disable all matching" }));
    await waitFor(() => expect(screen.getByRole("dialog").textContent).toContain("This will disable 1 member."));
    const text = screen.getByRole("dialog").textContent!;
    expect(text).toContain("me@x.io: you: no one enables or disables themself");
    expect(text).toContain("1 invitation matches too");
    expect(invoke).toHaveBeenCalledWith("preview_members_enabled", { org: "acme", emails: [], allMatching: { search: undefined, status: undefined, role: undefined }, enabled: false });
    expect(invoke).not.toHaveBeenCalledWith("set_members_enabled", expect.anything());
    await tick();
    await fireEvent.click(screen.getByRole("button", { name: "Disable 1" }));
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("set_members_enabled", { org: "acme", emails: [], allMatching: { search: undefined, status: undefined, role: undefined }, enabled: false, job: expect.stringMatching(/^bulk-/) }));
  });

  it("shows a bulk disable's progress, and a cancel says nothing was changed", async () => {
    setup({ is_owner: true, permissions: [] });
    const list = invoke.getMockImplementation()!;
    let answer: { reject: (e: unknown) => void } | null = null;
    invoke.mockImplementation(async (cmd: string, args: unknown) => {
      if (cmd === "preview_members_enabled") return { rows: [{ email: "a@x.io", result: "disabled", reason: null }], changed: 3312, skipped: 0, dry_run: true };
      // The job runs until the test cancels it.
      if (cmd === "set_members_enabled") return new Promise((_, reject) => (answer = { reject }));
      if (cmd === "cancel_bulk") return null;
      return list(cmd, args);
    });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    await fireEvent.click(screen.getByRole("button", { name: "Disable all matching" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Disable 3,312" })).toBeTruthy());
    await fireEvent.click(screen.getByRole("button", { name: "Disable 3,312" }));
    await waitFor(() => expect(answer).not.toBeNull());
    const job = invoke.mock.calls.find((c) => c[0] === "set_members_enabled")![1].job as string;
    expect(screen.getByRole("dialog").textContent).toContain("Finding the matching members…");
    emit("bulk-progress", { job, done: 0, total: 3313 });
    emit("bulk-progress", { job: "another", done: 3000, total: 3313 });
    emit("bulk-progress", { job, done: 1200, total: 3313 });
    await tick();
    const bar = screen.getByRole("dialog").querySelector("progress")!;
    expect(Number(bar.value)).toBeCloseTo(1200 / 3313);
    expect(screen.getByRole("dialog").textContent).toContain("Disabling: 1,200 of 3,313 members checked");
    // Escape (closing the dialog) while it runs means Cancel.
    await fireEvent.keyDown(screen.getByRole("dialog"), { key: "Escape" });
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("cancel_bulk", { job }));
    expect(screen.getByRole("button", { name: "Cancelling…" })).toBeTruthy();
    answer!.reject({ code: "conflict", reason: "cancelled", message: "cancelled; nothing was changed" });
    await waitFor(() => expect(screen.getByRole("status").textContent).toBe("Cancelled. Nothing was changed: no member was disabled."));
    expect(screen.queryByRole("alert")).toBeNull();
    await fireEvent.click(document.querySelector('[role="dialog"] footer button.primary')!);
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  });

  it("disables the selected rows with the same confirmation and progress, then clears the selection", async () => {
    setup({ is_owner: true, permissions: [] });
    const list = invoke.getMockImplementation()!;
    invoke.mockImplementation(async (cmd: string, args: unknown) => {
      if (cmd === "preview_members_enabled") return { rows: [{ email: "a@x.io", result: "disabled", reason: null }], changed: 1, skipped: 0, dry_run: true };
      return list(cmd, args);
    });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    expect(screen.queryByRole("button", { name: "Disable selected" })).toBeNull();
    await fireEvent.click(screen.getByRole("checkbox", { name: "Select a@x.io" }));
    expect(screen.getByText("selected").textContent).toContain("selected");
    expect((screen.getByRole("checkbox", { name: "Select every member on this page" }) as HTMLInputElement).checked).toBe(true);
    await fireEvent.click(screen.getByRole("button", { name: "Disable selected" }));
    await waitFor(() => expect(screen.getByRole("dialog").textContent).toContain("This will disable 1 member."));
    expect(screen.getByRole("dialog").textContent).toContain("The 1 selected member.");
    expect(invoke).toHaveBeenCalledWith("preview_members_enabled", { org: "acme", emails: ["a@x.io"], allMatching: null, enabled: false });
    await fireEvent.click(screen.getByRole("button", { name: "Disable 1" }));
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("set_members_enabled", { org: "acme", emails: ["a@x.io"], allMatching: null, enabled: false, job: expect.stringMatching(/^bulk-/) }));
    await waitFor(() => expect(screen.getByText(/1 member changed/)).toBeTruthy());
    expect(screen.queryByRole("button", { name: "Disable selected" })).toBeNull();
    expect((screen.getByRole("checkbox", { name: "Select a@x.io" }) as HTMLInputElement).checked).toBe(false);
  });

  it("offers no selection without members.manage", async () => {
    setup({ is_owner: false, permissions: ["org.view"] });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    expect(screen.queryByRole("checkbox")).toBeNull();
  });

  it("shows a count that stopped at the limit as 1,000+, says it is an estimate, and a click filters exactly", async () => {
    setup({ is_owner: true, permissions: [] });
    const list = invoke.getMockImplementation()!;
    invoke.mockImplementation(async (cmd: string, args: unknown) => {
      if (cmd !== "list_members") return list(cmd, args);
      const base = await list(cmd, args);
      return { ...base, total: 1000, counts: { ...base.counts, active: 1000, disabled: 12, total: 1012 }, estimated: ["active", "total"] };
    });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    const active = document.querySelector('[data-count="active"]') as HTMLButtonElement;
    expect(active.textContent).toContain("1,000+");
    expect(active.title).toContain("at least 1,000 (an estimate");
    const disabled = document.querySelector('[data-count="disabled"]') as HTMLButtonElement;
    expect(disabled.textContent).toContain("12");
    expect(disabled.textContent).not.toContain("+");
    expect(disabled.title).toContain("exactly 12");
    expect(document.querySelector('[data-count="total"]')!.textContent).toContain("1,012+");
    expect(document.querySelector("[data-estimate-note]")!.textContent).toContain("+ means at least");
    await fireEvent.click(active);
    await waitFor(() =>
      expect(invoke).toHaveBeenLastCalledWith("list_members", expect.objectContaining({ filter: { search: undefined, status: "active", role: undefined }, countLimit: 1000 })),
    );
  });

  it("claims no last page when the total is a lower bound", async () => {
    setup({ is_owner: true, permissions: [] });
    const row = (i: number) => ({ email: `m${i}@x.io`, name: `M ${i}`, roles: ["member"], workspaces: [], status: "active", confirmed: true, enabled: true, created_at: "2026-01-01T00:00:00Z", last_login_at: null, access_expires_at: null });
    const list = invoke.getMockImplementation()!;
    invoke.mockImplementation(async (cmd: string, args: unknown) => {
      if (cmd !== "list_members") return list(cmd, args);
      const items = Array.from({ length: 25 }, (_, i) => row(i));
      return { ...page(items, 1840), counts: { active: 1840, disabled: 0, expired: 0, pending: 0, rejected: 0, invitation_expired: 0, total: 1840 }, estimated: ["active", "total"], next: "m24@x.io" };
    });
    render(Users);
    await waitFor(() => expect(screen.getByText("m0@x.io")).toBeTruthy());
    const pager = document.querySelector(".pager") as HTMLElement;
    expect(pager.textContent).toContain("1–25 of 1,840+");
    const numbers = [...pager.querySelectorAll("button")].map((b) => b.textContent!.trim()).filter((t) => /^[\d,]+$/.test(t));
    expect(numbers).toEqual(["1", "2"]);
    expect(pager.querySelector("[data-more]")!.getAttribute("title")).toContain("last page is not known");
    expect((screen.getByRole("button", { name: "Next page" }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("offers no bulk actions without members.manage, and says why in words", async () => {
    setup({ is_owner: false, permissions: ["org.view"] });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    expect(screen.queryByRole("button", { name: "Disable all matching" })).toBeNull();
    expect(screen.getByText(/does not let you change members/)).toBeTruthy();
  });

  it("shows a resent invitation's new code where the resend happened", async () => {
    setup({ is_owner: true, permissions: [] });
    const token = "ghi_" + "ab".repeat(32);
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "list_roles") return [];
      if (cmd === "list_members") return page([{ email: "p@x.io", name: "", roles: ["member"], workspaces: [], status: "pending", confirmed: false, enabled: true, created_at: "2026-01-01T00:00:00Z", last_login_at: null, access_expires_at: null }], 1);
      if (cmd === "resend_invitation") return { invitations: [{ email: "p@x.io", role: "member", token, valid_until: "2030-01-01T00:00:00Z", access_expires_at: null }] };
      throw new Error("unexpected " + cmd);
    });
    render(Users);
    await waitFor(() => expect(screen.getAllByText("p@x.io").length).toBeGreaterThan(0));
    await fireEvent.click(screen.getByRole("button", { name: "Actions for p@x.io" }));
    await fireEvent.click(await screen.findByRole("menuitem", { name: /Resend invitation/ }));
    const dialog = await screen.findByRole("dialog");
    expect(dialog.querySelector(`code[data-token="${token}"]`)).toBeTruthy();
    expect(dialog.querySelector(`button[data-copy="${token}"]`)).toBeTruthy();
    expect(dialog.querySelector('a[href^="mailto:p%40x.io"]')).toBeTruthy();
  });

  it("clears every filter with one button, which then goes away", async () => {
    setup({ is_owner: true, permissions: [] });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    expect(screen.queryByRole("button", { name: "Clear filters" })).toBeNull();
    await fireEvent.change(screen.getByLabelText("Status"), { target: { value: "disabled" } });
    await fireEvent.click(await screen.findByRole("button", { name: "Clear filters" }));
    expect((screen.getByLabelText("Status") as HTMLSelectElement).value).toBe("all");
    await waitFor(() => expect(screen.queryByRole("button", { name: "Clear filters" })).toBeNull());
    expect(document.activeElement).toBe(screen.getByLabelText("Search"));
  });
});

describe("ExpiryInput", () => {
  it("says Never when empty, and holds no value while a date is half typed", async () => {
    render(ExpiryHost);
    expect(screen.getByText("Never expires")).toBeTruthy();
    const choice = screen.getByLabelText("Access expires") as HTMLSelectElement;
    expect(choice.value).toBe("");
    await fireEvent.change(choice, { target: { value: "date" } });
    const date = screen.getByLabelText("Access expires: date and time") as HTMLInputElement;
    await fireEvent.input(date, { target: { value: "2030-1" } });
    expect(screen.getByText(/Not a date yet/)).toBeTruthy();
    expect(screen.getByTestId("host").textContent).toBe("|false");
    await fireEvent.input(date, { target: { value: "2030-01-02 10:00" } });
    expect(screen.getByTestId("host").textContent).toMatch(/^2030-01-0[12]T\d\d:00:00Z\|true$/);
    await fireEvent.change(choice, { target: { value: "30d" } });
    expect(screen.getByTestId("host").textContent).toBe("30d|true");
  });
});

describe("RowMenu", () => {
  it("opens on the first item, moves with arrows, says why an item is unavailable, and closes back to its button", async () => {
    const picked = vi.fn();
    render(RowMenu, { label: "Actions for x", items: [
      { label: "View details", action: picked },
      { label: "Change role…", action: picked, disabled: "Only an owner can change an owner" },
      { label: "Remove…", action: picked, danger: true },
    ] });
    const trigger = screen.getByRole("button", { name: "Actions for x" });
    await fireEvent.click(trigger);
    await tick();
    const items = screen.getAllByRole("menuitem");
    expect(document.activeElement).toBe(items[0]);
    await fireEvent.keyDown(items[0], { key: "ArrowDown" });
    expect(document.activeElement).toBe(items[1]);
    expect(items[1].getAttribute("aria-disabled")).toBe("true");
    expect(items[1].textContent).toContain("Only an owner can change an owner");
    await fireEvent.click(items[1]);
    expect(picked).not.toHaveBeenCalled();
    await fireEvent.keyDown(items[1], { key: "End" });
    expect(document.activeElement).toBe(items[2]);
    await fireEvent.keyDown(items[2], { key: "Escape" });
    await tick();
    expect(screen.queryByRole("menu")).toBeNull();
    expect(document.activeElement).toBe(trigger);
    // The menu lives in the popover layer, outside the table that holds its button.
    await fireEvent.keyDown(trigger, { key: "ArrowUp" });
    await tick();
    const menu = screen.getByRole("menu");
    expect(menu.parentElement).toBe(document.body);
    expect(document.activeElement).toBe(screen.getAllByRole("menuitem")[2]);
    await fireEvent.click(screen.getAllByRole("menuitem")[2]);
    expect(picked).toHaveBeenCalledTimes(1);
    expect(document.activeElement).toBe(trigger);
  });
});

describe("ChooseDatabase", () => {
  it("offers this computer first and sends the choice", async () => {
    const ondone = vi.fn();
    invoke.mockResolvedValueOnce({ state: "ready", message: "" });
    render(ChooseDatabase, { ondone });
    const local = screen.getByLabelText(/This computer/) as HTMLInputElement;
    expect(local.checked).toBe(true);
    expect(screen.queryByLabelText(/Server URL/)).toBeNull();
    await fireEvent.submit(local.form!);
    await waitFor(() => expect(ondone).toHaveBeenCalled());
    expect(invoke).toHaveBeenCalledWith("choose_database", { choice: { kind: "this_computer" } });
  });

  it("tries a team server and says why it cannot be reached, saving nothing", async () => {
    const ondone = vi.fn();
    invoke.mockRejectedValueOnce({
      code: "unavailable",
      field: "url",
      message: "cannot reach the database server gh@db.example:5432/gatehouse: connection refused",
    });
    render(ChooseDatabase, { ondone });
    await fireEvent.click(screen.getByLabelText(/A team server/));
    const url = (await screen.findByLabelText(/Server URL/)) as HTMLInputElement;
    await fireEvent.input(url, { target: { value: "  postgres://gh@db.example:5432/gatehouse " } });
    await fireEvent.submit(url.form!);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toMatch(/^Server URL: cannot reach the database server/));
    expect(url.getAttribute("aria-invalid")).toBe("true");
    expect(invoke).toHaveBeenCalledWith("choose_database", {
      choice: { kind: "team_server", url: "postgres://gh@db.example:5432/gatehouse" },
    });
    expect(ondone).not.toHaveBeenCalled();
  });
});

describe("DatabaseSettings", () => {
  it("shows the database in use, starts from its kind, and sends a change from the dialog's button", async () => {
    const ondone = vi.fn();
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "database_settings")
        return { current: { kind: "team_server", url: "postgres://gh@db.example:5432/gatehouse" }, shown: "postgres://gh@db.example:5432/gatehouse", this_computer: "/home/a/gatehouse.db", fixed: null };
      if (cmd === "choose_database") return { state: "ready", message: "" };
      throw new Error("unexpected " + cmd);
    });
    render(DatabaseSettings, { onclose: vi.fn(), ondone });
    await waitFor(() => expect(document.querySelector("[data-database]")?.textContent).toBe("postgres://gh@db.example:5432/gatehouse"));
    expect((screen.getByLabelText(/A team server/) as HTMLInputElement).checked).toBe(true);
    await fireEvent.click(screen.getByLabelText(/This computer/));
    await fireEvent.submit(document.getElementById("database-form") as HTMLFormElement);
    await waitFor(() => expect(ondone).toHaveBeenCalled());
    expect(invoke).toHaveBeenCalledWith("choose_database", { choice: { kind: "this_computer" } });
    expect(screen.getByRole("button", { name: "Use this database" })).toBeTruthy();
  });

  it("says why the database cannot change when $GATEHOUSE_DB names it, and offers no change", async () => {
    invoke.mockResolvedValueOnce({ current: { kind: "this_computer" }, shown: "/tmp/e.db", this_computer: "/tmp/e.db", fixed: "$GATEHOUSE_DB names the database (/tmp/e.db); unset it to choose the database here" });
    render(DatabaseSettings, { onclose: vi.fn(), ondone: vi.fn() });
    await waitFor(() => expect(screen.getByText(/unset it to choose the database here/)).toBeTruthy());
    expect(screen.queryByLabelText(/A team server/)).toBeNull();
    expect(screen.queryByRole("button", { name: "Use this database" })).toBeNull();
  });
});
