// End-to-end tests of the real `gatehouse` binary in a real WebKitGTK window, driven through
// tauri-driver + WebKitWebDriver (run by scripts/e2e under Xvfb). They also take the screenshots
// in docs/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { remote } from "webdriverio";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

const BINARY = resolve(process.env.GATEHOUSE_BINARY ?? "target/debug/gatehouse");
const SHOTS = resolve(process.env.GATEHOUSE_SCREENSHOTS ?? "docs/screenshots");
const PW = "correct horse battery";
mkdirSync(SHOTS, { recursive: true });

/** @type {import("webdriverio").Browser} */
let b;

before(async () => {
  b = await remote({
    hostname: "127.0.0.1",
    port: 4444,
    logLevel: "warn",
    capabilities: { "tauri:options": { application: BINARY }, "wdio:enforceWebDriverClassic": true, browserName: "wry" },
  });
  await b.setTimeout({ implicit: 0 });
});

after(async () => {
  await b?.deleteSession();
});

const $ = (sel) => b.$(sel);
// XPath for "a button with this text inside a dialog/menu/section" (CSS cannot match on text).
const exact = (text) => `normalize-space(.)="${text}"`;
const dialogButton = (text) => `//*[@role="dialog"]//button[${exact(text)}]`;
const dialogButtonStarting = (text) => `//*[@role="dialog"]//button[starts-with(normalize-space(.), "${text}")]`;
const menuItem = (text) => `//*[@role="menu"]//button[${exact(text)}]`;
async function waitFor(sel, timeout = 10000) {
  const el = await $(sel);
  await el.waitForDisplayed({ timeout });
  return el;
}
async function type(sel, text) {
  const el = await waitFor(sel);
  await el.clearValue();
  await el.setValue(text);
}
async function click(sel) {
  const el = await waitFor(sel);
  await el.waitForClickable({ timeout: 10000 });
  await el.click();
}
async function textOf(sel) {
  return (await waitFor(sel)).getText();
}
/** Set a value the way a person's input would, for inputs WebDriver cannot type into (datetime-local). */
async function setInput(sel, value) {
  await waitFor(sel);
  await b.execute(
    (s, v) => {
      const el = document.querySelector(s);
      el.value = v;
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
    },
    sel,
    value,
  );
}
async function shot(name) {
  // Notices fade by themselves; dismiss them so they do not cover the screen.
  await b.execute(() => document.querySelectorAll('.notices button[aria-label="Dismiss"]').forEach((x) => x.click()));
  await b.pause(350);
  for (const theme of ["light", "dark"]) {
    await b.execute((t) => (document.documentElement.dataset.theme = t), theme);
    await b.pause(150);
    await b.saveScreenshot(`${SHOTS}/${name}-${theme}.png`);
  }
  await b.execute(() => delete document.documentElement.dataset.theme);
}
async function go(screen) {
  await click(`button[data-screen="${screen}"]`);
  await b.pause(300);
}
async function signOut() {
  await click("button=Sign out");
  await waitFor("button=Sign in");
}
async function signIn(email) {
  await type('input[name="email"]', email);
  await type('input[name="password"]', PW);
  await click("button=Sign in");
  await waitFor('button[data-screen="users"]');
}
async function rowStatus(email) {
  const row = await $(`tr[data-email="${email}"]`);
  if (!(await row.isExisting())) return null;
  return row.getAttribute("data-status");
}
async function waitRowStatus(email, status, timeout = 15000) {
  await b.waitUntil(async () => (await rowStatus(email)) === status, { timeout, timeoutMsg: `${email} never became ${status}` });
}
/** Invite from the Invite screen; returns {email: token} read from the page. */
async function invite(emails, role) {
  await go("invite");
  await type("textarea", emails.join(", "));
  const sel = await waitFor(".paste select");
  await sel.selectByAttribute("value", role);
  await click("button=Add to the list");
  await click("button*=Invite ");
  await waitFor(".issued");
  const tokens = {};
  for (const email of emails) {
    tokens[email] = await (await $(`.issued tr[data-email="${email}"] code.token`)).getAttribute("data-token");
  }
  return tokens;
}
async function acceptAs(token, name) {
  await click("summary=I have an invitation");
  await type('input[aria-label="Invitation code"]', token);
  await click("button=Open");
  await type('input[name="name"]', name);
  await type('input[name="password"]', PW);
  await click("button=Accept");
  await waitFor('button[data-screen="users"]', 15000);
}

test("first run → invite two → accept with the copied codes → both active", async () => {
  await waitFor('input[name="org"]', 20000);
  await shot("01-first-run");
  await type('input[name="org"]', "Acme Corp");
  await type('input[name="name"]', "Olivia Owner");
  await type('input[name="email"]', "olivia@acme.test");
  await type('input[name="password"]', PW);
  await type('input[name="confirm"]', PW);
  await click("button=Create organization");
  await waitFor('tr[data-email="olivia@acme.test"]', 20000);

  const tokens = await invite(["ada@acme.test", "bob@acme.test"], "admin");
  assert.match(tokens["ada@acme.test"], /^ghi_/);
  // The copy button carries exactly the code.
  const copy = await $(`.issued tr[data-email="ada@acme.test"] button[data-copy^="ghi_"]`);
  assert.equal(await copy.getAttribute("data-copy"), tokens["ada@acme.test"]);
  await copy.click();
  await b.waitUntil(async () => (await copy.getText()).includes("Copied"), { timeout: 3000 }).catch(() => {});
  await shot("03-invite-issued");

  await go("users");
  await waitRowStatus("ada@acme.test", "pending");
  await signOut();
  await shot("02-sign-in");
  await acceptAs(tokens["ada@acme.test"], "Ada Admin");
  await signOut();
  await acceptAs(tokens["bob@acme.test"], "Bob Builder");
  await waitRowStatus("ada@acme.test", "active");
  await waitRowStatus("bob@acme.test", "active");
  await signOut();
});

test("an admin tries to invite an owner and sees the refusal", async () => {
  await signIn("ada@acme.test");
  await go("invite");
  await type('input[aria-label="Email of row 1"]', "eve@acme.test");
  const role = await waitFor('select[aria-label="Role of row 1"]');
  await role.selectByAttribute("value", "owner");
  await click("button*=Invite ");
  const alert = await waitFor('[role="alert"]');
  const text = await alert.getText();
  assert.match(text, /Not allowed/);
  assert.match(text, /owner/);
  await shot("04-invite-refused");
  await go("users");
  assert.equal(await rowStatus("eve@acme.test"), null, "nothing was invited");
  // The owner's row menu is greyed for an admin.
  await click('tr[data-email="olivia@acme.test"] button[aria-haspopup="menu"]');
  const change = await waitFor(menuItem("Change role…"));
  assert.equal(await change.isEnabled(), false);
  await b.keys("Escape");
  await signOut();
});

test("a 3-second access expiry turns the row expired by itself", async () => {
  await signIn("olivia@acme.test");
  await shot("05-users");
  await click('tr[data-email="bob@acme.test"] button[aria-haspopup="menu"]');
  await click(menuItem("Set access expiry…"));
  const at = await b.execute(() => {
    const d = new Date(Date.now() + 4000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  });
  await setInput("#expiry", at);
  await click(dialogButton("Save"));
  await waitRowStatus("bob@acme.test", "active");
  await waitRowStatus("bob@acme.test", "expired", 20000);
  assert.equal(await rowStatus("ada@acme.test"), "active");
});

test("bulk disable of all matching, with the count confirmed and the owner skipped", async () => {
  await click("button=Disable all matching");
  const dialog = await waitFor('[role="dialog"]');
  assert.match(await dialog.getText(), /3 rows/);
  await shot("06-bulk-confirm");
  await click(dialogButtonStarting("Disable"));
  const result = await textOf(".bulk-result");
  assert.match(result, /2 members changed, 1 skipped/);
  await click(dialogButton("Close"));
  await waitRowStatus("ada@acme.test", "disabled");
  await waitRowStatus("bob@acme.test", "disabled");
  assert.equal(await rowStatus("olivia@acme.test"), "active");
  // Enable them again for the screenshots that follow.
  await click("button=Enable all matching");
  await click(dialogButtonStarting("Enable"));
  await click(dialogButton("Close"));
  await waitRowStatus("ada@acme.test", "active");
});

test("every other screen opens, and its screenshots are taken", async () => {
  await click('tr[data-email="ada@acme.test"] button.person');
  await waitFor('[role="dialog"] dl');
  await shot("07-user-details");
  await click(dialogButton("Close"));

  await invite(["carol@acme.test", "dan@acme.test"], "member");
  await go("invitations");
  await waitFor('tr[data-email="carol@acme.test"]');
  await shot("08-invitations");

  await go("roles");
  await waitFor('th[data-role="owner"]');
  await shot("09-roles");

  await go("workspaces");
  await click("button=New workspace");
  await type('[role="dialog"] input', "Analytics");
  await click(dialogButton("Create"));
  await waitFor('section[data-workspace="Analytics"]');
  await click('//section[@data-workspace="Analytics"]//button[normalize-space(.)="Grant access…"]');
  await type('[role="dialog"] input[type="email"]', "ada@acme.test");
  await click(dialogButton("Grant"));
  await waitFor('//section[@data-workspace="Analytics"]//td[contains(., "ada@acme.test")]');
  await shot("10-workspaces");

  await go("service-accounts");
  await click("button=New service account");
  await type('[role="dialog"] input', "billing-sync");
  await click(dialogButton("Create"));
  const token = await (await waitFor('[role="dialog"] code.token')).getAttribute("data-token");
  assert.match(token, /^ghs_/);
  await shot("11-service-account-token");
  await click("button=I have copied it");
  await waitFor('tr[data-name="billing-sync"]');

  await go("audit");
  await click("button=Verify the chain");
  assert.match(await textOf(".verdict"), /intact/);
  await shot("12-audit");

  await go("review");
  await waitFor("h1=Access review");
  await shot("13-review");
});
