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
