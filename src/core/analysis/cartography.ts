// Dataset cartography (Swayamdipta et al. 2020) from a run's dynamics.jsonl (written by the worker,
// trainer/bert_studio_trainer/analysis/dynamics.py): each training example's confidence (mean gold-label
// probability over the epochs), variability (its standard deviation) and correctness (share of epochs
// right), and the region of the map it falls in. No `vscode` import.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const DYNAMICS_FILE = 'dynamics.jsonl';

export interface DynamicsRow {
  readonly example: number;
  readonly source: { readonly file: string; readonly line: number } | null;
  /** Sequence classification only. */
  readonly gold?: string;
  readonly epochs: number;
  /** The gold label's probability per epoch (for NER, the mean over the example's words); null where not trained on. */
  readonly gold_prob: readonly (number | null)[];
  readonly confidence: number;
  readonly variability: number;
  readonly correctness: number;
  /** Token classification: words scored. */
  readonly words?: number;
}

export type Region = 'easy' | 'ambiguous' | 'hard';

/**
 * The map's regions, with the paper's reading: ambiguous examples swing between epochs (high
 * variability); of the steady ones, hard-to-learn examples are those the model keeps giving a low
 * gold-label probability (where label errors gather), easy-to-learn ones the rest.
 */
export const REGION_THRESHOLDS = { variability: 0.2, confidence: 0.5 } as const;

export function regionOf(row: Pick<DynamicsRow, 'confidence' | 'variability'>): Region {
  if (row.variability >= REGION_THRESHOLDS.variability) return 'ambiguous';
  return row.confidence < REGION_THRESHOLDS.confidence ? 'hard' : 'easy';
}

function isRow(v: unknown): v is DynamicsRow {
  const o = v as Record<string, unknown>;
  const num = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
  return !!o && typeof o === 'object' && Number.isInteger(o.example) && Number.isInteger(o.epochs) && Array.isArray(o.gold_prob)
    && num(o.confidence) && num(o.variability) && num(o.correctness) && (o.source === null || typeof o.source === 'object');
}

/** The rows of a dynamics.jsonl text (rows without figures, e.g. never trained on, are counted, not kept). */
export function parseDynamics(text: string): { rows: DynamicsRow[]; skipped: number } {
  const rows: DynamicsRow[] = [];
  let skipped = 0;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (isRow(v)) rows.push(v);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { rows, skipped };
}

export async function readDynamics(runDir: string): Promise<{ rows: DynamicsRow[]; skipped: number; file: string } | undefined> {
  const file = path.join(runDir, DYNAMICS_FILE);
  try {
    return { ...parseDynamics(await fs.promises.readFile(file, 'utf8')), file };
  } catch {
    return undefined;
  }
}

export interface CartographySummary {
  readonly examples: number;
  readonly epochs: number;
  readonly regions: Record<Region, number>;
  /** Per region, its examples, the region's most telling first (hard: lowest confidence; ambiguous: most variable; easy: most confident). */
  readonly byRegion: Record<Region, DynamicsRow[]>;
}

export function summarize(rows: readonly DynamicsRow[]): CartographySummary {
  const byRegion: Record<Region, DynamicsRow[]> = { easy: [], ambiguous: [], hard: [] };
  for (const r of rows) byRegion[regionOf(r)].push(r);
  byRegion.hard.sort((a, b) => a.confidence - b.confidence);
  byRegion.ambiguous.sort((a, b) => b.variability - a.variability);
  byRegion.easy.sort((a, b) => b.confidence - a.confidence);
  return {
    examples: rows.length,
    epochs: rows.reduce((m, r) => Math.max(m, r.epochs), 0),
    regions: { easy: byRegion.easy.length, ambiguous: byRegion.ambiguous.length, hard: byRegion.hard.length },
    byRegion,
  };
}

/** An even sample of at most `max` rows (by example order), so a large training set still draws at once. */
export function evenSample<T>(rows: readonly T[], max: number): T[] {
  if (rows.length <= max) return [...rows];
  const out: T[] = [];
  for (let k = 0; k < max; k++) out.push(rows[Math.floor((k * rows.length) / max)] as T);
  return out;
}

/** The examples in a rectangle of the map (inclusive bounds), for tests and the CLI; the page selects the same way. */
export function inRectangle(rows: readonly DynamicsRow[], rect: { readonly v0: number; readonly v1: number; readonly c0: number; readonly c1: number }): DynamicsRow[] {
  const [v0, v1] = rect.v0 <= rect.v1 ? [rect.v0, rect.v1] : [rect.v1, rect.v0];
  const [c0, c1] = rect.c0 <= rect.c1 ? [rect.c0, rect.c1] : [rect.c1, rect.c0];
  return rows.filter((r) => r.variability >= v0 && r.variability <= v1 && r.confidence >= c0 && r.confidence <= c1);
}

const MAX_SNIPPET = 160;
/** Source files larger than this are not read for snippets (the map shows the line number only). */
export const MAX_SNIPPET_FILE = 256 * 1024 * 1024;

/**
 * What the map shows for an example: its text, from its source line (a JSONL record's text or
 * tokens, a CoNLL sentence's words from its first line to the blank line, else the line with its
 * tabs shown as " · "), cut to 160 characters.
 */
export function snippetFrom(lines: readonly string[], line: number): string {
  const first = lines[line - 1];
  if (first === undefined) return '';
  const cut = (s: string): string => {
    const t = s.replace(/\s+/g, ' ').trim();
    return t.length > MAX_SNIPPET ? `${t.slice(0, MAX_SNIPPET - 1)}…` : t;
  };
  const trimmed = first.trim();
  if (trimmed.startsWith('{')) {
    try {
      const o = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof o.text === 'string') return cut(typeof o.text_pair === 'string' ? `${o.text} · ${o.text_pair}` : o.text);
      if (Array.isArray(o.tokens)) return cut(o.tokens.map(String).join(' '));
    } catch {
      // Not a JSON record: shown as it is.
    }
  }
  // A CoNLL sentence: one "word ... TAG" per line up to a blank line.
  if (!first.includes('\t') && /^\S+(\s+\S+)+$/.test(trimmed) && /^[BIESO](-|$)/.test(trimmed.split(/\s+/).pop() ?? '')) {
    const words: string[] = [];
    for (let i = line - 1; i < lines.length && i < line - 1 + 200; i++) {
      const l = (lines[i] ?? '').trim();
      if (!l || l.startsWith('-DOCSTART-')) break;
      words.push(l.split(/\s+/)[0] as string);
      if (words.join(' ').length > MAX_SNIPPET) break;
    }
    return cut(words.join(' '));
  }
  return cut(first.replace(/\t/g, ' · '));
}

/**
 * The snippet of each row whose source file `resolve` allows (it returns the checked path, or
 * undefined for a file that may not be read); each file is read once.
 */
export async function sourceSnippets(rows: readonly DynamicsRow[], resolve: (file: string) => string | undefined): Promise<Map<number, string>> {
  const byFile = new Map<string, DynamicsRow[]>();
  for (const r of rows) {
    if (!r.source) continue;
    const list = byFile.get(r.source.file) ?? [];
    list.push(r);
    byFile.set(r.source.file, list);
  }
  const out = new Map<number, string>();
  for (const [file, list] of byFile) {
    const real = resolve(file);
    if (!real) continue;
    let text: string;
    try {
      if ((await fs.promises.stat(real)).size > MAX_SNIPPET_FILE) continue;
      text = await fs.promises.readFile(real, 'utf8');
    } catch {
      continue;
    }
    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    for (const r of list) if (r.source) out.set(r.example, snippetFrom(lines, r.source.line));
  }
  return out;
}
