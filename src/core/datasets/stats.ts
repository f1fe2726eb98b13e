// Dataset statistics: rows, label / entity distributions, a token-length histogram with the
// model's tokenizer, the share that max_seq_length would truncate, and for QA the answers that
// fall past it. Exact percentiles from a bounded count array; everything streams. CJK-aware: the
// characters of the texts (and how many are CJK) next to the tokens, and the share of [UNK] under the
// chosen tokenizer (an English vocabulary turns most Chinese characters into [UNK]).

import * as path from 'node:path';
import { DiagnosticBag } from './diagnostics';
import { LineReader } from './lineReader';
import { entityType } from './conll';
import type { DatasetManifest } from './snapshot';
import { isCjk, type TokenCounter } from './tokenCount';
import { throwIfAborted, SPLITS, type CanonicalRecord, type ClassificationRecord, type PretrainRecord, type QaRecord, type SplitName, type Task, type TokenRecord } from './types';
import type { DatasetStatistics, SplitStatistics, TokenLengthStats } from '../../shared/datasetStats';

export type { DatasetStatistics, SplitStatistics, TokenLengthStats };

/** Lengths above this land in the last bin; percentiles cap here. */
export const MAX_TRACKED_LENGTH = 4096;
export const HISTOGRAM_BIN = 8;

export class SplitAccumulator {
  private rows = 0;
  private readonly lengths = new Uint32Array(MAX_TRACKED_LENGTH + 1);
  private sum = 0;
  private min = Infinity;
  private max = 0;
  private truncated = 0;
  private labels: Record<string, number> | undefined;
  private labelsPerExample: Record<string, number> | undefined;
  private entities: Record<string, number> | undefined;
  private answers = 0;
  private answersLost = 0;
  private answersInNoWindow = 0;
  private characters = 0;
  private cjk = 0;
  private allTokens = 0;
  private unknown: number | undefined;

  constructor(
    readonly split: SplitName,
    private readonly task: Task,
    private readonly counter: TokenCounter,
    private readonly maxSeqLength: number,
  ) {}

  add(record: CanonicalRecord): void {
    this.rows++;
    let n: number;
    switch (this.task) {
      case 'sequence_classification': {
        const r = record as ClassificationRecord;
        n = this.tokens(r.text, r.text_pair);
        this.countCharacters([r.text, r.text_pair]);
        if (Array.isArray(r.label)) {
          // Multi-label: frequency per individual label, and how many labels each example has.
          const labels = (this.labels ??= {});
          for (const l of r.label) labels[l] = (labels[l] ?? 0) + 1;
          const per = (this.labelsPerExample ??= {});
          per[r.label.length] = (per[r.label.length] ?? 0) + 1;
        } else if (r.label !== undefined) (this.labels ??= {})[r.label] = (this.labels[r.label] ?? 0) + 1;
        break;
      }
      case 'token_classification': {
        const r = record as TokenRecord;
        n = this.tokens(r.tokens.join(' '));
        this.countCharacters(r.tokens);
        let prev: string | undefined;
        for (const t of r.tags) {
          const type = entityType(t);
          if (type && (t[0] === 'B' || t[0] === 'S' || !prev || entityType(prev) !== type)) (this.entities ??= {})[type] = (this.entities[type] ?? 0) + 1;
          prev = t;
        }
        break;
      }
      case 'question_answering': {
        const r = record as QaRecord;
        n = this.tokens(r.question, r.context);
        this.countCharacters([r.question, r.context]);
        this.answers += r.answers.length;
        if (n > this.maxSeqLength) {
          const q = this.counter.count(r.question) - 2;
          const seen = new Map<number, boolean>();
          for (const a of r.answers) {
            const end = a.answer_start + a.text.length;
            let lost = seen.get(end);
            if (lost === undefined) {
              // [CLS] question [SEP] context-prefix … : the answer must end before the last [SEP].
              lost = q + this.counter.count(r.context.slice(0, end)) - 2 + 3 > this.maxSeqLength;
              seen.set(end, lost);
            }
            if (lost) this.answersLost++;
            // With doc stride a window holds max_seq_length - question - 3 context tokens.
            const room = this.maxSeqLength - q - 3;
            if (room <= 0 || this.counter.count(a.text) - 2 > room) this.answersInNoWindow++;
          }
        }
        break;
      }
      default: {
        const r = record as PretrainRecord;
        n = 2;
        for (const s of r.sentences) n += this.tokens(s) - 2;
        this.countCharacters(r.sentences);
      }
    }
    this.lengths[Math.min(n, MAX_TRACKED_LENGTH)]++;
    this.sum += n;
    if (n < this.min) this.min = n;
    if (n > this.max) this.max = n;
    if (n > this.maxSeqLength) this.truncated++;
  }

  /** Counts the characters of `texts`, and of them the CJK ones. */
  private countCharacters(texts: readonly (string | undefined)[]): void {
    for (const t of texts) {
      for (const ch of t ?? '') {
        this.characters++;
        if (isCjk(ch.codePointAt(0) ?? 0)) this.cjk++;
      }
    }
  }

  /** Tokens of a text (pair) as the model sees them, counting the [UNK]s when the tokenizer can tell. */
  private tokens(text: string, pair?: string): number {
    if (!this.counter.measure) return this.counter.count(text, pair);
    const m = this.counter.measure(text, pair);
    this.unknown = (this.unknown ?? 0) + m.unknown;
    this.allTokens += m.tokens;
    return m.tokens;
  }

  result(): SplitStatistics {
    const pct = (p: number): number => {
      const target = Math.ceil(p * this.rows);
      let acc = 0;
      for (let i = 0; i < this.lengths.length; i++) {
        acc += this.lengths[i];
        if (acc >= target && target > 0) return i;
      }
      return 0;
    };
    const bins = Math.ceil((Math.min(this.max, MAX_TRACKED_LENGTH) + 1) / HISTOGRAM_BIN);
    const counts = new Array<number>(bins).fill(0);
    for (let i = 0; i < this.lengths.length; i++) if (this.lengths[i]) counts[Math.floor(i / HISTOGRAM_BIN)] += this.lengths[i];
    return {
      split: this.split,
      rows: this.rows,
      ...(this.labels ? { labels: this.labels } : {}),
      ...(this.labelsPerExample ? { labelsPerExample: this.labelsPerExample } : {}),
      ...(this.entities ? { entities: this.entities } : {}),
      tokens: {
        count: this.rows,
        min: this.rows ? this.min : 0,
        max: this.max,
        mean: this.rows ? this.sum / this.rows : 0,
        p50: pct(0.5),
        p90: pct(0.9),
        p95: pct(0.95),
        p99: pct(0.99),
        histogram: { binWidth: HISTOGRAM_BIN, counts },
        truncated: this.truncated,
        truncatedShare: this.rows ? this.truncated / this.rows : 0,
      },
      ...(this.task === 'question_answering' ? { answers: this.answers, answersLost: this.answersLost, answersInNoWindow: this.answersInNoWindow } : {}),
      characters: { count: this.characters, cjk: this.cjk, cjkShare: this.characters ? this.cjk / this.characters : 0 },
      ...(this.unknown !== undefined ? { unknownTokens: { count: this.unknown, share: this.allTokens ? this.unknown / this.allTokens : 0 } } : {}),
    };
  }
}

export interface StatsOptions {
  readonly counter: TokenCounter;
  readonly maxSeqLength: number;
  readonly signal?: AbortSignal;
  /** Records done so far, and the total when known. */
  readonly onProgress?: (done: number, total: number | undefined) => void;
}

/** Statistics over records from any source (a snapshot, or a file read by readDataset). */
export class StatisticsBuilder {
  private readonly splits = new Map<SplitName, SplitAccumulator>();
  private done = 0;
  private readonly started = Date.now();

  constructor(
    private readonly task: Task,
    private readonly opts: StatsOptions,
    private readonly total?: number,
  ) {}

  add(split: SplitName, record: CanonicalRecord): void {
    let acc = this.splits.get(split);
    if (!acc) {
      acc = new SplitAccumulator(split, this.task, this.opts.counter, this.opts.maxSeqLength);
      this.splits.set(split, acc);
    }
    acc.add(record);
    if (++this.done % 1000 === 0) {
      throwIfAborted(this.opts.signal);
      this.opts.onProgress?.(this.done, this.total);
    }
  }

  result(): DatasetStatistics {
    this.opts.onProgress?.(this.done, this.total);
    return {
      task: this.task,
      tokenizer: { kind: this.opts.counter.kind, model: this.opts.counter.model },
      maxSeqLength: this.opts.maxSeqLength,
      splits: SPLITS.filter((s) => this.splits.has(s)).map((s) => (this.splits.get(s) as SplitAccumulator).result()),
      seconds: (Date.now() - this.started) / 1000,
    };
  }
}

/** Statistics of an imported snapshot, read split file by split file. */
export async function snapshotStatistics(dir: string, manifest: DatasetManifest, opts: StatsOptions): Promise<DatasetStatistics> {
  const total = SPLITS.reduce((n, s) => n + (manifest.splits[s]?.count ?? 0), 0);
  const builder = new StatisticsBuilder(manifest.task, opts, total);
  for (const split of SPLITS) {
    const s = manifest.splits[split];
    if (!s) continue;
    const file = path.join(dir, s.file);
    const reader = new LineReader(file, new DiagnosticBag(file, 10), { signal: opts.signal, maxLineBytes: 256 * 1024 * 1024 });
    await reader.run((buf, start, end) => {
      if (end > start) builder.add(split, JSON.parse(buf.toString('utf8', start, end)) as CanonicalRecord);
    });
  }
  return builder.result();
}
