// Locates the k6 binary (Node side: used by run-load.ts and test/k6).
import { findGoTool, requireGoTool } from '../scripts/go-tools.js';

export function findK6(): string | undefined {
  return findGoTool('k6', 'K6_BIN');
}

export function requireK6(): string {
  return requireGoTool('k6', 'K6_BIN', 'scripts/install-k6.sh (`go install go.k6.io/k6@v1.8.1`)');
}
