// The session-auth page: plain DOM, no framework, no build step. Served same-origin by the
// service under a CSP without 'unsafe-inline' and with Trusted Types enforced, so this file
// never writes HTML from strings: every node is made with createElement and filled with
// textContent. The session cookie is HttpOnly: this script never sees it; the browser sends it.

const $ = (id) => document.getElementById(id);

/** The per-session CSRF token from login, /auth/me or a password change (not a cookie). */
let csrf;

const FRIENDLY = {
  INVALID_CREDENTIALS: 'Email or password is incorrect.',
  INVALID_PASSWORD: 'That password is incorrect.',
  EMAIL_TAKEN: 'An account with this email already exists. Log in instead.',
  STORE_UNAVAILABLE: 'The service is briefly unavailable. Try again in a moment.',
  WRITE_NOT_CONFIRMED: 'The change was not confirmed in time. Try again.',
  BUSY: 'The server is busy. Try again in a moment.',
  NETWORK: 'Could not reach the server. Check the connection and try again.',
};

/** One request to the API; never throws: a network failure is status 0, code NETWORK. */
async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return { status: 0, code: 'NETWORK', message: FRIENDLY.NETWORK };
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (data && typeof data.csrfToken === 'string') csrf = data.csrfToken;
  const err = data && data.error;
  if (!err) return { status: res.status, data };
  const detail = Array.isArray(err.details) && err.details[0] ? `${err.details[0].path}: ${err.details[0].message}` : '';
  let message = FRIENDLY[err.code] ?? err.message;
  if (err.code === 'VALIDATION_FAILED' && detail) message = `Please check the form (${detail}).`;
  const retry = res.headers.get('retry-after');
  if (err.code === 'TOO_MANY_ATTEMPTS' && retry) message = `Too many attempts. Try again in ${retry} s.`;
  return { status: res.status, code: err.code, message, data };
}

function say(text) {
  // Clear first so the same message twice in a row is announced again.
  $('status').textContent = '';
  requestAnimationFrame(() => ($('status').textContent = text));
}

/** Shows (or clears) a form's error; the field at fault is marked invalid and focused. */
function showError(id, text, field) {
  const el = $(id);
  el.textContent = text ?? '';
  for (const f of el.closest('form, section')?.querySelectorAll('[aria-invalid]') ?? []) f.removeAttribute('aria-invalid');
  if (text && field) {
    if (field instanceof HTMLInputElement) field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

function fmtTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function timeEl(iso, text) {
  const t = document.createElement('time');
  t.dateTime = iso;
  t.title = fmtTime(iso);
  t.textContent = text ?? fmtTime(iso);
  return t;
}

function view(name) {
  $('loading').hidden = true;
  $('signed-out').hidden = name !== 'signed-out';
  $('signed-in').hidden = name !== 'signed-in';
}

/** Back to the login form: after a logout, or whenever the server says the session is gone. */
function signedOut(message) {
  csrf = undefined;
  $('whoami').textContent = '';
  $('sessions').replaceChildren();
  for (const f of ['password-form', 'login-form', 'register-form']) $(f).reset();
  for (const e of ['login-error', 'register-error', 'password-error', 'sessions-error']) showError(e, '');
  view('signed-out');
  if (message) say(message);
  $('login-email').focus();
}

const ENDED = 'Your session has ended. Please log in again.';

/**
 * Runs an authenticated call. 401: the session is gone (revoked elsewhere, expired), so the
 * page returns to the login form. 403 REAUTH_REQUIRED: ask for the password, POST /auth/reauth,
 * and retry the call once. Anything else is returned to the caller to show.
 */
async function authed(method, path, body) {
  let r = await api(method, path, body);
  if (r.code === 'REAUTH_REQUIRED') {
    const ok = await reauthenticate();
    if (!ok) return { status: 0, code: 'CANCELLED', message: 'Cancelled: the action needs your password.' };
    r = await api(method, path, body);
  }
  if (r.status === 401) {
    signedOut(ENDED);
    return { ...r, handled: true };
  }
  return r;
}

/** The re-authentication dialog; resolves true once /auth/reauth accepted the password. */
function reauthenticate() {
  const dialog = $('reauth');
  const form = $('reauth-form');
  const input = $('reauth-password');
  const opener = document.activeElement;
  form.reset();
  showError('reauth-error', '');
  return new Promise((resolve) => {
    const done = (ok) => {
      form.removeEventListener('submit', onSubmit);
      $('reauth-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      dialog.close();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(ok);
    };
    const onSubmit = async (e) => {
      e.preventDefault();
      const r = await api('POST', '/auth/reauth', { password: input.value });
      if (r.status === 200) return done(true);
      if (r.status === 401) {
        done(false);
        return;
      }
      showError('reauth-error', r.message, input);
      input.select();
    };
    const onCancel = (e) => {
      e.preventDefault();
      done(false);
    };
    form.addEventListener('submit', onSubmit);
    $('reauth-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    input.focus();
  });
}

function renderMe(data) {
  $('whoami').textContent = `Logged in as ${data.user.email}`;
  $('me-email').textContent = data.user.email;
  for (const el of document.querySelectorAll('.account-name')) el.value = data.user.email;
  $('me-id').textContent = data.user.id;
  $('me-created').replaceChildren(timeEl(data.session.createdAt));
  $('me-idle').replaceChildren(timeEl(data.session.idleExpiresAt));
}

function sessionRow(s) {
  const tr = document.createElement('tr');
  if (s.current) tr.className = 'current';
  const device = document.createElement('td');
  device.textContent = s.userAgent || 'Unknown device';
  if (s.current) {
    const badge = document.createElement('strong');
    badge.className = 'badge';
    badge.textContent = 'this device';
    device.append(' ', badge);
  }
  const ip = document.createElement('td');
  ip.className = 'mono';
  ip.textContent = s.ip || 'unknown';
  const seen = document.createElement('td');
  seen.append(timeEl(s.lastSeenAt, ago(s.lastSeenAt)));
  const started = document.createElement('td');
  started.append(timeEl(s.createdAt));
  const action = document.createElement('td');
  const b = document.createElement('button');
  b.type = 'button';
  b.dataset.handle = s.handle;
  const what = `${s.userAgent || 'unknown device'}, last seen ${ago(s.lastSeenAt)}`;
  if (s.current) {
    b.textContent = 'Log out';
    b.setAttribute('aria-label', `Log out this session (${what})`);
    b.addEventListener('click', logout);
  } else {
    b.textContent = 'Revoke';
    b.setAttribute('aria-label', `Revoke session on ${what}`);
    b.addEventListener('click', () => revoke(s, b));
  }
  action.append(b);
  tr.append(device, ip, seen, started, action);
  return tr;
}

async function loadSessions() {
  const r = await authed('GET', '/auth/sessions');
  if (r.handled) return false;
  if (r.status !== 200) {
    showError('sessions-error', r.message);
    return false;
  }
  showError('sessions-error', '');
  // This device first, then the most recently seen.
  const list = [...r.data.sessions].sort((x, y) => Number(y.current) - Number(x.current) || y.lastSeenAt.localeCompare(x.lastSeenAt));
  $('sessions').replaceChildren(...list.map(sessionRow));
  return true;
}

/** Loads who am I and the sessions; false (and the reason shown) when that failed. */
async function refresh() {
  const me = await authed('GET', '/auth/me');
  if (me.handled) return false;
  if (me.status !== 200) {
    showError('sessions-error', me.message);
    return false;
  }
  renderMe(me.data);
  view('signed-in');
  return loadSessions();
}

async function revoke(s, button) {
  button.disabled = true;
  const r = await authed('DELETE', `/auth/sessions/${encodeURIComponent(s.handle)}`);
  button.disabled = false;
  if (r.handled) return;
  if (r.status !== 204 && r.code !== 'SESSION_NOT_FOUND') {
    showError('sessions-error', r.message, button);
    return;
  }
  say(`Revoked the session on ${s.userAgent || 'an unknown device'}.`);
  await loadSessions();
  $('sessions-title').focus();
}

async function logout() {
  const r = await authed('POST', '/auth/logout');
  if (r.handled) return;
  if (r.status !== 204) {
    showError('sessions-error', r.message);
    return;
  }
  signedOut('You are logged out.');
}

async function logoutAll(keepCurrent) {
  const r = await authed('POST', '/auth/logout-all', { keepCurrent });
  if (r.handled) return;
  if (r.status !== 200) {
    showError('sessions-error', r.message);
    return;
  }
  const n = r.data.revoked;
  if (keepCurrent) {
    say(`Logged out ${n} other session${n === 1 ? '' : 's'}.`);
    await loadSessions();
  } else {
    signedOut(`Logged out everywhere (${n} session${n === 1 ? '' : 's'}).`);
  }
}

async function onLogin(e) {
  e.preventDefault();
  const email = $('login-email');
  const password = $('login-password');
  const r = await api('POST', '/auth/login', { email: email.value, password: password.value });
  if (r.status !== 200) {
    showError('login-error', r.message, r.code === 'INVALID_CREDENTIALS' ? password : email);
    return;
  }
  await enter(`Welcome, ${r.data.user.email}.`);
}

async function onRegister(e) {
  e.preventDefault();
  const email = $('register-email');
  const password = $('register-password');
  const reg = await api('POST', '/auth/register', { email: email.value, password: password.value });
  if (reg.status !== 201) {
    showError('register-error', reg.message, reg.code === 'EMAIL_TAKEN' ? email : password);
    return;
  }
  const r = await api('POST', '/auth/login', { email: email.value, password: password.value });
  if (r.status !== 200) {
    showError('register-error', `Account created, but the login failed: ${r.message}`);
    return;
  }
  await enter(`Account created. Welcome, ${r.data.user.email}.`);
}

async function enter(message) {
  $('login-form').reset();
  $('register-form').reset();
  showError('login-error', '');
  showError('register-error', '');
  if (await refresh()) {
    say(message);
    $('me-title').focus();
  }
}

async function onChangePassword(e) {
  e.preventDefault();
  const current = $('current-password');
  const next = $('new-password');
  const r = await authed('POST', '/auth/password', { currentPassword: current.value, newPassword: next.value });
  if (r.handled) return;
  if (r.status !== 200) {
    showError('password-error', r.message, r.code === 'INVALID_PASSWORD' ? current : next);
    return;
  }
  $('password-form').reset();
  showError('password-error', '');
  const n = r.data.revoked;
  say(`Password changed. ${n} other session${n === 1 ? ' was' : 's were'} logged out.`);
  await refresh();
}

function start() {
  for (const id of ['me-title', 'sessions-title']) $(id).tabIndex = -1;
  $('login-form').addEventListener('submit', onLogin);
  $('register-form').addEventListener('submit', onRegister);
  $('password-form').addEventListener('submit', onChangePassword);
  $('logout').addEventListener('click', logout);
  $('refresh').addEventListener('click', async () => {
    // A message from before would read as this refresh's outcome.
    $('status').textContent = '';
    showError('sessions-error', '');
    if (await refresh()) say('Sessions updated.');
  });
  $('logout-others').addEventListener('click', () => logoutAll(true));
  $('logout-all').addEventListener('click', () => logoutAll(false));
  api('GET', '/auth/me').then((r) => {
    if (r.status === 200) {
      renderMe(r.data);
      view('signed-in');
      loadSessions();
    } else if (r.status === 401) {
      signedOut();
    } else {
      view('signed-out');
      showError('login-error', r.message);
    }
  });
}

start();
