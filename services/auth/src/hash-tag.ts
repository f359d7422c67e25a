import { createHash } from 'node:crypto';

/**
 * Redis Cluster hash tags. A key's slot is CRC16 of the text between its first `{` and the next
 * `}` (mod 16384), so keys sharing a tag share a slot, and a Lua script may touch them together.
 * In cluster mode everything one user owns carries the user's tag: the user record, the email
 * index, the session index and every session (docs/cluster.md explains the layout).
 */

/** 4 base64url characters (24 bits) of sha256(value): spreads evenly over the 16384 slots. */
export function slotTag(value: string): string {
  return createHash('sha256').update(value).digest().subarray(0, 3).toString('base64url');
}

const TAG_RE = /^\{([A-Za-z0-9_-]{4})\}/;

/** The tag a value starts with (`{abcd}...`), or undefined. */
export function leadingTag(value: string): string | undefined {
  return TAG_RE.exec(value)?.[1];
}

export function tagged(tag: string): string {
  return `{${tag}}`;
}
