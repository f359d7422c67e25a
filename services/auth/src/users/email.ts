/** RFC 5321 4.5.3.1: a local part is at most 64 octets, a whole address (a path less its brackets) 254. */
export const EMAIL_MAX_OCTETS = 254;
export const EMAIL_LOCAL_MAX_OCTETS = 64;

/**
 * The account identity for an address: surrounding space trimmed, NFC, lower case. Not NFKC: it
 * folds compatibility characters, so `paul²@` and `paul2@` (or `ﬁ@` and `fi@`), different
 * mailboxes, became one account. NFC only joins canonically equivalent spellings of the same
 * characters. Case is folded, as it always was here and as the big mail providers do: two
 * mailboxes that differ only in case cannot both register (the second is told EMAIL_TAKEN), which
 * refuses a registration but never lets one mailbox into another's account. The address syntax
 * the schema accepts is ASCII (http/schemas.ts), so what case folding does to other scripts never
 * reaches an account.
 */
export function normaliseEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

/** Octets of the part before the last "@" (the whole string when there is none). */
export function localPartOctets(email: string): number {
  const at = email.lastIndexOf('@');
  return Buffer.byteLength(at < 0 ? email : email.slice(0, at), 'utf8');
}
