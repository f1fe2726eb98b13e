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

/** Reads a count like "67,349" from a SOURCE.md table row whose first cell is `file`. */
export function sourceCount(dataset: string, file: string, column: number): number {
  const md = fs.readFileSync(path.join(DATA, dataset, 'SOURCE.md'), 'utf8');
  const row = md.split('\n').find((l) => l.startsWith(`| ${file} |`));
  if (!row) throw new Error(`${dataset}/SOURCE.md has no row for ${file}`);
  const cell = row.split('|')[column + 1].trim();
  return Number(/^[\d,]+/.exec(cell)?.[0].replace(/,/g, ''));
}
