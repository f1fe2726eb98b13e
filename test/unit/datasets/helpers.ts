import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', '..', '..');
export const FIXTURES = path.join(REPO, 'test', 'fixtures', 'datasets');
/** Shared data sets (never copied into the repo): $BERT_STUDIO_DATA or <repo>/../shared/data. */
export const DATA = process.env.BERT_STUDIO_DATA ?? path.resolve(REPO, '..', 'shared', 'data');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export function tmpDir(prefix = 'bert-studio-ds-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function sourceCell(dataset: string, file: string, column: number): string {
  const md = fs.readFileSync(path.join(DATA, dataset, 'SOURCE.md'), 'utf8');
  const row = md.split('\n').find((l) => l.startsWith(`| ${file} |`));
  if (!row) throw new Error(`${dataset}/SOURCE.md has no row for ${file}`);
  return row.split('|')[column + 1].trim();
}

function count(s: string): number {
  return Number(s.replace(/,/g, ''));
}

/** Reads a count like "67,349" from a SOURCE.md table row whose first cell is `file`. */
export function sourceCount(dataset: string, file: string, column: number): number {
  const cell = sourceCell(dataset, file, column);
  const m = /^[\d,]+/.exec(cell);
  if (!m) throw new Error(`${dataset}/SOURCE.md: no count in "${cell}"`);
  return count(m[0]);
}

/**
 * The label counts in a SOURCE.md cell like "67,349 (label 0: 29,780 / 1: 37,569)" or
 * "2,490 (entailment 1,249 / not_entailment 1,241)"; undefined for "(no labels)".
 */
export function sourceLabelCounts(dataset: string, file: string, column: number): Record<string, number> | undefined {
  const inner = /\(([^)]*)\)/.exec(sourceCell(dataset, file, column))?.[1];
  if (!inner || /no labels/.test(inner)) return undefined;
  const out: Record<string, number> = {};
  for (const part of inner.split('/')) {
    const m = /(\S+?):?\s+([\d,]+)\s*$/.exec(part.trim());
    if (!m) throw new Error(`${dataset}/SOURCE.md: cannot read label count "${part}"`);
    out[m[1]] = count(m[2]);
  }
  return out;
}

/** A count from a SOURCE.md sentence like "Counts: 48 articles, 2,067 paragraphs, ...". */
export function sourceProseCount(dataset: string, what: string): number {
  const md = fs.readFileSync(path.join(DATA, dataset, 'SOURCE.md'), 'utf8');
  const m = new RegExp(`([\\d,]+) ${what}`).exec(md);
  if (!m) throw new Error(`${dataset}/SOURCE.md does not give a count of ${what}`);
  return count(m[1]);
}
