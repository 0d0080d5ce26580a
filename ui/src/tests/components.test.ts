import { describe, expect, it, vi, beforeEach } from "vitest";
import { render, screen, fireEvent, waitFor } from "@testing-library/svelte";
import { tick } from "svelte";

// The Tauri bridge, replaced by a scripted fake: these tests cover the UI's own logic.
const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));

import ErrorNote from "../components/ErrorNote.svelte";
import SignIn from "../screens/SignIn.svelte";
import Users from "../screens/Users.svelte";
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
    render(SignIn, { ondone: vi.fn(), onaccept: vi.fn() });
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
    app.orgs = [{ slug: "acme", name: "Acme" }];
    app.account = { email: "me@x.io", name: "Me" };
    app.access = { organization: { slug: "acme", name: "Acme" }, ...access };
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === "list_roles") return [{ name: "admin", description: "", owner: false, permissions: [], grants: 1 }];
      if (cmd === "list_members") return page([{ email: "a@x.io", name: "Ada L", roles: ["member"], status: "active", confirmed: true, enabled: true, created_at: "2026-01-01T00:00:00Z", last_login_at: null, access_expires_at: null }], 1);
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
      expect(invoke).toHaveBeenLastCalledWith("list_members", { org: "acme", filter: { search: undefined, status: "disabled", role: undefined }, sort: "role", descending: false, page: 1, perPage: 25 }),
    );
  });

  it("asks before disabling all matching, and says how many", async () => {
    setup({ is_owner: true, permissions: [] });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    await fireEvent.click(screen.getByRole("button", { name: "Disable all matching" }));
    await tick();
    expect(screen.getByRole("dialog").textContent).toContain("1 row");
    await fireEvent.click(screen.getByRole("button", { name: "Disable 1" }));
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("set_members_enabled", { org: "acme", emails: [], allMatching: { search: undefined, status: undefined, role: undefined }, enabled: false }));
  });

  it("disables bulk actions without members.manage, saying why", async () => {
    setup({ is_owner: false, permissions: ["org.view"] });
    render(Users);
    await waitFor(() => expect(screen.getByText("a@x.io")).toBeTruthy());
    const b = screen.getByRole("button", { name: "Disable all matching" }) as HTMLButtonElement;
    expect(b.disabled).toBe(true);
    expect(b.title).toContain("members.manage");
  });
});
