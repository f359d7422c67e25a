/**
 * The CLI's plain-text output from made-up runs: human figure labels, captions for both tables
 * of a multi-trial run, aligned columns (summary, aggregate, `list`).
 */
import { describe, expect, it } from 'vitest';
import { experiments } from '../src/experiments/catalog.js';
import { aggregateTable, experimentList, summaryTable } from '../src/summary.js';
import { run, sentinel, standalone } from './report-fixtures.js';

describe('CLI summary', () => {
  const multi = run('sentinel', [sentinel.trials[0]!, { ...sentinel.trials[0]!, index: 2 }, { ...sentinel.trials[0]!, index: 3 }]);

  it('labels figures for people: no internal ...Ms keys', () => {
    const out = `${summaryTable([standalone, sentinel])}\n${aggregateTable(multi)}`;
    expect(out).not.toMatch(/\w+Ms\b/);
    expect(aggregateTable(multi)).toMatch(/^failure detection \(kill → \+sdown\) +\| 1\.07 s/m);
  });

  it('labels both tables of a multi-trial run', () => {
    const first = summaryTable([multi]).split('\n');
    expect(first[0]).toBe('trial 1 of 3 (medians and worst of all 3 below)');
    expect(first[1]).toMatch(/^figure +\| kill-primary \/ sentinel$/);
    expect(aggregateTable(multi).split('\n')[0]).toBe('across all 3 trials of kill-primary / sentinel');
    // A single trial needs no caption: the table starts with its header.
    expect(summaryTable([standalone, sentinel]).split('\n')[0]).toMatch(/^figure +\| kill-primary \/ standalone \| kill-primary \/ sentinel$/);
  });

  it('aligns every column of its tables', () => {
    for (const table of [summaryTable([standalone, sentinel]), aggregateTable(multi).split('\n').slice(1).join('\n')]) {
      const lines = table.split('\n').filter((l) => !/^trial /.test(l));
      // column separators: ' | ' in the rows, '-+-' in the rule under the header
      const bars = (l: string): number[] => [...l.matchAll(/(?<= )\|(?= )|(?<=-)\+(?=-)/g)].map((m) => [...l.slice(0, m.index)].length);
      for (const l of lines) expect(bars(l)).toEqual(bars(lines[0] as string));
    }
  });

  it('`list` puts every experiment\'s columns at the same offsets, the longest name included', () => {
    const lines = experimentList(Object.values(experiments)).split('\n');
    const header = lines[0] as string;
    const cols = [header.indexOf('topologies'), header.indexOf('what it does')];
    expect(cols.every((c) => c > 0)).toBe(true);
    for (const e of Object.values(experiments)) {
      const l = lines.find((x) => x.startsWith(`${e.name} `)) as string;
      expect(l.indexOf(e.topologies.join(', '), e.name.length)).toBe(cols[0]);
      expect(l.indexOf(e.title, cols[0])).toBe(cols[1]);
      expect(l.charAt((cols[0] as number) - 1)).toBe(' ');
    }
  });
});
