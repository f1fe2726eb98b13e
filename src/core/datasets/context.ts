// What a format reader gets while it reads one split's file: where to report problems, where to
// send records, and the checks shared by every format (labels, duplicates across splits).

import * as path from 'node:path';
import type { DiagnosticBag} from './diagnostics';
import { deleteLineFix } from './diagnostics';
import { seededRandom } from '../random';
import { LabelTracker } from './labels';
import type { CanonicalRecord, DatasetRequest, QuickFix, SplitCounts, SplitName, Task } from './types';

/** Receives each kept record with the split it goes to (after any seeded split). */
export type RecordSink = (split: SplitName, record: CanonicalRecord) => void | Promise<void>;

/** cyrb53: a fast 53-bit string hash; collisions are negligible at millions of examples. */
export function hash53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** cyrb53 over the bytes of up to two ranges (text and pair), without decoding them. */
export function hashBytes53(buf: Uint8Array, a0: number, a1: number, b0 = 0, b1 = 0): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = a0; i < a1; i++) {
    const ch = buf[i];
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  if (b1 > b0) {
    h1 = Math.imul(h1, 2654435761);
    h2 = Math.imul(h2, 1597334677);
    for (let i = b0; i < b1; i++) {
      const ch = buf[i];
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** State shared by all splits of one request. */
export class SharedState {
  /** Examples of dev/test by hash → where they are; train rows are looked up here. */
  readonly heldOut = new Map<number, { file: string; line: number }>();
  /** Question answering: paragraphs (contexts) of dev/test by hash, so train can be checked for shared paragraphs. */
  readonly heldOutContexts = new Map<number, { file: string; line: number }>();
  readonly contextsReported = new Set<number>();
  readonly labels: LabelTracker;
  readonly tags: LabelTracker;
  readonly splitCounts: Partial<Record<SplitName, SplitCounts>> = {};
  readonly random: (() => number) | undefined;

  constructor(readonly request: DatasetRequest) {
    this.labels = new LabelTracker(request.task === 'sequence_classification' ? request.labels : undefined, 'label.unknown', 'label');
    this.tags = new LabelTracker(request.task === 'token_classification' ? request.labels : undefined, 'tag.unknown', 'tag');
    this.random = request.seededSplit && !request.files.validation ? seededRandom(request.seededSplit.seed) : undefined;
  }
}

const MAX_HELD_OUT = 2_000_000;
const TWO_53 = 2 ** 53;

export class SplitContext {
  readonly counts: SplitCounts = { examples: 0, skipped: 0 };
  /** Line of the first kept example (0: none yet). */
  firstExampleLine = 0;
  readonly task: Task;
  readonly isTrain: boolean;
  readonly fileName: string;

  constructor(
    readonly file: string,
    readonly split: SplitName,
    readonly shared: SharedState,
    readonly bag: DiagnosticBag,
    private readonly sink: RecordSink | undefined,
  ) {
    this.task = shared.request.task;
    this.isTrain = split === 'train';
    this.fileName = path.basename(file);
  }

  /**
   * Keeps a record. `key` identifies the example for the cross-split duplicate check (undefined:
   * not checked); `deletable` says whether the example is one line that a quick fix may delete.
   */
  keep(record: CanonicalRecord, key: string | undefined, line: number, deletable: boolean, group?: string): void | Promise<void> {
    return this.keepHashed(record, key === undefined || !this.wantsHash() ? undefined : hash53(key), line, deletable, group);
  }

  /**
   * Question answering: a train paragraph that a dev/test file also holds is reported once (its
   * questions differ, so the example check misses it, but the model would have read the passage).
   */
  checkContext(context: string, line: number, column: number): void {
    const sh = this.shared;
    if (!this.isTrain) {
      if (sh.heldOutContexts.size < MAX_HELD_OUT) {
        const h = hash53(context);
        if (!sh.heldOutContexts.has(h)) sh.heldOutContexts.set(h, { file: this.file, line });
      }
      return;
    }
    if (sh.heldOutContexts.size === 0) return;
    const h = hash53(context);
    const other = sh.heldOutContexts.get(h);
    if (!other || sh.contextsReported.has(h)) return;
    sh.contextsReported.add(h);
    this.bag.add('warning', 'qa.sharedContext', line, column, `This paragraph is also in ${path.basename(other.file)} line ${other.line}: questions on one paragraph in both splits inflate EM/F1, since the model has read the passage. Keep each paragraph in one split (move its questions to train or to ${path.basename(other.file)}).`);
  }

  /** Whether a duplicate check would do anything: held-out splits fill the table, train reads it. */
  wantsHash(): boolean {
    return !this.isTrain || this.shared.heldOut.size > 0;
  }

  /** Whether records are wanted at all (an import); validation alone skips building them. */
  get wantsRecords(): boolean {
    return this.sink !== undefined;
  }

  /** `record` may be a factory, called only when the record is written. */
  keepHashed(record: CanonicalRecord | (() => CanonicalRecord), h: number | undefined, line: number, deletable: boolean, group?: string): void | Promise<void> {
    this.counts.examples++;
    if (!this.firstExampleLine) this.firstExampleLine = line;
    if (h !== undefined) {
      if (!this.isTrain) {
        if (this.shared.heldOut.size < MAX_HELD_OUT && !this.shared.heldOut.has(h)) this.shared.heldOut.set(h, { file: this.file, line });
      } else {
        const other = this.shared.heldOut.get(h);
        if (other) {
          const fix: QuickFix | undefined = deletable ? deleteLineFix(line, 'Remove this example from the training split') : undefined;
          this.bag.add('warning', 'example.duplicate', line, 1, `The same example is in ${path.basename(other.file)} line ${other.line}: evaluation would score an example the model trained on. Remove it from one of the splits.`, { fix });
        }
      }
    }
    let split = this.split;
    const rnd = this.shared.random;
    if (rnd && this.isTrain) {
      const s = this.shared.request.seededSplit;
      // Examples of one group (a QA paragraph) go to the same split: a draw seeded by the group.
      const r = group !== undefined ? hash53(group, s?.seed ?? 0) / TWO_53 : rnd();
      if (s && r < s.validationFraction) split = 'validation';
      else if (s?.testFraction && r < s.validationFraction + s.testFraction && !this.shared.request.files.test) split = 'test';
    }
    const c = (this.shared.splitCounts[split] ??= { examples: 0, skipped: 0 });
    c.examples++;
    if (!this.sink) return;
    // Synchronous unless the sink must wait (a full write buffer): no promise per row.
    return this.sink(split, typeof record === 'function' ? record() : record);
  }

  skip(): void {
    this.counts.skipped++;
  }

  /** Adds to a distribution in `counts` (labels or entities). */
  tally(kind: 'labels' | 'entities', key: string, n = 1): void {
    const m = (this.counts[kind] ??= {});
    m[key] = (m[key] ?? 0) + n;
  }
}
