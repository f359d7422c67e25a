import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { CONFIG_VARIABLES } from '../../src/config.js';
import { ERRORS } from '../../src/errors.js';

const root = new URL('../../../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

describe('docs stay true to the code', () => {
  it('the README and docs/contracts.md document every environment variable the service reads', () => {
    const readme = read('README.md');
    const contracts = read('docs/contracts.md');
    const missing = CONFIG_VARIABLES.filter((v) => !readme.includes(`\`${v}\``));
    expect(missing, 'variables missing from the README configuration table').toEqual([]);
    const missingContract = CONFIG_VARIABLES.filter((v) => !contracts.includes(`\`${v}\``));
    expect(missingContract, 'variables missing from docs/contracts.md').toEqual([]);
  });

  it('the README names no variable the service does not read', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Observability'));
    const named = [...section.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map((m) => m[1]!);
    expect(named.filter((v) => !CONFIG_VARIABLES.includes(v) && !(v in ERRORS))).toEqual([]);
  });

  it('every error code the README cites exists', () => {
    const readme = read('README.md');
    const cited = [...readme.matchAll(/\b(\d{3}) `?([A-Z][A-Z_]{3,})`?/g)].map((m) => m[2]!);
    expect(cited.length).toBeGreaterThan(3);
    expect(cited.filter((c) => !(c in ERRORS))).toEqual([]);
  });
});
