// Dataset splits and the statistics the host computes and the statistics page shows: pure types,
// imported by the host (src/core/datasets/stats.ts) and the page (webview/datasetStats).

import type { Task } from './tasks';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export interface TokenLengthStats {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  /** counts[i]: lengths in [i*binWidth, (i+1)*binWidth); trailing empty bins dropped. */
  readonly histogram: { readonly binWidth: number; readonly counts: number[] };
  /** Examples longer than max_seq_length. */
  readonly truncated: number;
  readonly truncatedShare: number;
}

export interface SplitStatistics {
  readonly split: SplitName;
  readonly rows: number;
  /** Classification: examples per label (multi-label: per individual label, so they sum past rows). */
  readonly labels?: Record<string, number>;
  /** Multi-label: examples by how many labels they have ("0", "1", "2", …). */
  readonly labelsPerExample?: Record<string, number>;
  readonly entities?: Record<string, number>;
  readonly tokens: TokenLengthStats;
  readonly answers?: number;
  /** QA: answers that end past max_seq_length in the first window (no doc stride). */
  readonly answersLost?: number;
  /**
   * QA: answers no window can hold even with doc stride: longer than the room a window leaves for
   * context (max_seq_length - question - 3 special tokens). Training drops these.
   */
  readonly answersInNoWindow?: number;
  /** Characters (code points) of the texts, and how many are CJK (each one token in BERT's tokenizers). */
  readonly characters?: { readonly count: number; readonly cjk: number; readonly cjkShare: number };
  /** Tokens that are the tokenizer's unknown token ([UNK]) and their share of all tokens, [CLS]/[SEP] included. */
  readonly unknownTokens?: { readonly count: number; readonly share: number };
}

export interface DatasetStatistics {
  readonly task: Task;
  readonly tokenizer: { readonly kind: string; readonly model: string };
  readonly maxSeqLength: number;
  readonly splits: SplitStatistics[];
  readonly seconds: number;
}
