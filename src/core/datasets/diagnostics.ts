import type { DatasetDiagnostic, ProblemCode, QuickFix, Severity } from './types';

/** Collects one file's diagnostics: every problem is counted, the first `cap` are kept. */
export class DiagnosticBag {
  readonly diagnostics: DatasetDiagnostic[] = [];
  readonly problems: Partial<Record<ProblemCode, number>> = {};
  errors = 0;
  warnings = 0;

  constructor(
    readonly file: string,
    private readonly cap = 1000,
  ) {}

  add(
    severity: Severity,
    code: ProblemCode,
    line: number,
    column: number,
    message: string,
    extra?: { endLine?: number; endColumn?: number; fix?: QuickFix },
  ): void {
    this.problems[code] = (this.problems[code] ?? 0) + 1;
    if (severity === 'error') this.errors++;
    else if (severity === 'warning') this.warnings++;
    if (this.diagnostics.length >= this.cap) return;
    this.diagnostics.push({ file: this.file, line, column, severity, code, message, ...extra });
  }

  count(code: ProblemCode): number {
    return this.problems[code] ?? 0;
  }
}

/** A quick fix that deletes a whole line (1-based). */
export function deleteLineFix(line: number, title = 'Remove this line'): QuickFix {
  return { title, edits: [{ line, column: 1, endLine: line + 1, endColumn: 1, newText: '' }] };
}

/** A quick fix that replaces text on one line. */
export function replaceFix(title: string, line: number, column: number, endColumn: number, newText: string): QuickFix {
  return { title, edits: [{ line, column, endLine: line, endColumn, newText }] };
}
