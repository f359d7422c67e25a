import { z } from 'zod';
import { normaliseEmail } from '../users/repository.js';

/** NIST 800-63B: at least 8 characters, any characters, and a byte bound so hashing cost is bounded. */
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_BYTES = 1024;

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

const email = z
  .string()
  .max(254)
  .transform(normaliseEmail)
  .pipe(z.email({ message: 'must be an email address' }));

export const RegisterBody = z.strictObject({
  email,
  password: z
    .string()
    .refine((p) => [...p].length >= PASSWORD_MIN_CHARS, `must be at least ${PASSWORD_MIN_CHARS} characters`)
    .refine((p) => utf8Bytes(p) <= PASSWORD_MAX_BYTES, `must be at most ${PASSWORD_MAX_BYTES} bytes`),
});

export const LoginBody = z.strictObject({
  email,
  password: z
    .string()
    .min(1)
    .refine((p) => utf8Bytes(p) <= PASSWORD_MAX_BYTES, `must be at most ${PASSWORD_MAX_BYTES} bytes`),
});

export const LogoutAllBody = z.strictObject({ keepCurrent: z.boolean().optional() });

export const HandleParam = z.string().regex(/^[A-Za-z0-9_-]{16}$/);
