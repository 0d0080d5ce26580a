// The window's Database settings (issue 12): after the first run the database can be seen and
// changed, this computer ↔ a team server. A server is tried before it is saved: an unreachable one
// is said so, naming the Server URL, and nothing changes (still signed in, same settings file,
// 0600). With $GATEHOUSE_TEST_PG, the README's path end to end: the CLI migrates this computer's
// file into a new database on that server, the window moves to it and signs in there, then moves
// back. The window keeps its choice in the app's data folder, beside the database scripts/e2e
// gives it; run alone (scripts/e2e tests/e2e/database.test.mjs) the file makes its own database.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { b, $, start, stop, waitFor, type, click, shot, signIn, orgShown, cli, cliOk, DB, dialogButton, gone } from "./lib.mjs";

const OWNER = "olivia@acme.test";
const skip = !DB && "GATEHOUSE_E2E_DB is not set (run through scripts/e2e)";
const SERVER = process.env.GATEHOUSE_TEST_PG?.trim();
const SETTINGS = DB ? join(dirname(DB), "settings.json") : "";

const settings = () => JSON.parse(readFileSync(SETTINGS, "utf8"));

/** Signed in on Acme Corp: the switcher names it (after a resize the sidebar unfolds a moment
 *  later, following the media query's change event, so wait for it). */
async function onAcme() {
  await b.waitUntil(async () => /Acme Corp/.test(await orgShown()), { timeout: 5000, timeoutMsg: "the switcher never showed Acme Corp" });
}

before(async () => {
  if (skip) return;
  if (!cliOk(["orgs", "list"], { as: OWNER })) {
    cli(["init", "--org", "Acme Corp", "--email", OWNER, "--name", "Olivia Owner"]);
  }
  await start();
  await waitFor('input[name="email"]', 20000);
  await signIn(OWNER);
});

after(async () => {
  await stop();
});

/** Open the Database settings from the sidebar. */
async function openSettings() {
  await click("aside button[data-database-settings]");
  await waitFor('[role="dialog"] [data-database]');
}

/** Choose in the open Database settings and press "Use this database". */
async function choose(kind, url) {
  await click(`[role="dialog"] input[value="${kind}"]`);
  if (url) await type('[role="dialog"] input[name="url"]', url);
  await click(dialogButton("Use this database"));
}

test("Database settings show this computer's file; an unreachable server is said so and nothing changes", { skip }, async () => {
  await openSettings();
  assert.equal(await (await $('[role="dialog"] [data-database]')).getText(), DB);
  assert.equal(await (await $('[role="dialog"] input[value="this_computer"]')).isSelected(), true);
  const before = readFileSync(SETTINGS, "utf8");

  await choose("team_server", "postgres://gh@127.0.0.1:1/gatehouse?connect_timeout=3");
  const alert = await waitFor('[role="dialog"] [role="alert"]', 15000);
  assert.match(await alert.getText(), /^Server URL: cannot reach the database server .*127\.0\.0\.1:1/);
  assert.equal(await (await $('[role="dialog"] input[name="url"]')).getAttribute("aria-invalid"), "true");
  await shot("23-database-settings");

  assert.equal(readFileSync(SETTINGS, "utf8"), before, "a refused choice changed settings.json");
  assert.deepEqual(settings().database, { kind: "this_computer" });
  assert.equal(statSync(SETTINGS).mode & 0o777, 0o600);
  await click(dialogButton("Cancel"));
  await gone('[role="dialog"]');
  // Still signed in, on the same database.
  await onAcme();
  await waitFor('tr[data-email="olivia@acme.test"]');
});

test("choosing a database again signs out and starts there; the sign-in screen offers it too", { skip }, async () => {
  await openSettings();
  await choose("this_computer");
  await waitFor('input[name="email"]', 15000);
  await click("button[data-database-settings]");
  await waitFor('[role="dialog"] [data-database]');
  assert.equal(await (await $('[role="dialog"] [data-database]')).getText(), DB);
  await click(dialogButton("Cancel"));
  await signIn(OWNER);
});

test("the README's path: migrate this computer's file to a team server, the window follows it and comes back", { skip: skip || (!SERVER && "GATEHOUSE_TEST_PG is not set") }, async () => {
  const name = `gh_e2e_${process.pid}`;
  const url = SERVER.replace(/\/[^/?]*(\?.*)?$/, `/${name}`);
  execFileSync("psql", [SERVER, "-qc", `DROP DATABASE IF EXISTS ${name}`, "-c", `CREATE DATABASE ${name}`]);
  try {
    cli(["migrate", "--to", url]);
    await openSettings();
    await choose("team_server", url);
    // Signed out: the server's accounts are the file's, migrated.
    await waitFor('input[name="email"]', 20000);
    assert.deepEqual(settings().database, { kind: "team_server", url });
    assert.equal(statSync(SETTINGS).mode & 0o777, 0o600);
    await signIn(OWNER);
    await onAcme();
    await openSettings();
    const shown = await (await $('[role="dialog"] [data-database]')).getText();
    assert.equal(shown, url, "the server as given (it carries no password)");
    assert.equal(await (await $('[role="dialog"] input[value="team_server"]')).isSelected(), true);
    await choose("this_computer");
    await waitFor('input[name="email"]', 15000);
    assert.deepEqual(settings().database, { kind: "this_computer" });
    await signIn(OWNER);
    await openSettings();
    assert.equal(await (await $('[role="dialog"] [data-database]')).getText(), DB);
    await click(dialogButton("Cancel"));
  } finally {
    // Whatever happened, the next test files (a new window each) start on this computer's file.
    if (settings().database?.kind !== "this_computer") {
      writeFileSync(SETTINGS, JSON.stringify({ database: { kind: "this_computer" } }), { mode: 0o600 });
    }
    execFileSync("psql", [SERVER, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
  }
});
