import { connect, type Socket } from 'node:net';

/**
 * A minimal RESP2 client: enough for PING, INFO, SENTINEL queries and PSUBSCRIBE.
 * The harness talks to servers that may be dead, frozen or mid-failover, so it needs exact
 * control of timeouts and no hidden reconnects or offline queues, which a full client adds.
 */

/** An error reply (`-ERR ...`) from the server, kept as a value so callers can inspect it. */
export class RespError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespError';
  }
}

export type RespValue = string | number | null | RespError | RespValue[];

type Parsed = { value: RespValue; next: number } | undefined;

function parseAt(buf: Buffer, at: number): Parsed {
  const lineEnd = buf.indexOf('\r\n', at);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[at] ?? 0);
  const line = buf.toString('utf8', at + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let pos = after;
      for (let i = 0; i < count; i++) {
        const item = parseAt(buf, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new Error(`RESP protocol error: unexpected type byte ${JSON.stringify(type)}`);
  }
}

/** Incremental parser: feed bytes, take whole replies. */
export class RespParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RespValue[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: RespValue[] = [];
    let pos = 0;
    for (;;) {
      const parsed = parseAt(this.buf, pos);
      if (!parsed) break;
      out.push(parsed.value);
      pos = parsed.next;
    }
    this.buf = this.buf.subarray(pos);
    return out;
  }
}

export function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const b = Buffer.from(String(arg));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export interface Endpoint {
  host: string;
  port: number;
  password?: string | undefined;
}

/**
 * Opens a connection, optionally AUTHs, sends the commands pipelined, returns one reply per
 * command (error replies as RespError values) and closes. Rejects on connect failure, on a
 * closed socket, or when the whole exchange exceeds timeoutMs: a frozen server must not hang us.
 */
export function exchange(
  endpoint: Endpoint,
  commands: readonly (readonly (string | number)[])[],
  timeoutMs = 1000,
): Promise<RespValue[]> {
  const all = endpoint.password ? [['AUTH', endpoint.password], ...commands] : [...commands];
  return new Promise<RespValue[]>((resolve, reject) => {
    const parser = new RespParser();
    const replies: RespValue[] = [];
    let settled = false;
    const socket: Socket = connect({ host: endpoint.host, port: endpoint.port });
    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(endpoint.password ? replies.slice(1) : replies);
    };
    const timer = setTimeout(
      () => finish(new Error(`timeout after ${timeoutMs} ms talking to ${endpoint.host}:${endpoint.port}`)),
      timeoutMs,
    );
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(Buffer.concat(all.map(encodeCommand))));
    socket.on('data', (chunk: Buffer) => {
      try {
        replies.push(...parser.push(chunk));
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (replies.length >= all.length) {
        const auth = replies[0];
        if (endpoint.password && auth instanceof RespError) finish(auth);
        else finish(undefined);
      }
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () =>
      finish(new Error(`connection to ${endpoint.host}:${endpoint.port} closed before all replies arrived`)),
    );
  });
}

/** One command; an error reply becomes a rejected RespError. */
export async function command(
  endpoint: Endpoint,
  args: readonly (string | number)[],
  timeoutMs = 1000,
): Promise<RespValue> {
  const [reply] = await exchange(endpoint, [args], timeoutMs);
  if (reply instanceof RespError) throw reply;
  return reply ?? null;
}

/** Parses INFO text into a flat key -> value map. */
export function parseInfo(text: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof text !== 'string') return out;
  for (const line of text.split('\r\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Turns a flat [k1, v1, k2, v2, ...] reply (SENTINEL MASTER, SENTINEL REPLICAS items) into a map. */
export function pairsToRecord(value: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(value)) return out;
  for (let i = 0; i + 1 < value.length; i += 2) {
    out[String(value[i])] = String(value[i + 1]);
  }
  return out;
}
