// The desktop app as a tool for people who administer all day (issue 11): each test drives the real
// window the way a person does, by mouse or by keyboard alone, at the default size and at the
// smallest the window may be (960×600). The CLI sets up what each test needs, on the same database;
// run alone (scripts/e2e tests/e2e/tool.test.mjs) it makes the database itself.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  b, $, $$, start, stop, size, waitFor, type, click, textOf, gone, press, focused, isFocused, tabTo, hittable,
  assertHittable, shot, go, signOut, signIn, switchOrg, rowStatus, waitRowStatus, rowMenu, dialogButton, menuItem,
  exact, cli, cliOk, cliInvite, cliMember, orgShown, DB,
} from "./lib.mjs";

const OWNER = "olivia@acme.test";
const skip = !DB && "GATEHOUSE_E2E_DB is not set (run through scripts/e2e)";

before(async () => {
  if (skip) return;
  // The owner of app.test.mjs, or a fresh one when this file runs alone.
  if (!cliOk(["orgs", "list"], { as: OWNER })) {
    cli(["init", "--org", "Acme Corp", "--email", OWNER, "--name", "Olivia Owner"]);
  }
  // Globex: a small organization with an admin, two members and an open invitation.
  cli(["orgs", "create", "Globex"], { as: OWNER });
  cliMember("globex", "ada@globex.test", "Ada Admin", "admin");
  cliMember("globex", "bob@globex.test", "Bob Builder");
  cliMember("globex", "dana@globex.test", "Dana Diaz");
  cliInvite("globex", ["carol@globex.test"], "member");
  cli(["workspaces", "create", "--org", "globex", "Staging"], { as: OWNER });
  cli(["workspaces", "create", "--org", "globex", "Production"], { as: OWNER });
  cli(["service-accounts", "create", "--org", "globex", "ci-bot", "--role", "member"], { as: OWNER });
  // A bigger one, with members of every status and nameless invitations (demo names it by slug).
  cli(["demo", "--org", "wide", "--members", "300"], { as: OWNER });
  await start();
  await waitFor('input[name="email"]', 20000);
  await signIn(OWNER);
  await switchOrg("Globex");
});

after(async () => {
  await stop();
});

// A test that fails half-way must not leave a dialog, a menu or another person signed in for the next.
afterEach(async () => {
  if (skip || !b) return;
  for (let i = 0; i < 3; i++) {
    if (!(await (await $('[role="dialog"], [role="menu"]')).isExisting())) break;
    await press("Escape");
  }
  await size(1280, 800);
  const signedIn = await (await $('button[data-screen="users"]')).isExisting();
  const who = signedIn ? await b.execute(() => document.querySelector(".who .email")?.textContent ?? "") : "";
  if (signedIn && who.trim() === OWNER) return;
  if (signedIn) await signOut();
  if (await (await $("button=Cancel")).isExisting()) await click("button=Cancel");
  await waitFor('input[name="email"]');
  await signIn(OWNER);
  await switchOrg("Globex");
});

const t = (name, fn) => test(name, { skip }, fn);

// 1 ----------------------------------------------------------------------------------------------
t("Resend from the Users row menu shows the new code where it happened, and that code works", async () => {
  await go("users");
  await waitRowStatus("carol@globex.test", "pending");
  await rowMenu("carol@globex.test");
  await click(menuItem("Resend invitation"));
  const code = await waitFor('[role="dialog"] code.token');
  const token = await code.getAttribute("data-token");
  assert.match(token, /^ghi_[0-9a-f]{64}$/);
  const copy = await $(`[role="dialog"] button[data-copy="${token}"]`);
  assert.ok(await copy.isExisting(), "a button copies exactly the code");
  const mail = await $('[role="dialog"] a[href^="mailto:carol%40globex.test"]');
  assert.ok(await mail.isExisting(), "a mailto: link for carol");
  assert.ok(decodeURIComponent(await mail.getAttribute("href")).includes(token));
  await click(dialogButton("Done"));
  // The new code is the one that works.
  cli(["invites", "accept", token, "--name", "Carol Cruz"]);
  await b.execute(() => window.dispatchEvent(new Event("focus")));
  await go("invitations");
  await go("users");
  await waitRowStatus("carol@globex.test", "active");
});

// 2 ----------------------------------------------------------------------------------------------
t("The row menu of the last row is whole and on screen, at 960×600", async () => {
  await switchOrg("wide");
  await size(960, 600);
  const per = await waitFor('select[aria-label="Rows per page"]');
  await per.selectByAttribute("value", "100");
  await b.waitUntil(async () => (await $$("table.members tbody tr")).length === 100, { timeout: 15000 });
  const rows = await $$("table.members tbody tr");
  const last = rows[rows.length - 1];
  const email = await last.getAttribute("data-email");
  await last.scrollIntoView({ block: "end" });
  await click(`tr[data-email="${email}"] button[aria-haspopup="menu"]`);
  await waitFor('[role="menu"]');
  const items = await $$('[role="menu"] [role="menuitem"]');
  assert.ok(items.length >= 4, `only ${items.length} items`);
  for (let i = 1; i <= items.length; i++) {
    await assertHittable(`(//*[@role="menu"]//*[@role="menuitem"])[${i}]`, `menu item ${i} of the last row`);
  }
  await shot("14-row-menu-last-row", { sizes: [{ suffix: "-960", width: 960, height: 600 }] });
  await size(960, 600);
  await press("Escape");
  await gone('[role="menu"]');
  await size(1280, 800);
});

// 3 ----------------------------------------------------------------------------------------------
t("A big organization shows Email, Confirmed and Enabled, and clears its filters with one button", async () => {
  await go("users");
  const heads = await b.execute(() => [...document.querySelectorAll("table.members thead th")].map((th) => th.textContent.trim()));
  for (const h of ["Name", "Email", "Confirmed", "Enabled"]) {
    assert.ok(heads.some((x) => x.trim().toLowerCase().startsWith(h.toLowerCase())), `no ${h} column in ${heads}`);
  }
  // Filters, then one button clears them all.
  assert.equal(await (await $("button.clear-filters")).isExisting(), false, "nothing to clear yet");
  await type('input[aria-label="Search"]', "ada");
  await (await $('select[aria-label="Status"]')).selectByAttribute("value", "active");
  await click("button.clear-filters");
  await b.waitUntil(async () => (await (await $('input[aria-label="Search"]')).getValue()) === "", { timeout: 3000 });
  assert.equal(await (await $('select[aria-label="Status"]')).getValue(), "all");
  await gone("button.clear-filters");
  assert.ok(await isFocused('input[aria-label="Search"]'), "focus goes to the search box, not the top of the page");
  await shot("05-users-big");
});


// The name sort key of an invitation (no name) falls back to its email (migration 0004).
t("A big organization lists people by name, not nameless invitations first", async () => {
  await switchOrg("wide");
  await go("users");
  // By name, A to Z (it may be the sort already, or descending).
  for (let i = 0; i < 2; i++) {
    const order = await (await $("th.h-name")).getAttribute("aria-sort");
    if (order === "ascending") break;
    await click('button.sort[data-sort="name"]');
    await b.pause(400);
  }
  assert.equal(await (await $("th.h-name")).getAttribute("aria-sort"), "ascending");
  // Invitations have no name: they sort by their email among the names (or after them), never first.
  const first = await b.execute(() => [...document.querySelectorAll("table.members tbody tr")].slice(0, 5).map((tr) => `${tr.dataset.status} ${tr.querySelector("td.name").textContent.trim()}`));
  assert.ok(first.every((r) => /^(active|disabled|expired) \S/.test(r)), `nameless invitations come first: ${first}`);
});

// 8 ----------------------------------------------------------------------------------------------
t("The bulk confirmation says exactly what will change, and what is skipped and why", async () => {
  // Hooli: the owner (the person confirming), one member to disable, one already disabled, one
  // invitation. Four rows match; one person changes.
  cli(["orgs", "create", "Hooli"], { as: OWNER });
  cliMember("hooli", "ann@hooli.test", "Ann Arbor");
  cliMember("hooli", "ben@hooli.test", "Ben Bell");
  cli(["members", "disable", "--org", "hooli", "ben@hooli.test"], { as: OWNER });
  cliInvite("hooli", ["cid@hooli.test"], "member");
  await switchOrg("Hooli");
  await go("users");
  await waitRowStatus("ann@hooli.test", "active");
  await click("button=Disable all matching");
  await waitFor('[role="dialog"] .confirm-count');
  const text = await textOf('[role="dialog"]');
  assert.match(text, /This will disable 1 member\./);
  assert.match(text, /1 member already disabled/);
  assert.match(text, /1 invitation matches too/);
  assert.match(text, /olivia@acme\.test: you: no one enables or disables themself/);
  assert.doesNotMatch(text, /owners\.manage|last_owner/);
  await assertHittable(dialogButton("Disable 1"), "the confirm button names the exact count");
  await shot("06-bulk-confirm");
  // Nothing changed by looking.
  assert.equal(await rowStatus("ann@hooli.test"), "active");
  await click(dialogButton("Disable 1"));
  assert.match(await textOf(".bulk-result"), /1 member changed, 1 skipped/);
  await click(dialogButton("Close"));
  await waitRowStatus("ann@hooli.test", "disabled");
  assert.equal(await rowStatus(OWNER), "active");
  assert.equal(await rowStatus("cid@hooli.test"), "pending");
  // Now nothing would change: the button says so and cannot be pressed.
  await click("button=Disable all matching");
  await waitFor('[role="dialog"] .confirm-count');
  assert.match(await textOf('[role="dialog"] .confirm-count'), /Nothing would change/);
  assert.equal(await (await $(dialogButton("Disable 0"))).isEnabled(), false);
  await click(dialogButton("Cancel"));
  await gone('[role="dialog"]');
  await switchOrg("Globex");
});

// 9 ----------------------------------------------------------------------------------------------
t("At 960×600 the header and pager stay, dates stay on one line, and every action is reachable", async () => {
  await switchOrg("wide");
  await go("users");
  await size(960, 600);
  // The sidebar gets out of the way by itself, and can be opened and closed.
  // (The fold follows the media query's change event, which a loaded machine may deliver after
  // the resize itself: wait for it, as for the toggles below.)
  const aside = await waitFor("aside.sidebar");
  await b.waitUntil(async () => (await aside.getSize("width")) < 100, { timeout: 3000 }).catch(() => {});
  const w = await aside.getSize("width");
  assert.ok(w < 100, `the sidebar is ${w} px wide at ${await b.execute(() => innerWidth)}`);
  await click("button.collapse-toggle");
  await b.waitUntil(async () => (await aside.getSize("width")) > 180, { timeout: 3000, timeoutMsg: "never expanded" });
  await click("button.collapse-toggle");
  await b.waitUntil(async () => (await aside.getSize("width")) < 100, { timeout: 3000, timeoutMsg: "never collapsed" });

  await (await waitFor('select[aria-label="Rows per page"]')).selectByAttribute("value", "100");
  await b.waitUntil(async () => (await $$("table.members tbody tr")).length === 100, { timeout: 15000 });
  const rows = await $$("table.members tbody tr");
  await rows[99].scrollIntoView({ block: "end" });
  await b.pause(200);
  await assertHittable('button[aria-label="Next page"]', "the pager after scrolling 100 rows");
  await assertHittable('button.sort[data-sort="email"]', "the table header after scrolling 100 rows");
  // One line per date: a row is as tall as its avatar, not four lines of a wrapped date.
  const heights = await b.execute(() => [...document.querySelectorAll("table.members tbody tr")].slice(0, 30).map((r) => r.getBoundingClientRect().height));
  assert.ok(Math.max(...heights) <= 60, `rows up to ${Math.max(...heights)} px tall`);
  await assertHittable(`tr[data-email="${await rows[99].getAttribute("data-email")}"] button[aria-haspopup="menu"]`, "the last row's menu");
  await assertHittable(`tr[data-email="${await rows[99].getAttribute("data-email")}"] td.name .text`, "the last row's name");
  await shot("15-users-100-rows", { sizes: [{ suffix: "-960", width: 960, height: 600 }] });


  await size(960, 600);
  await go("invitations");
  await waitFor("table tbody tr");
  await assertHittable("(//table//tbody//tr)[1]//button[normalize-space(.)='Resend']", "Resend on the first invitation");
  await assertHittable("(//table//tbody//tr)[1]//button[normalize-space(.)='Revoke…']", "Revoke on the first invitation");

  await go("roles");
  const roleHeads = await $$("th[data-role]");
  assert.ok(roleHeads.length >= 4);
  for (const th of roleHeads) {
    const name = await th.getAttribute("data-role");
    await assertHittable(`th[data-role="${name}"]`, `the ${name} column of the roles matrix`);
  }
  await size(1280, 800);
});

// 10 ---------------------------------------------------------------------------------------------
t("Revoking an invitation or a service account asks first", async () => {
  await switchOrg("Globex");
  cliInvite("globex", ["erin@globex.test"], "member");
  await go("users");
  await go("invitations");
  await click("//tr[@data-email='erin@globex.test']//button[normalize-space(.)='Revoke…']");
  const dialog = await waitFor('[role="dialog"]');
  assert.match(await dialog.getText(), /erin@globex\.test/);
  await click(dialogButton("Cancel"));
  await gone('[role="dialog"]');
  assert.ok(await (await $("tr[data-email='erin@globex.test']")).isExisting(), "still open after Cancel");
  await click("//tr[@data-email='erin@globex.test']//button[normalize-space(.)='Revoke…']");
  await click(dialogButton("Revoke invitation"));
  await gone("tr[data-email='erin@globex.test']");

  await go("service-accounts");
  await click("//tr[@data-name='ci-bot']//button[normalize-space(.)='Revoke…']");
  await waitFor('[role="dialog"]');
  await shot("16-revoke-service-account");
  await click(dialogButton("Cancel"));
  await gone('[role="dialog"]');
  assert.match(await textOf("tr[data-name='ci-bot']"), /Active/);
  await click("//tr[@data-name='ci-bot']//button[normalize-space(.)='Revoke…']");
  await click(dialogButton("Revoke service account"));
  await b.waitUntil(async () => /Revoked/.test(await textOf("tr[data-name='ci-bot']")), { timeout: 10000 });
});

// 5 ----------------------------------------------------------------------------------------------
t("Notices never cover a dialog's buttons", async () => {
  await size(960, 600);
  await go("users");
  // A few things done in a row leave a few notices; then the person opens the next dialog.
  for (let i = 0; i < 3; i++) {
    await click("button=Export CSV");
    await b.pause(150);
  }
  await click('tr[data-email="bob@globex.test"] button.person');
  await waitFor('[role="dialog"] dl');
  await assertHittable(dialogButton("Close"), "Close of User details");
  await click(dialogButton("Close"));
  await rowMenu("bob@globex.test");
  await click(menuItem("Change role"));
  await waitFor('[role="dialog"]');
  await assertHittable(dialogButton("Save"), "Save");
  await assertHittable(dialogButton("Cancel"), "Cancel");
  await shot("17-dialog-with-notices", { sizes: [{ suffix: "-960", width: 960, height: 600 }] });
  await size(960, 600);
  await click(dialogButton("Cancel"));
  await size(1280, 800);
});

// 6 ----------------------------------------------------------------------------------------------
t("Expiry fields say Never when empty, refuse a half-typed date, and offer presets in one stop", async () => {
  await go("users");
  await rowMenu("bob@globex.test");
  await click(menuItem("Set access expiry"));
  const choice = await waitFor('[role="dialog"] select.expiry-choice');
  assert.equal(await choice.getValue(), "", "empty means never");
  assert.match(await textOf('[role="dialog"] .expiry-hint'), /never/i);
  await choice.selectByAttribute("value", "date");
  const date = await waitFor('[role="dialog"] input.expiry-date');
  await date.setValue("2030-1");
  await click(dialogButton("Save"));
  const err = await waitFor('[role="dialog"] .expiry .field-error');
  assert.match(await err.getText(), /date/i);
  assert.ok(await (await $('[role="dialog"]')).isDisplayed(), "nothing was saved: the dialog stays");
  await choice.selectByAttribute("value", "30d");
  assert.match(await textOf('[role="dialog"] .expiry-hint'), /in 30 days|in 1 month/i);
  await click(dialogButton("Save"));
  await gone('[role="dialog"]');
  await b.waitUntil(async () => !/Never/.test(await textOf('tr[data-email="bob@globex.test"] td.expires')), { timeout: 5000 });

  // An invite row is email, role, expiry and remove: four stops, with presets in the expiry one.
  await go("invite");
  const stops = await b.execute(() => {
    const row = document.querySelector("table.rows tbody tr");
    return [...row.querySelectorAll("input, select, button, textarea, a[href], [tabindex]")].filter((e) => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length > 0).length;
  });
  assert.equal(stops, 4);
  const presets = await b.execute(() => [...document.querySelector("table.rows tbody tr select.expiry-choice").options].map((o) => o.value));
  for (const p of ["", "7d", "30d", "90d", "date"]) assert.ok(presets.includes(p), `no ${p} in ${presets}`);
});

// 7 ----------------------------------------------------------------------------------------------
t("An admin is offered only roles they may give, reads refusals in words, and sees which rows failed", async () => {
  await signOut();
  await signIn("ada@globex.test");
  await switchOrg("Globex");
  await go("invite");
  const offered = await b.execute(() => [...document.querySelectorAll("select")].filter((s) => /role/i.test(s.getAttribute("aria-label") ?? "")).flatMap((s) => [...s.options].map((o) => o.value.split("\t").pop())));
  assert.ok(offered.length > 0);
  assert.ok(!offered.includes("owner"), `owner offered to an admin: ${offered}`);
  assert.match(await textOf(".role-note"), /owner/);

  // Two rows, one of them already a member: that row is marked, in words.
  await type("textarea", "fay@globex.test, bob@globex.test");
  await click("button=Add to the list");
  await click("button*=Invite 2");
  const marked = await waitFor('tr[data-row="2"] .field-error');
  assert.match(await marked.getText(), /already a member/);
  assert.equal(await (await $('tr[data-row="2"] input[type="email"]')).getAttribute("aria-invalid"), "true");
  assert.equal(await (await $('tr[data-row="1"] .field-error')).isExisting(), false, "row 1 is fine");
  assert.doesNotMatch(await textOf('[role="alert"]'), /owners\.manage|fix the rows named above/);
  await shot("04-invite-refused");

  // The owner's row: disabled items say why beside them, not only in a tooltip.
  await go("users");
  await rowMenu(OWNER);
  const why = await waitFor('[role="menu"] [role="menuitem"][aria-disabled="true"] .why');
  assert.match(await why.getText(), /owner/i);
  await press("Escape");
  await signOut();
  await signIn(OWNER);
  await switchOrg("Globex");
});

// 11 ---------------------------------------------------------------------------------------------
t("User details changes role and access in place, and agrees with Workspaces on when access ends", async () => {
  await go("users");
  await click('tr[data-email="dana@globex.test"] button.person');
  await waitFor('[role="dialog"] dl');
  await click(dialogButton("Change role & access"));
  await (await waitFor('[role="dialog"] select[name="role"]')).selectByAttribute("value", "admin");
  await (await $('[role="dialog"] .access-expiry select.expiry-choice')).selectByAttribute("value", "90d");
  await (await $('[role="dialog"] select[name="add-workspace"]')).selectByAttribute("value", "Staging");
  await click(dialogButton("Add workspace"));
  await click(dialogButton("Save changes"));
  await waitFor('[role="dialog"] .saved');
  const facts = await textOf('[role="dialog"] dl');
  assert.match(facts, /admin/);
  assert.doesNotMatch(facts, /Access expires\s*Never/);
  const staging = await textOf('[role="dialog"] tr[data-workspace="Staging"]');
  await shot("07-user-details");
  await click(dialogButton("Close"));
  // The Workspaces screen shows the same end for that grant.
  await go("workspaces");
  const there = await textOf('//section[@data-workspace="Staging"]//tr[contains(., "dana@globex.test")]');
  // The date as the two screens write it ("23 Nov 2026" or "Nov 23, 2026", by locale).
  const end = (text) => (text.match(/\d{1,2} \w{3},? \d{4}|\w{3} \d{1,2}, \d{4}/) ?? [""])[0];
  assert.ok(end(staging), `no end date in details: ${staging}`);
  assert.equal(end(there), end(staging), `details ${staging} vs workspaces ${there}`);
  await shot("10-workspaces");
});

// 12 ---------------------------------------------------------------------------------------------
t("Focus stays where the person was: after Add, after Invite, after Escape; selects and Import CSV show it", async () => {
  await go("invite");
  await type("textarea", "gil@globex.test");
  await click("button=Add to the list");
  let f = await focused();
  assert.notEqual(f.tag, "body", "focus fell to the top of the page after Add");
  await click("button*=Invite 1");
  await waitFor(".issued");
  f = await focused();
  assert.notEqual(f.tag, "body", "focus fell to the top of the page after Invite");
  await shot("03-invite-issued");

  await go("users");
  await rowMenu("bob@globex.test");
  await click(menuItem("Change role"));
  await waitFor('[role="dialog"]');
  await press("Escape");
  await gone('[role="dialog"]');
  assert.ok(await isFocused('tr[data-email="bob@globex.test"] button[aria-haspopup="menu"]'), "focus is back on the row's menu button");

  // A select and the CSV button show their focus.
  await go("invite");
  await tabTo('select[aria-label="Role of pasted emails"]');
  await tabTo("input.csv-file");
  f = await focused();
  const label = await b.execute(() => {
    const l = document.querySelector("label.file");
    const s = getComputedStyle(l);
    return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  });
  assert.ok(label, "Import CSV… shows that it has focus");
});

t("Leaving the last organization offers to create one or accept an invitation", async () => {
  cli(["orgs", "create", "Solo Shop"], { as: OWNER });
  cliMember("solo-shop", "sam@solo.test", "Sam Solo");
  await signOut();
  await signIn("sam@solo.test");
  await go("users");
  await rowMenu("sam@solo.test");
  await click(menuItem("Leave organization"));
  await click(dialogButton("Leave"));
  await waitFor(".no-org");
  await waitFor("//*[contains(@class,'no-org')]//button[normalize-space(.)='Create an organization']");
  await waitFor("//*[contains(@class,'no-org')]//button[normalize-space(.)='Open an invitation code…']");
  // An invitation that arrives meanwhile is offered right there.
  cliInvite("globex", ["sam@solo.test"], "member");
  await click("button.refresh-invitations");
  await waitFor('.no-org .invite-offer[data-org="globex"]');
  await shot("18-no-organization");
  await signOut();
  await signIn(OWNER);
});

// 4 ----------------------------------------------------------------------------------------------
t("Accepting shows the invitation first, Decline asks, and a signed-in person accepts from the switcher", async () => {
  const token = cliInvite("globex", ["hana@globex.test"], "admin")["hana@globex.test"];
  await signOut();
  await click("summary=I have an invitation");
  await type('input[aria-label="Invitation code"]', token);
  await click("button=Open");
  const facts = await textOf(".invitation-facts");
  for (const want of [/Globex/, /admin/, /Olivia Owner/, /valid until/i]) assert.match(facts, want);
  await shot("19-accept-preview");
  await click("button=Decline…");
  await waitFor('[role="dialog"]');
  await click(dialogButton("Keep it"));
  await gone('[role="dialog"]');
  assert.ok(await (await $("button=Accept")).isDisplayed(), "nothing declined");
  await click("button=Cancel");
  await waitFor("button=Sign in");

  // Signed in: dana (a member of Globex) is invited to Initech and accepts from the switcher.
  cli(["orgs", "create", "Initech"], { as: OWNER });
  cliInvite("initech", ["dana@globex.test"], "member");
  cli(["orgs", "create", "Umbrella"], { as: OWNER });
  cliInvite("umbrella", ["dana@globex.test"], "member");
  await signIn("dana@globex.test");
  await click("button.org-switch");
  const offer = await waitFor('[role="menu"] .invite-offer[data-org="initech"]');
  assert.match(await offer.getText(), /member/);
  assert.match(await offer.getText(), /Olivia Owner|olivia@acme\.test/);
  await shot("20-switcher-invitations");
  if (!(await (await $('[role="menu"]')).isExisting())) await click("button.org-switch");
  await click('//*[@role="menu"]//*[@data-org="umbrella"]//button[normalize-space(.)="Decline…"]');
  await click(dialogButton("Decline"));
  await gone('[role="dialog"]');
  await click("button.org-switch");
  await gone('[role="menu"] .invite-offer[data-org="umbrella"]');
  await click('//*[@role="menu"]//*[@data-org="initech"]//button[normalize-space(.)="Accept"]');
  await b.waitUntil(async () => (await orgShown()).includes("Initech"), { timeout: 10000 });
  await signOut();
  await signIn(OWNER);
  await switchOrg("Globex");
});

// keyboard ---------------------------------------------------------------------------------------
t("By keyboard alone: the row menu and a dialog, with focus always visible", async () => {
  await go("users");
  await waitFor('tr[data-email="bob@globex.test"]');
  await b.execute(() => document.activeElement?.blur());
  const trigger = 'tr[data-email="bob@globex.test"] button[aria-haspopup="menu"]';
  await tabTo(trigger);
  await press("Enter");
  await waitFor('[role="menu"]');
  assert.ok(await isFocused('[role="menu"] [role="menuitem"]'), "the first item has focus");
  // Arrows move; Escape closes and returns to the button.
  await press("ArrowDown");
  assert.match((await focused()).text, /Change role/);
  await press("Escape");
  await gone('[role="menu"]');
  assert.ok(await isFocused(trigger));
  // Again, into the dialog: pick admin, Tab to Save, Enter.
  await press("Enter", "ArrowDown", "Enter");
  await waitFor('[role="dialog"]');
  const f = await focused();
  assert.ok(f.visible && f.tag === "select", `the dialog starts on its select: ${JSON.stringify(f)}`);
  await press("a");
  await tabTo(dialogButton("Save"));
  await press("Enter");
  await gone('[role="dialog"]');
  assert.ok(await isFocused(trigger), "focus is back on the row's menu button");
  await b.waitUntil(async () => /admin/.test(await textOf('tr[data-email="bob@globex.test"]')), { timeout: 5000 });
});

t("By keyboard alone: the invite flow, from paste to copied code", async () => {
  await press(["Alt", "2"]);
  await waitFor("textarea");
  await tabTo("textarea");
  await b.keys("kim@globex.test, lee@globex.test");
  await tabTo("//button[normalize-space(.)='Add to the list']");
  await press("Enter");
  await waitFor('tr[data-row="2"]');
  assert.notEqual((await focused()).tag, "body");
  await tabTo("//button[starts-with(normalize-space(.), 'Invite 2')]");
  await press("Enter");
  await waitFor(".issued");
  await tabTo('.issued tr[data-email="kim@globex.test"] button[data-copy^="ghi_"]');
  await press("Enter");
  await b.waitUntil(async () => /Copied/.test((await focused()).text), { timeout: 3000 });
});

// 10 ---------------------------------------------------------------------------------------------
t("Next and Previous walk the list by where the page before ended, with no row repeated or skipped", async () => {
  await switchOrg("wide");
  await go("users");
  await (await waitFor('select[aria-label="Rows per page"]')).selectByAttribute("value", "100");
  await b.waitUntil(async () => (await $$("table.members tbody tr")).length === 100, { timeout: 15000 });
  // Next and Previous start where the page before ended (list_members `after`, a seek): page 2
  // follows page 1 with no row repeated or skipped, and Previous shows page 1 again.
  const emails = () => b.execute(() => [...document.querySelectorAll("table.members tbody tr")].map((r) => r.dataset.email));
  const range = async () => (await $(".pager .range")).getText();
  const first = await emails();
  await click('button[aria-label="Next page"]');
  await b.waitUntil(async () => (await range()).startsWith("101–200 of"), { timeout: 15000, timeoutMsg: "no page 2" });
  await b.waitUntil(async () => (await emails())[0] !== first[0], { timeout: 15000 });
  const second = await emails();
  assert.equal(second.length, 100);
  assert.deepEqual(second.filter((e) => first.includes(e)), [], "a row on both pages");
  await click('button[aria-label="Previous page"]');
  await b.waitUntil(async () => (await range()).startsWith("1–100 of"), { timeout: 15000, timeoutMsg: "not back on page 1" });
  await b.waitUntil(async () => (await emails())[0] === first[0], { timeout: 15000 });
  assert.deepEqual(await emails(), first);
  await switchOrg("Globex");
});
