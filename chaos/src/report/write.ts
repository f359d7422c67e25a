import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../record.js';
import { timestamp } from '../util.js';
import { renderRunHtml } from './html.js';

export interface WrittenReport {
  json: string;
  html: string;
  base: string;
}

/** reports/<experiment>-<topology>-<ts>.json + .html */
export function writeRunReport(record: RunRecord, dir: string): WrittenReport {
  mkdirSync(dir, { recursive: true });
  const base = `${record.experiment}-${record.topology}-${timestamp(new Date(record.startedAt))}`;
  const json = join(dir, `${base}.json`);
  const html = join(dir, `${base}.html`);
  // The JSON record keeps every request sample and the 100 ms buckets of each trial.
  writeFileSync(json, `${JSON.stringify({ ...record, bucketMs: 100 }, null, 1)}\n`);
  writeFileSync(html, renderRunHtml(record));
  return { json, html, base };
}

