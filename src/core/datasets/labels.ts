// Label and tag bookkeeping across splits: train defines the label set (unless the request names
// one); a dev or test label that train never uses is reported where it occurs. Dev and test are
// read before train (so that train rows can be checked against them for duplicates), so their
// label positions are kept, boundedly, until train is done.

import type { DiagnosticBag } from './diagnostics';
import { replaceFix } from './diagnostics';
import type { ProblemCode } from './types';

export const MAX_DISTINCT_LABELS = 1000;
const MAX_POSITIONS_PER_LABEL = 200;

interface Pending {
  bag: DiagnosticBag;
  positions: { line: number; column: number; endColumn: number }[];
  more: number;
}

/** Edit distance, capped: only small distances matter for "did you mean". */
function distance(a: string, b: string, cap = 3): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The known label a typo most likely meant: same text ignoring case/space, else edit distance ≤ 2. */
export function closestLabel(label: string, known: Iterable<string>): string | undefined {
  const norm = label.trim().toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    if (k.trim().toLowerCase() === norm) return k;
    const d = distance(norm, k.toLowerCase(), 2);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

export class LabelTracker {
  /** Counts in train (the label set), or the explicit set. */
  readonly train = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  /** Where each train label was first seen, for the near-duplicate check. */
  private readonly firstSeen = new Map<string, { bag: DiagnosticBag; line: number; column: number; endColumn: number }>();
  private overflowReported = false;

  constructor(
    private readonly explicit: readonly string[] | undefined,
    private readonly code: ProblemCode,
    private readonly noun: string,
  ) {}

  /** Whether `see` may use the columns it is given (else any numbers do): always for a label train has not had yet. */
  needsPositions(isTrain: boolean, label?: string): boolean {
    return !isTrain || this.explicit !== undefined || this.train.size >= MAX_DISTINCT_LABELS || (label !== undefined && !this.train.has(label));
  }

  /** Checks one label occurrence; returns false when it should make the example unusable. */
  see(label: string, isTrain: boolean, bag: DiagnosticBag, line: number, column: number, endColumn: number): boolean {
    if (this.explicit) {
      if (!this.explicit.includes(label)) {
        this.reportUnknown(label, this.explicit, bag, line, column, endColumn, 'the labels you listed');
        return false;
      }
      if (isTrain) this.train.set(label, (this.train.get(label) ?? 0) + 1);
      return true;
    }
    if (isTrain) {
      const n = this.train.get(label);
      if (n !== undefined) this.train.set(label, n + 1);
      else if (this.train.size < MAX_DISTINCT_LABELS) {
        this.train.set(label, 1);
        this.firstSeen.set(label, { bag, line, column, endColumn });
      }
      else if (!this.overflowReported) {
        this.overflowReported = true;
        bag.add('error', 'label.tooMany', line, column, `More than ${MAX_DISTINCT_LABELS} distinct ${this.noun}s: this column looks like free text, not a ${this.noun}. Check the column mapping.`, { endColumn });
      }
      return true;
    }
    let p = this.pending.get(label);
    if (!p) {
      if (this.pending.size >= MAX_DISTINCT_LABELS) return true;
      p = { bag, positions: [], more: 0 };
      this.pending.set(label, p);
    }
    if (p.positions.length < MAX_POSITIONS_PER_LABEL) p.positions.push({ line, column, endColumn });
    else p.more++;
    return true;
  }

  /**
   * After train: a rare train label that is a spelling variant of a common one (`Positive ` or
   * `postive` beside `positive`, `B-PERS` beside `B-PER`) would train as a class of its own. Reported
   * at the rare one's first line. Tags are compared only with tags of the same prefix (B- with B-).
   */
  private nearDuplicates(): void {
    if (this.explicit || this.train.size > 200) return;
    const labels = [...this.train.entries()].sort((a, b) => b[1] - a[1]);
    for (let j = 1; j < labels.length; j++) {
      const [rare, n] = labels[j];
      for (let i = 0; i < j; i++) {
        const [common, m] = labels[i];
        if (this.noun === 'tag' && rare.slice(0, 2) !== common.slice(0, 2)) continue;
        const caseOnly = rare.trim().toLowerCase() === common.trim().toLowerCase();
        const shortest = Math.min(rare.trim().length, common.trim().length);
        const typo = !caseOnly && shortest >= 4 && n * 3 <= m && distance(rare.toLowerCase(), common.toLowerCase(), 2) <= (shortest >= 6 ? 2 : 1);
        if (!caseOnly && !typo) continue;
        const at = this.firstSeen.get(rare);
        if (!at) break;
        const fixable = at.endColumn > at.column;
        at.bag.add(
          'warning',
          'label.nearDuplicate',
          at.line,
          at.column,
          `${this.noun === 'tag' ? 'Tag' : 'Label'} ${JSON.stringify(rare)} (${n}×) looks like ${caseOnly ? 'the same' : 'a misspelling of'} ${JSON.stringify(common)} (${m}×)${caseOnly ? ', differing only in case or spaces' : ''}: they would train as two different ${this.noun === 'tag' ? 'tags' : 'classes'}. Change it to ${JSON.stringify(common)}${this.noun === 'label' ? ', or pass the label set (--labels) so that other values are reported' : ''}.`,
          { endColumn: at.endColumn, fix: fixable ? replaceFix(`Change to ${JSON.stringify(common)}`, at.line, at.column, at.endColumn, common) : undefined },
        );
        break;
      }
    }
  }

  /** After train: dev/test labels that train never had, and near-duplicate train labels. */
  finish(): void {
    if (this.explicit) return;
    this.nearDuplicates();
    for (const [label, p] of this.pending) {
      if (this.train.has(label)) continue;
      for (const pos of p.positions) this.reportUnknown(label, this.train.keys(), p.bag, pos.line, pos.column, pos.endColumn, 'the training split');
    }
    this.pending.clear();
  }

  private reportUnknown(label: string, known: Iterable<string>, bag: DiagnosticBag, line: number, column: number, endColumn: number, where: string): void {
    const knownList = [...known];
    const guess = closestLabel(label, knownList);
    const shown = knownList.slice(0, 12).join(', ') + (knownList.length > 12 ? ', …' : '');
    bag.add('warning', this.code, line, column, `Unknown ${this.noun} "${label}": not in ${where} (${shown}).${guess ? ` Did you mean "${guess}"?` : ' Fix the value or add it to the label set.'}`, {
      endColumn,
      fix: guess ? replaceFix(`Change to "${guess}"`, line, column, endColumn, guess) : undefined,
    });
  }

  labels(): string[] {
    return sortLabels(this.explicit ? [...this.explicit] : [...this.train.keys()]);
  }
}

/** Numeric labels in numeric order, others alphabetically: "0","1","2" and "entailment","not_entailment". */
export function sortLabels(labels: string[]): string[] {
  const numeric = labels.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return labels.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
