// End-to-end tests of the real `gatehouse` binary in a real WebKitGTK window, driven through
// tauri-driver + WebKitWebDriver (run by scripts/e2e under Xvfb). They also take the screenshots
// in docs/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  b, $, start, stop, waitFor, type, click, textOf, shot, go, signOut, signIn, rowStatus, waitRowStatus,
  dialogButton, menuItem, rowMenu,
} from "./lib.mjs";
import { PW } from "./lib.mjs";

before(async () => {
  await start();
});

after(async () => {
  await stop();
});

/** Invite from the Invite screen; returns {email: token} read from the page. */
async function invite(emails, role) {
  await go("invite");
  await type("textarea", emails.join(", "));
  const sel = await waitFor(".paste select");
  // The picker's value is "WORKSPACE<tab>ROLE", the workspace empty for the organization.
  await sel.selectByAttribute("value", `\t${role}`);
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

test("first run: where the data lives; an unreachable team server is said so and not kept", async () => {
  // No database yet: the window asks first, with this computer chosen.
  await waitFor('input[value="this_computer"]', 20000);
  assert.equal(await (await $('input[value="this_computer"]')).isSelected(), true);
  await click('input[value="team_server"]');
  await type('input[name="url"]', "postgres://gh@127.0.0.1:1/gatehouse?connect_timeout=3");
  await click("button=Continue");
  const alert = await waitFor('[role="alert"]', 15000);
  assert.match(await alert.getText(), /cannot reach the database server .*127\.0\.0\.1:1/);
  await shot("00-choose-database");
  // Nothing was kept: still the choice; this computer goes on to the first-run setup.
  await click('input[value="this_computer"]');
  await click("button=Continue");
  await waitFor('input[name="org"]', 20000);
});

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

test("an admin is not offered the owner role, and the owner's row says why it is out of reach", async () => {
  await signIn("ada@acme.test");
  await go("invite");
  await type('input[aria-label="Email of row 1"]', "eve@acme.test");
  const options = await b.execute(() => [...document.querySelectorAll('select[aria-label="Role of row 1"] option')].map((o) => o.value.split("\t").pop()));
  assert.deepEqual([...new Set(options)].sort(), ["admin", "member"]);
  assert.match(await (await $(".role-note")).getText(), /owner/);
  await go("users");
  assert.equal(await rowStatus("eve@acme.test"), null, "nothing was invited");
  // The owner's row menu: its items are out of reach for an admin, and say why.
  await rowMenu("olivia@acme.test");
  const change = await waitFor(menuItem("Change role…"));
  assert.equal(await change.getAttribute("aria-disabled"), "true");
  assert.match(await change.getText(), /Only an owner/);
  await b.keys("Escape");
  await signOut();
});

test("a 3-second access expiry turns the row expired by itself", async () => {
  await signIn("olivia@acme.test");
  await shot("05-users");
  await rowMenu("bob@acme.test");
  await click(menuItem("Set access expiry…"));
  const at = await b.execute(() => {
    const d = new Date(Date.now() + 4000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  });
  await (await waitFor('[role="dialog"] select.expiry-choice')).selectByAttribute("value", "date");
  await type("#expiry", at);
  await click(dialogButton("Save"));
  await waitRowStatus("bob@acme.test", "active");
  await waitRowStatus("bob@acme.test", "expired", 20000);
  assert.equal(await rowStatus("ada@acme.test"), "active");
});

test("bulk disable of all matching, with the count confirmed and the owner skipped", async () => {
  await click("button=Disable all matching");
  await waitFor('[role="dialog"] .confirm-count');
  assert.match(await textOf('[role="dialog"] .confirm-count'), /disable 2 members/);
  await click(dialogButton("Disable 2"));
  const result = await textOf(".bulk-result");
  assert.match(result, /2 members changed, 1 skipped/);
  await click(dialogButton("Close"));
  await waitRowStatus("ada@acme.test", "disabled");
  await waitRowStatus("bob@acme.test", "disabled");
  assert.equal(await rowStatus("olivia@acme.test"), "active");
  // Enable them again for the screenshots that follow.
  await click("button=Enable all matching");
  await waitFor('[role="dialog"] .confirm-count');
  await click(dialogButton("Enable 2"));
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
