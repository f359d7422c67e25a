// Shared settings for every scenario: read from __ENV (k6 -e NAME=value or the environment).

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/+$/, '');

export function envNum(name: string, def: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${raw}"`);
  return n;
}

export function envStr(name: string, def: string): string {
  const raw = __ENV[name];
  return raw === undefined || raw === '' ? def : raw;
}

/** k6 duration strings ("30s", "5m"); kept as strings so k6 validates them. */
export function envDuration(name: string, def: string): string {
  const raw = envStr(name, def);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(raw)) throw new Error(`${name} must be a k6 duration like 30s or 5m, got "${raw}"`);
  return raw;
}

/** Seconds in a k6 duration string, for sizing per-second timelines. */
export function durationSeconds(d: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(d)) !== null) {
    const v = Number(m[1]);
    total += m[2] === 'ms' ? v / 1000 : m[2] === 's' ? v : m[2] === 'm' ? v * 60 : v * 3600;
  }
  return total;
}

/** Summary trend stats, with p(99) (not in k6's defaults). */
export const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];
