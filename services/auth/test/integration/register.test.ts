import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Standalone } from '@session-auth/topology';
import { withRedis } from '../support/redis.js';
import type { TestApp } from '../support/app.js';
import { Browser, PASSWORD, STORES, expectError, startOn, uniqueEmail } from './_helpers.js';

let redis: Standalone;
beforeAll(async () => {
  redis = await withRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each(STORES)('POST /auth/register (%s store)', (store) => {
  let app: TestApp;
  let b: Browser;
  beforeAll(async () => {
    app = await startOn(store, redis.url);
    b = new Browser(app.url);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates the user (201) with a normalised email and never echoes the password', async () => {
    const local = uniqueEmail('Alice').split('@')[0]!;
    const r = await b.register(`${local}@Example.COM`, PASSWORD);
    expect(r.status).toBe(201);
    expect(r.body.user.email).toBe(`${local.toLowerCase()}@example.com`);
    expect(r.body.user.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Number.isNaN(Date.parse(r.body.user.createdAt))).toBe(false);
    expect(Object.keys(r.body.user).sort()).toEqual(['createdAt', 'email', 'id']);
    expect(JSON.stringify(r.body)).not.toContain(PASSWORD);
    // The normalised address is the login identity.
    const login = await new Browser(app.url).login(`${local.toLowerCase()}@example.com`, PASSWORD);
    expect(login.status).toBe(200);
  });

  it('refuses a duplicate with 409 EMAIL_TAKEN, also when it differs only in case', async () => {
    const email = uniqueEmail('dup');
    expect((await b.register(email, PASSWORD)).status).toBe(201);
    expectError(await b.register(email, PASSWORD), 409, 'EMAIL_TAKEN');
    expectError(await b.register(email.toUpperCase(), 'another password 123'), 409, 'EMAIL_TAKEN');
    expectError(await b.register(`  ${email.replace('example', 'EXAMPLE')}  `, PASSWORD), 409, 'EMAIL_TAKEN');
  });

  it('counts password length in characters (min 8) and bytes (max 1024)', async () => {
    expectError(await b.register(uniqueEmail(), 'seven77'), 400, 'VALIDATION_FAILED');
    // Seven astral characters are 14 UTF-16 units but only 7 characters.
    expectError(await b.register(uniqueEmail(), '😀'.repeat(7)), 400, 'VALIDATION_FAILED');
    expect((await b.register(uniqueEmail(), '😀'.repeat(8))).status).toBe(201);
    expect((await b.register(uniqueEmail(), 'x'.repeat(1024))).status).toBe(201);
    expectError(await b.register(uniqueEmail(), 'x'.repeat(1025)), 400, 'VALIDATION_FAILED');
    // 513 two-byte characters: 513 chars (< 1024) but 1026 bytes.
    const r = await b.register(uniqueEmail(), 'é'.repeat(513));
    expectError(r, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(r.body.error.details)).toContain('password');
    expect((await b.register(uniqueEmail(), 'é'.repeat(512))).status).toBe(201);
  });

  it.each([
    ['an invalid email', { email: 'not-an-email', password: PASSWORD }, 'email'],
    ['an email with two @', { email: 'a@b@example.com', password: PASSWORD }, 'email'],
    ['an unknown field', { email: 'x@example.com', password: PASSWORD, admin: true }, 'admin'],
    ['a numeric email', { email: 42, password: PASSWORD }, 'email'],
    ['a boolean password', { email: 'x@example.com', password: true }, 'password'],
    ['a missing password', { email: 'x@example.com' }, 'password'],
    ['an empty object', {}, 'email'],
  ])('answers 400 VALIDATION_FAILED for %s', async (_name, body, field) => {
    const r = await b.post('/auth/register', body);
    expectError(r, 400, 'VALIDATION_FAILED');
    expect(Array.isArray(r.body.error.details)).toBe(true);
    expect(JSON.stringify(r.body.error.details)).toContain(field);
  });

  it('answers 400 VALIDATION_FAILED for a missing body', async () => {
    expectError(await b.request('POST', '/auth/register'), 400, 'VALIDATION_FAILED');
  });
});
