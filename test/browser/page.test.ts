/**
 * The web page in a real Chromium, against the real service: two app processes
 * (services/auth/dist/main.js) behind the local ingress with TLS on a self-signed certificate
 * made here, on a Redis primary + 2 replicas + 3 Sentinels. What the browser stores and sends is
 * checked as the browser has it (context cookies, document.cookie), not as a test client would.
 * A cross-site page is served from another loopback address (127.0.0.2 is another site than
 * 127.0.0.1). Screenshots of each page state go to .run/screenshots/page (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page, Response } from 'playwright-core';
import { startCluster, type Cluster } from '../../chaos/src/cluster/index.js';
import { PAGE_CSP } from '../../services/auth/src/http/web-routes.js';
import { launchChromium, screenshotter, type Chromium } from './support/chromium.js';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a new and longer passphrase';
/** Short, so the test can get past it and see the re-authentication dialog every time. */
const REAUTH_WINDOW_S = 2;

let dir: string;
let cluster: Cluster;
let chromium: Chromium;
let attacker: Server;
let attackerUrl: string;
const contexts: BrowserContext[] = [];
const shots = screenshotter('page');
const email = `page-${process.pid}-${Date.now()}@example.com`;
/** Console errors and page errors per page, each checked for CSP violations. */
const problems: string[] = [];

function selfSignedCert(into: string): { key: string; cert: string } {
  const key = join(into, 'key.pem');
  const cert = join(into, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

/** The cross-site page: another loopback address, its own origin and site, no CSP of its own. */
function attackerPage(target: string, handle: string): string {
  return `<!doctype html><title>cross-site</title><pre id="result">running</pre>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="post" action="${target}/auth/logout" target="sink" enctype="text/plain"><input name='{"a":"' value='"}'></form>
<script>
const target = ${JSON.stringify(target)};
const out = {};
const tryFetch = async (name, path, init) => {
  try {
    const r = await fetch(target + path, { credentials: 'include', ...init });
    let body = null;
    try { body = await r.text(); } catch (e) { body = 'unreadable: ' + e.name; }
    out[name] = { type: r.type, status: r.status, body };
  } catch (e) {
    out[name] = { error: e.name };
  }
};
(async () => {
  await tryFetch('me', '/auth/me', {});
  await tryFetch('sessions', '/auth/sessions', {});
  await tryFetch('logoutNoCors', '/auth/logout', { method: 'POST', mode: 'no-cors' });
  await tryFetch('logoutAllNoCors', '/auth/logout-all', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"keepCurrent":false}' });
  await tryFetch('revokeCors', '/auth/sessions/${handle}', { method: 'DELETE' });
  await tryFetch('revokeNoCors', '/auth/sessions/${handle}', { method: 'DELETE', mode: 'no-cors' });
  await new Promise((resolve) => { document.getElementById('sink').onload = resolve; document.getElementById('f').submit(); });
  try { out.formFrame = String(document.getElementById('sink').contentDocument?.body?.textContent ?? 'no access'); } catch (e) { out.formFrame = 'blocked: ' + e.name; }
  document.getElementById('result').textContent = JSON.stringify(out, null, 1);
  document.title = 'done';
})();
</script>`;
}

/** A top-level cross-site form POST: the one cross-site request that navigates the victim's tab. */
function attackerForm(target: string): string {
  return `<!doctype html><title>form</title><form id="f" method="post" action="${target}/auth/logout-all" enctype="text/plain">
<input name='{"keepCurrent":false,"x":"' value='"}'></form><script>document.getElementById('f').submit();</script>`;
}

async function newPage(): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await chromium.browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 900 } });
  contexts.push(ctx);
  // A step that waits forever fails at its own line, well inside the test's timeout.
  ctx.setDefaultTimeout(10_000);
  const page = await ctx.newPage();
  page.on('console', (m) => {
    // Chromium logs every 4xx/5xx answer (the 401 of GET /auth/me before a login, a 409...) as
    // an error; everything else (a CSP violation, a Trusted Types refusal) is a problem.
    // ERR_NETWORK_CHANGED: Chromium saw an interface come or go on this shared machine.
    if (m.type() === 'error' && !/^Failed to load resource: (the server responded with a status of [45]\d\d|net::ERR_NETWORK_CHANGED)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return { ctx, page };
}

const status = (page: Page) => page.locator('#status');
const focusedId = (page: Page) => page.evaluate('document.activeElement && document.activeElement.id') as Promise<string>;

async function waitStatus(page: Page, text: string | RegExp): Promise<void> {
  await status(page).filter({ hasText: text }).waitFor({ timeout: 15_000 });
}

/** Keyboard only: the page focuses the email field; Tab to the password, Enter submits. */
async function loginWithKeyboard(page: Page, password = PASSWORD): Promise<void> {
  await page.locator('#login-email:focus').waitFor();
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
}

/** One click on Refresh: 'ok', or 'unavailable' when the page showed a 503's message instead. */
async function refreshOnce(page: Page): Promise<'ok' | 'unavailable'> {
  await page.getByRole('button', { name: 'Refresh' }).click();
  const outcome = await Promise.race([
    status(page).filter({ hasText: 'Sessions updated.' }).waitFor({ timeout: 15_000 }).then(() => 'ok' as const),
    page.locator('#sessions-error').filter({ hasText: /briefly unavailable|busy|not confirmed/ }).waitFor({ timeout: 15_000 }).then(() => 'unavailable' as const),
  ]);
  // Whatever the answer, a store outage never ends the session in the page.
  expect(await page.locator('#signed-in').isVisible()).toBe(true);
  expect(await page.locator('#login-form').isVisible()).toBe(false);
  return outcome;
}

async function sessionRows(page: Page): Promise<string[]> {
  return page.locator('#sessions tr').allInnerTexts();
}

/** Requests each app replica has answered through the ingress so far. */
const answered = () => Object.fromEntries(cluster.ingress.backends().map((b) => [b.name, b.requests]));

/** Past the re-authentication window of a login or reauth made at `since` (server time is ours). */
async function pastReauthWindow(since: number): Promise<void> {
  const wait = since + REAUTH_WINDOW_S * 1000 + 150 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

async function confirmPassword(page: Page, name: string, password = PASSWORD): Promise<void> {
  const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
  await dialog.waitFor();
  expect(await focusedId(page)).toBe('reauth-password');
  await shots.shot(page, name, false);
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'browser-page-'));
  const tls = selfSignedCert(dir);
  cluster = await startCluster({
    topology: 'sentinel',
    replicas: 2,
    runDir: join(dir, 'run'),
    tls,
    appEnv: {
      // As in production: Secure cookies, so the names carry the __Host- prefix.
      COOKIE_SECURE: 'true',
      REAUTH_WINDOW_SECONDS: String(REAUTH_WINDOW_S),
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
    },
  });
  attacker = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = url.pathname === '/form' ? attackerForm(cluster.url) : attackerPage(cluster.url, url.searchParams.get('handle') ?? 'AAAAAAAAAAAAAAAA');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.2', () => r()));
  attackerUrl = `http://127.0.0.2:${(attacker.address() as AddressInfo).port}`;
  chromium = await launchChromium();
}, 120_000);

afterEach(async (t) => {
  if (t.task.result?.state !== 'fail') return;
  // What every open page showed when a test failed, to look at beside the error.
  for (const [i, c] of contexts.entries()) for (const p of c.pages()) await shots.shot(p, `failed-context-${i + 1}`).catch(() => {});
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await chromium?.close();
  await new Promise<void>((r) => (attacker ? attacker.close(() => r()) : r()));
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
  console.log(`screenshots (${shots.taken.length}) in ${shots.dir}`);
});

describe('the web page in Chromium, over HTTPS, two replicas, Sentinel', () => {
  let a: { ctx: BrowserContext; page: Page };
  let b: { ctx: BrowserContext; page: Page };
  /** When B last proved its password (login or reauth): sudo mode lasts REAUTH_WINDOW_S from it. */
  let bProofAt = 0;
  let aProofAt = 0;

  it('serves the page under its strict CSP; registers and logs in; stores the cookies HttpOnly, Secure, SameSite=Lax, __Host-', async () => {
    a = await newPage();
    const before = answered();
    const res = (await a.page.goto(cluster.url)) as Response;
    expect(res.status()).toBe(200);
    const headers = res.headers();
    expect(headers['content-security-policy']).toBe(PAGE_CSP);
    expect(headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(headers['referrer-policy']).toBe('no-referrer');

    await a.page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await focusedId(a.page)).toBe('login-email');
    await shots.shot(a.page, 'signed-out');

    // A too-short password: the browser's own validation stops the form (minlength), no request.
    await a.page.locator('#register-email').fill(email);
    await a.page.locator('#register-password').fill('short');
    const sent: string[] = [];
    a.page.on('request', (r) => sent.push(`${r.method()} ${new URL(r.url()).pathname}`));
    await a.page.getByRole('button', { name: 'Create account and log in' }).click();
    expect(await a.page.locator('#register-password').evaluate((e) => (e as unknown as { validity: { tooShort: boolean } }).validity.tooShort)).toBe(true);
    expect(sent).toEqual([]);
    await a.page.locator('#register-password').fill(PASSWORD);
    await a.page.getByRole('button', { name: 'Create account and log in' }).click();
    await waitStatus(a.page, `Account created. Welcome, ${email}.`);
    await a.page.getByRole('heading', { name: 'Who am I' }).waitFor();
    expect(await a.page.locator('#me-email').innerText()).toBe(email);
    expect(await focusedId(a.page)).toBe('me-title');
    const rows = await sessionRows(a.page);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/Chrom\w* \d+ on Linux this device\s+127\.0\.0\.1\s+just now/);
    await shots.shot(a.page, 'signed-in');

    const cookies = await a.ctx.cookies(cluster.url);
    const sid = cookies.find((c) => c.name === '__Host-sid');
    const sig = cookies.find((c) => c.name === '__Host-sid.sig');
    for (const c of [sid, sig]) {
      expect(c, JSON.stringify(cookies)).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/', domain: '127.0.0.1' });
      expect(c!.expires).toBeGreaterThan(Date.now() / 1000);
    }
    expect(cookies.find((c) => c.name === '__Host-device')).toMatchObject({ httpOnly: true, secure: true });
    expect(cookies.filter((c) => !c.name.startsWith('__Host-')), 'every cookie is __Host-').toEqual([]);
    // HttpOnly as the page's own script sees it: not one of them is readable.
    expect(await a.page.evaluate('document.cookie')).toBe('');

    const after = answered();
    for (const name of Object.keys(after)) expect(after[name]! - (before[name] ?? 0), `${name} answered this browser`).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('errors are announced and focused (email taken, wrong password); logging in works with the keyboard alone', async () => {
    b = await newPage();
    await b.page.goto(cluster.url);
    await b.page.locator('#register-email').fill(email);
    await b.page.locator('#register-password').fill(PASSWORD);
    await b.page.getByRole('button', { name: 'Create account and log in' }).click();
    await b.page.locator('#register-error').filter({ hasText: 'An account with this email already exists. Log in instead.' }).waitFor();
    expect(await b.page.locator('#register-error').getAttribute('role')).toBe('alert');
    expect(await focusedId(b.page)).toBe('register-email');
    expect(await b.page.locator('#register-email').getAttribute('aria-invalid')).toBe('true');
    await shots.shot(b.page, 'register-email-taken');

    await b.page.locator('#login-email').focus();
    await loginWithKeyboard(b.page, 'not the password');
    await b.page.locator('#login-error').filter({ hasText: 'Email or password is incorrect.' }).waitFor();
    expect(await focusedId(b.page)).toBe('login-password');
    await shots.shot(b.page, 'login-error');

    await b.page.locator('#login-password').fill('');
    await b.page.locator('#login-email').fill('');
    await b.page.locator('#login-email').focus();
    await loginWithKeyboard(b.page);
    await waitStatus(b.page, `Welcome, ${email}.`);
    bProofAt = Date.now();
    await b.page.locator('#sessions tr').nth(1).waitFor();
    expect(await sessionRows(b.page)).toHaveLength(2);
    expect(problems).toEqual([]);
  });

  it('a session is revoked from a second context (after re-authentication); the first is sent to the login form on its next action', async () => {
    const other = b.page.locator('#sessions tr:not(.current)');
    expect(await other.count()).toBe(1);
    expect(await b.page.locator('#sessions tr.current').innerText()).toMatch(/this device/);
    await shots.shot(b.page, 'two-sessions');

    await pastReauthWindow(bProofAt);
    await other.getByRole('button', { name: /^Revoke session on Chrom/ }).click();
    // Sudo mode: the server said REAUTH_REQUIRED; a wrong password is refused in the dialog.
    await confirmPassword(b.page, 'reauth-dialog', 'wrong password');
    await b.page.locator('#reauth-error').filter({ hasText: 'That password is incorrect.' }).waitFor();
    await shots.shot(b.page, 'reauth-wrong-password', false);
    await b.page.keyboard.press('Control+A');
    await b.page.keyboard.type(PASSWORD);
    await b.page.keyboard.press('Enter');
    await waitStatus(b.page, /^Revoked the session on Chrom/);
    bProofAt = Date.now();
    await b.page.locator('#sessions tr').nth(1).waitFor({ state: 'detached' });
    expect(await sessionRows(b.page)).toHaveLength(1);
    await shots.shot(b.page, 'revoked');

    // The first browser does not know yet; its next action finds the session gone.
    expect(await a.page.locator('#signed-in').isVisible()).toBe(true);
    await a.page.getByRole('button', { name: 'Refresh' }).click();
    await waitStatus(a.page, 'Your session has ended. Please log in again.');
    expect(await a.page.locator('#login-form').isVisible()).toBe(true);
    expect(await a.page.locator('#signed-in').isVisible()).toBe(false);
    expect(await focusedId(a.page)).toBe('login-email');
    await shots.shot(a.page, 'sent-to-login');
    expect(problems).toEqual([]);
  });

  it('changes the password through the re-authentication dialog; the other session ends', async () => {
    await loginWithKeyboard(a.page);
    await waitStatus(a.page, `Welcome, ${email}.`);
    const bBefore = await b.ctx.cookies(cluster.url);

    await pastReauthWindow(bProofAt);
    await b.page.getByLabel('Current password').fill(PASSWORD);
    await b.page.getByLabel('New password').fill(NEW_PASSWORD);
    await b.page.getByRole('button', { name: 'Change password' }).click();
    await confirmPassword(b.page, 'reauth-password-change');
    await waitStatus(b.page, 'Password changed. 1 other session was logged out.');
    bProofAt = Date.now();
    expect(await sessionRows(b.page)).toHaveLength(1);
    await shots.shot(b.page, 'password-changed');
    // The session was rotated: a new token, still HttpOnly.
    const sidOf = (cs: { name: string; value: string }[]) => cs.find((c) => c.name === '__Host-sid')?.value;
    const bAfter = await b.ctx.cookies(cluster.url);
    expect(sidOf(bAfter)).toBeTruthy();
    expect(sidOf(bAfter)).not.toBe(sidOf(bBefore));

    await a.page.getByRole('button', { name: 'Refresh' }).click();
    await waitStatus(a.page, 'Your session has ended. Please log in again.');
    await loginWithKeyboard(a.page, PASSWORD);
    await a.page.locator('#login-error').filter({ hasText: 'Email or password is incorrect.' }).waitFor();
    await a.page.locator('#login-email').fill('');
    await a.page.locator('#login-password').fill('');
    await a.page.locator('#login-email').focus();
    await loginWithKeyboard(a.page, NEW_PASSWORD);
    await waitStatus(a.page, `Welcome, ${email}.`);
    aProofAt = Date.now();
    expect(problems).toEqual([]);
  });

  it('a cross-site page (127.0.0.2) cannot log the user out, revoke a session or read a response', async () => {
    await b.page.getByRole('button', { name: 'Refresh' }).click();
    await waitStatus(b.page, 'Sessions updated.');
    const handles = async () => (await b.page.locator('#sessions button').evaluateAll((els) => els.map((e) => (e as unknown as { dataset: { handle: string } }).dataset.handle))).sort();
    const before = await handles();
    expect(before).toHaveLength(2);
    const victim = before[0]!;

    // What reached the service from the cross-site page, as the browser saw the answers.
    const seen: { method: string; path: string; status: number; body: string }[] = [];
    const watch = async (r: Response) => {
      const u = new URL(r.url());
      if (u.origin !== cluster.url) return;
      seen.push({ method: r.request().method(), path: u.pathname, status: r.status(), body: await r.text().catch(() => '') });
    };
    b.ctx.on('response', (r) => void watch(r));
    const evil = await b.ctx.newPage();
    await evil.goto(`${attackerUrl}/?handle=${victim}`);
    await evil.waitForFunction('document.title === "done"', undefined, { timeout: 15_000 });
    const out = JSON.parse(await evil.locator('#result').innerText()) as Record<string, { error?: string; type?: string; status?: number; body?: string } | string>;
    await shots.shot(evil, 'cross-site-page');
    // Reads with CORS: refused by the browser (the service sends no CORS headers).
    expect(out.me).toEqual({ error: 'TypeError' });
    expect(out.sessions).toEqual({ error: 'TypeError' });
    expect(out.revokeCors).toEqual({ error: 'TypeError' });
    // no-cors: the POST goes out (and is refused, below), but not even an opaque answer comes
    // back: Cross-Origin-Resource-Policy: same-origin makes the browser fail the fetch.
    for (const k of ['logoutNoCors', 'logoutAllNoCors']) expect(out[k], k).toEqual({ error: 'TypeError' });
    // DELETE is no simple method: no-cors refuses it outright, CORS needs a preflight we never allow.
    expect(out.revokeNoCors).toEqual({ error: 'TypeError' });
    // The form posted into a frame: the frame's document is another origin's, unreadable.
    expect(out.formFrame).toMatch(/^(blocked|no access)/);

    // A top-level cross-site form POST navigates the tab to the service's refusal.
    const top = await b.ctx.newPage();
    const landed = top.waitForResponse((r) => r.url().endsWith('/auth/logout-all'));
    await top.goto(`${attackerUrl}/form`);
    const refused = await landed;
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'CSRF_ORIGIN_MISMATCH' } });
    await top.close();
    await evil.close();

    // Every unsafe request that reached the service was refused as cross-site.
    const unsafe = seen.filter((s) => s.method === 'POST' || s.method === 'DELETE');
    expect(unsafe.length, JSON.stringify(seen)).toBeGreaterThanOrEqual(2);
    for (const s of unsafe) expect(s, JSON.stringify(s)).toMatchObject({ status: 403 });
    // (Chromium keeps no body of an answer it blocked by CORP; the status it still reports.)
    for (const s of unsafe.filter((u) => u.body)) expect(JSON.parse(s.body)).toMatchObject({ error: { code: 'CSRF_ORIGIN_MISMATCH' } });

    // Both sessions live on: the victim's page and the other browser still work.
    await b.page.bringToFront();
    await b.page.getByRole('button', { name: 'Refresh' }).click();
    await waitStatus(b.page, 'Sessions updated.');
    expect(await handles()).toEqual(before);
    await a.page.getByRole('button', { name: 'Refresh' }).click();
    await waitStatus(a.page, 'Sessions updated.');
    expect(problems).toEqual([]);
  });

  it('keeps the session through a kill -9 of the Redis primary, whichever replica answers', async () => {
    const topo = cluster.sentinel!;
    const old = await topo.currentPrimary();
    const before = answered();
    await old.kill('SIGKILL');
    // During the failover the page says the service is briefly unavailable and stays signed in.
    if ((await refreshOnce(b.page)) === 'unavailable') await shots.shot(b.page, 'during-failover');
    const { primary } = await topo.waitForNewPrimary(old.port, 30_000);
    expect(primary.port).not.toBe(old.port);

    // After the failover: the same session, answered by both replicas, never the login form. A
    // replica may still be reconnecting to the new primary for a moment: a refresh then says so.
    const outcomes: string[] = [];
    for (let ok = 0; ok < 4 && outcomes.length < 40; ) {
      const o = await refreshOnce(b.page);
      outcomes.push(o);
      if (o === 'ok') ok += 1;
    }
    expect(outcomes.filter((o) => o === 'ok'), outcomes.join()).toHaveLength(4);
    await waitStatus(b.page, 'Sessions updated.');
    expect(await b.page.locator('#me-email').innerText()).toBe(email);
    expect(await sessionRows(b.page)).toHaveLength(2);
    const after = answered();
    for (const name of Object.keys(after)) expect(after[name]! - (before[name] ?? 0), `${name} answered after the kill`).toBeGreaterThan(0);
    await shots.shot(b.page, 'after-failover');

    // A write after the failover: log out, and the session is gone on every replica.
    await b.page.getByRole('button', { name: 'Log out', exact: true }).first().click();
    await waitStatus(b.page, 'You are logged out.');
    await shots.shot(b.page, 'logged-out');
    expect((await b.ctx.cookies(cluster.url)).filter((c) => c.name.startsWith('__Host-sid'))).toEqual([]);
    await b.page.reload();
    await b.page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('log out everywhere (after re-authentication) ends every session of the account', async () => {
    await loginWithKeyboard(b.page, NEW_PASSWORD);
    await waitStatus(b.page, `Welcome, ${email}.`);
    // A last proved its password at its login with the new one.
    await pastReauthWindow(aProofAt);
    await a.page.getByRole('button', { name: 'Refresh' }).click();
    await waitStatus(a.page, 'Sessions updated.');
    expect(await sessionRows(a.page)).toHaveLength(2);
    await a.page.getByRole('button', { name: 'Log out everywhere' }).click();
    await confirmPassword(a.page, 'reauth-logout-everywhere', NEW_PASSWORD);
    await waitStatus(a.page, 'Logged out everywhere (2 sessions).');
    expect(await a.page.locator('#login-form').isVisible()).toBe(true);
    await shots.shot(a.page, 'logged-out-everywhere');
    await b.page.getByRole('button', { name: 'Refresh' }).click();
    await waitStatus(b.page, 'Your session has ended. Please log in again.');
    expect(problems).toEqual([]);
  });
});
