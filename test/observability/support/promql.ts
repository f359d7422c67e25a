/**
 * Just enough PromQL lexing to list the series selectors, label matchers and grouping labels a
 * query uses. Syntax itself is checked by a real Prometheus (see prometheus.ts); this only has to
 * be right for well-formed queries.
 */

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  /** Metric name, or undefined for `{__name__=~"..."}`-style selectors. */
  metric?: string;
  matchers: Matcher[];
}

export interface PromqlUsage {
  selectors: Selector[];
  /** Labels named in by/without/on/ignoring/group_left/group_right clauses. */
  groupingLabels: string[];
}

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'punct'; text: string };

const AGGREGATORS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk',
  'quantile', 'limitk', 'limit_ratio',
]);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'atan2', 'start', 'end']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

function unquote(literal: string): string {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  if (quote === '`') return body;
  return body.replace(/\\(.)/g, (_m, ch: string) => ({ n: '\n', t: '\t', r: '\r' })[ch] ?? ch);
}

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const ch = expr[i] ?? '';
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === '#') {
      const end = expr.indexOf('\n', i);
      i = end === -1 ? expr.length : end;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      const m = ch === '`' ? /^`[^`]*`/.exec(rest) : new RegExp(`^${ch}(?:\\\\.|[^\\\\${ch}])*${ch}`).exec(rest);
      if (!m) throw new Error(`unterminated string at ${i} in: ${expr}`);
      tokens.push({ kind: 'string', text: unquote(m[0]) });
      i += m[0].length;
    } else if (/[0-9.]/.test(ch)) {
      const m = /^(?:0x[0-9a-f]+|(?:[0-9]+(?:ms|[smhdwy]))+|[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)/i.exec(rest);
      const text = m?.[0] ?? ch;
      tokens.push({ kind: 'number', text });
      i += text.length;
    } else if (/[a-zA-Z_:]/.test(ch)) {
      const text = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest)?.[0] ?? ch;
      tokens.push({ kind: 'ident', text });
      i += text.length;
    } else {
      const text = /^(?:=~|!~|!=|==|>=|<=|[-+*/%^=<>(){}[\],@])/.exec(rest)?.[0];
      if (!text) throw new Error(`unexpected character "${ch}" at ${i} in: ${expr}`);
      tokens.push({ kind: 'punct', text });
      i += text.length;
    }
  }
  return tokens;
}

export function analyzePromql(expr: string): PromqlUsage {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  let i = 0;
  const peek = (offset = 0): Token | undefined => tokens[i + offset];
  const isPunct = (token: Token | undefined, text: string): boolean => token?.kind === 'punct' && token.text === text;

  const readMatchers = (): Matcher[] => {
    // at "{"
    const matchers: Matcher[] = [];
    i += 1;
    while (i < tokens.length && !isPunct(peek(), '}')) {
      const label = peek();
      const op = peek(1);
      const value = peek(2);
      if (label?.kind === 'ident' && op?.kind === 'punct' && value?.kind === 'string') {
        matchers.push({ label: label.text, op: op.text as Matcher['op'], value: value.text });
        i += 3;
      } else if (label?.kind === 'string') {
        // Prometheus 3 quoted metric name: {"name", ...}
        i += 1;
      } else {
        i += 1;
      }
      if (isPunct(peek(), ',')) i += 1;
    }
    i += 1; // "}"
    return matchers;
  };

  while (i < tokens.length) {
    const token = peek();
    if (token === undefined) break;
    if (isPunct(token, '[')) {
      // range or subquery: durations and ":" only
      while (i < tokens.length && !isPunct(peek(), ']')) i += 1;
      i += 1;
      continue;
    }
    if (isPunct(token, '{')) {
      const matchers = readMatchers();
      const name = matchers.find((m) => m.label === '__name__' && m.op === '=');
      selectors.push({ ...(name ? { metric: name.value } : {}), matchers: matchers.filter((m) => m !== name) });
      continue;
    }
    if (token.kind === 'ident') {
      if (GROUPING.has(token.text) && isPunct(peek(1), '(')) {
        i += 2;
        while (i < tokens.length && !isPunct(peek(), ')')) {
          const label = peek();
          if (label?.kind === 'ident') groupingLabels.push(label.text);
          i += 1;
        }
        i += 1;
        continue;
      }
      if (KEYWORDS.has(token.text) || AGGREGATORS.has(token.text) || isPunct(peek(1), '(')) {
        i += 1; // function, aggregation or keyword
        continue;
      }
      if (/^(?:inf|nan)$/i.test(token.text)) {
        i += 1;
        continue;
      }
      i += 1;
      const matchers = isPunct(peek(), '{') ? readMatchers() : [];
      selectors.push({ metric: token.text, matchers });
      continue;
    }
    i += 1;
  }
  return { selectors, groupingLabels };
}

/** Grafana's global variables, with the values the tests substitute. */
export const GRAFANA_BUILTINS: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '15s',
  __interval_ms: '15000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

const VARIABLE = /\$\{([a-zA-Z0-9_]+)(?::[a-zA-Z0-9_]+)?\}|\$([a-zA-Z0-9_]+)|\[\[([a-zA-Z0-9_]+)(?::[a-zA-Z0-9_]+)?\]\]/g;

/** Names of the Grafana template variables a string references. */
export function referencedVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/**
 * Replaces $var, ${var}, ${var:fmt} and [[var]]. A variable without a value throws, or with
 * `strict: false` stays as written (Prometheus then rejects the query, naming it).
 */
export function expandVariables(text: string, values: Record<string, string>, { strict = true } = {}): string {
  return text.replace(VARIABLE, (whole: string, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    const value = values[name] ?? GRAFANA_BUILTINS[name];
    if (value !== undefined) return value;
    if (strict) throw new Error(`no value for Grafana variable $${name} in: ${text}`);
    return whole;
  });
}
