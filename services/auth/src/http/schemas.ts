import { z } from 'zod';
import { EMAIL_LOCAL_MAX_OCTETS, EMAIL_MAX_OCTETS, localPartOctets, normaliseEmail } from '../users/email.js';

/** NIST 800-63B: at least 8 characters, any characters, and a byte bound so hashing cost is bounded. */
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_BYTES = 1024;

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * The limits are checked on the address as sent and again as normalised; the `meta` carries
 * them into the OpenAPI document (format, lengths), so a generated client sends what we accept.
 */
const emailPattern = `^\\s*(?=[^@\\s]{1,${EMAIL_LOCAL_MAX_OCTETS}}@)${z.regexes.email.source.replace(/^\^|\$$/g, '')}\\s*$`;

const email = z
  .string()
  .min(3)
  .max(EMAIL_MAX_OCTETS)
  .meta({
    format: 'email',
    // The same syntax the server checks (zod's), surrounding space allowed (it is trimmed), the
    // local part at most 64 octets: a client generated from the document sends nothing we refuse.
    pattern: emailPattern,
    description: `An ASCII address, at most ${EMAIL_MAX_OCTETS} octets, at most ${EMAIL_LOCAL_MAX_OCTETS} before the @; case-insensitive`,
  })
  .transform(normaliseEmail)
  .pipe(
    z
      .email({ message: 'must be an email address (ASCII)' })
      .refine((e) => utf8Bytes(e) <= EMAIL_MAX_OCTETS, `must be at most ${EMAIL_MAX_OCTETS} octets`)
      .refine((e) => localPartOctets(e) <= EMAIL_LOCAL_MAX_OCTETS, `the part before @ must be at most ${EMAIL_LOCAL_MAX_OCTETS} octets`),
  );

/** A new password: 8 characters to 1 KiB. The JSON Schema lengths are in characters, so 1024 is the loose bound there. */
const newPassword = z
  .string()
  .min(PASSWORD_MIN_CHARS)
  .max(PASSWORD_MAX_BYTES)
  .meta({ description: `${PASSWORD_MIN_CHARS} characters to ${PASSWORD_MAX_BYTES} UTF-8 bytes` })
  .refine((p) => [...p].length >= PASSWORD_MIN_CHARS, `must be at least ${PASSWORD_MIN_CHARS} characters`)
  .refine((p) => utf8Bytes(p) <= PASSWORD_MAX_BYTES, `must be at most ${PASSWORD_MAX_BYTES} bytes`);

/** A password to check: any non-empty string within the byte bound (older accounts may predate a rule). */
const givenPassword = z
  .string()
  .min(1)
  .max(PASSWORD_MAX_BYTES)
  .meta({ description: `at most ${PASSWORD_MAX_BYTES} UTF-8 bytes` })
  .refine((p) => utf8Bytes(p) <= PASSWORD_MAX_BYTES, `must be at most ${PASSWORD_MAX_BYTES} bytes`);

export const RegisterBody = z.strictObject({ email, password: newPassword });

export const LoginBody = z.strictObject({ email, password: givenPassword });

export const LogoutAllBody = z.strictObject({ keepCurrent: z.boolean().optional() });

export const ReauthBody = z.strictObject({ password: givenPassword });

export const ChangePasswordBody = z.strictObject({ currentPassword: givenPassword, newPassword });

export const DeleteAccountBody = z.strictObject({ password: givenPassword });

export const HandleParam = z.string().regex(/^[A-Za-z0-9_-]{16}$/);
