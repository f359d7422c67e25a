import type { Context } from 'koa';
import { AppError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { DeviceCookies } from '../security/device-cookie.js';
import type { LoginClient, LoginThrottle } from '../security/throttle.js';
import type { PasswordHasher, VerifyResult } from '../users/password.js';

export interface PasswordGateDeps {
  readonly throttle: LoginThrottle;
  readonly hasher: PasswordHasher;
  readonly devices: DeviceCookies;
  readonly metrics: Metrics;
  readonly deviceCookie: { readonly name: string; readonly maxAgeMs: number; readonly secure: boolean | 'auto' };
}

export type GateResult = { readonly verdict: VerifyResult; readonly client: LoginClient };

/**
 * Every password check (login, reauth, password change, account deletion) goes through the same
 * throttle: a stolen session must not become an unthrottled oracle for the account's password.
 * The attempt counts before argon2 and is refunded when argon2 never ran (shed as BUSY).
 */
export function passwordGate(d: PasswordGateDeps) {
  const clientOf = (ctx: Context, account: string): LoginClient => ({
    ip: ctx.ip,
    device: d.devices.verify(ctx.cookies.get(d.deviceCookie.name), account),
  });

  return {
    clientOf,

    /**
     * Throws TOO_MANY_ATTEMPTS (429, Retry-After) when throttled; otherwise the verdict (the caller
     * maps a wrong password). `hash` may still be on its way from the user store: the throttle
     * decision and the lookup then travel to Redis together, and argon2 starts only after both.
     */
    async check(ctx: Context, account: string, hash: string | undefined | Promise<string | undefined>, password: string): Promise<GateResult> {
      const client = clientOf(ctx, account);
      const [decision, stored] = await Promise.all([d.throttle.check(account, client), hash]);
      if (!decision.allowed) {
        d.metrics.throttled.inc({ scope: decision.scope });
        throw new AppError('TOO_MANY_ATTEMPTS', { retryAfter: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) });
      }
      let verdict: VerifyResult;
      try {
        verdict = await d.hasher.verify(stored, password);
      } catch (err) {
        await d.throttle.refund(account, client).catch(() => {});
        throw err;
      }
      if (verdict.ok) await d.throttle.reset(account, client);
      return { verdict, client };
    },

    /** A fresh device cookie for the account this browser just proved the password of. */
    issueDevice(ctx: Context, account: string): void {
      ctx.cookies.set(d.deviceCookie.name, d.devices.issue(account), {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        secure: d.deviceCookie.secure === 'auto' ? ctx.secure : d.deviceCookie.secure,
        maxAge: d.deviceCookie.maxAgeMs,
        overwrite: true,
        signed: false,
      });
    },

    clearDevice(ctx: Context): void {
      ctx.cookies.set(d.deviceCookie.name, '', {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        secure: d.deviceCookie.secure === 'auto' ? ctx.secure : d.deviceCookie.secure,
        expires: new Date(0),
        overwrite: true,
        signed: false,
      });
    },
  };
}

export type PasswordGate = ReturnType<typeof passwordGate>;
