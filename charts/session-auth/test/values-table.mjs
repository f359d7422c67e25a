// Regenerates the values table of the chart README from the `# --` comments of values.yaml:
//   node charts/session-auth/test/values-table.mjs --write
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, isMap } from 'yaml';

const chartDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const doc = parseDocument(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
const rows = [];
function walk(map, prefix) {
  map.items.forEach((item, i) => {
    const key = String(item.key.value);
    const full = prefix ? `${prefix}.${key}` : key;
    const comment = (item.key.commentBefore ?? '') + (i === 0 ? (map.commentBefore ?? '') : '');
    // The description starts at the comment line that starts with `--` (the file header before the first key does not).
    const m = /(?:^|\n)\s*--\s*([\s\S]*)$/.exec(comment);
    if (isMap(item.value) && !m) return walk(item.value, full);
    const v = item.value?.toJSON ? item.value.toJSON() : item.value;
    const type = v === null ? 'int (or null)' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'object' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'number') : typeof v === 'boolean' ? 'bool' : 'string';
    const desc = m[1].split('\n').map((l) => l.replace(/^\s*#?\s?/, '').replace(/^--\s*/, '')).join(' ').trim().replace(/\|/g, '\\|');
    let def = JSON.stringify(v);
    if (def.length > 80) def = JSON.stringify(v, null, 0).slice(0, 77) + '...';
    rows.push(`| \`${full}\` | ${type} | \`${def.replace(/\|/g, '\\|')}\` | ${desc} |`);
  });
}
walk(doc.contents, '');
const table = '| Key | Type | Default | Description |\n|-----|------|---------|-------------|\n' + rows.join('\n') + '\n';
if (process.argv.includes('--write')) {
  const readmePath = path.join(chartDir, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const marker = '## Values\n';
  writeFileSync(readmePath, readme.slice(0, readme.indexOf(marker) + marker.length) + '\n' + table);
} else {
  process.stdout.write(table);
}
