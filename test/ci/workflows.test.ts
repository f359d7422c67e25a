import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { requireGoTool } from '../../scripts/go-tools.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const workflows = readdirSync(join(root, '.github/workflows'))
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => join('.github/workflows', f));

describe('GitHub workflows', () => {
  it('include ci.yaml and e2e-kind.yaml', () => {
    expect(workflows.sort()).toEqual(['.github/workflows/ci.yaml', '.github/workflows/e2e-kind.yaml']);
  });

  it('pass actionlint', () => {
    const actionlint = requireGoTool('actionlint', 'ACTIONLINT_BIN', 'scripts/install-actionlint.sh (`go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12`)');
    let out = '';
    let code = 0;
    try {
      out = execFileSync(actionlint, ['-no-color', ...workflows], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      code = e.status ?? 1;
      out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    expect({ code, out }).toEqual({ code: 0, out: '' });
  });
});
