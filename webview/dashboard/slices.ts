// The dashboard's Slices section: accuracy per slice of an evaluation's predictions (length bucket,
// gold label, a keyword or regular expression the user types, flagged as a likely label error or
// not; NER: sentences, by entity type, with entity precision, recall, F1 and token accuracy), computed by the host (src/core/analysis/slices.ts). The page sends the pattern as typed; the
// host checks it and answers with the figures or with what is wrong with it.

import { el } from '../shared/dom';
import { clear, formatNumber } from './dom';
import { ToHost, type Slices, type SliceRowItem, type WebviewMessage } from './protocol';

export class SlicesSection {
  readonly root = el('details', 'analysis slices');
  private readonly form = el('form', 'slices-form');
  private readonly evaluation = el('select', 'slices-evaluation');
  private readonly pattern = el('input', 'slices-pattern');
  private readonly mode = el('select', 'slices-mode');
  private readonly error = el('p', 'error slices-error');
  private readonly out = el('div', 'slices-out');
  private runId: string | undefined;
  private requested = false;

  constructor(private readonly post: (m: WebviewMessage) => void) {
    this.root.id = 'slices';
    const summary = el('summary', undefined, 'Slices');
    summary.id = 'slices-summary';
    this.evaluation.id = 'slices-evaluation';
    this.evaluation.setAttribute('aria-label', 'Evaluation to slice');
    this.pattern.id = 'slices-pattern';
    this.pattern.type = 'text';
    this.pattern.placeholder = 'keyword or regular expression';
    this.pattern.setAttribute('aria-label', 'Keyword or regular expression to slice by');
    this.pattern.spellcheck = false;
    this.mode.id = 'slices-mode';
    this.mode.setAttribute('aria-label', 'Match the pattern as');
    for (const [value, label] of [['keyword', 'Keyword'], ['regex', 'Regular expression']] as const) {
      const o = el('option', undefined, label);
      o.value = value;
      this.mode.append(o);
    }
    const apply = el('button', 'slices-apply', 'Slice');
    apply.id = 'slices-apply';
    apply.type = 'submit';
    this.error.id = 'slices-error';
    this.error.setAttribute('role', 'alert');
    this.error.hidden = true;
    this.out.id = 'slices-out';
    this.form.append(this.evaluation, this.pattern, this.mode, apply);
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.request(true);
    });
    this.evaluation.addEventListener('change', () => this.request(true));
    this.root.append(summary, this.form, this.error, this.out);
    this.root.addEventListener('toggle', () => {
      if (this.root.open && !this.requested) this.request(false);
    });
  }

  setRun(runId: string | undefined): void {
    if (runId === this.runId) return;
    this.runId = runId;
    this.requested = false;
    clear(this.out);
    clear(this.evaluation);
    this.error.hidden = true;
    if (this.root.open) this.request(false);
  }

  /** A new validation evaluation arrived: refreshed when the section is open. */
  evalChanged(): void {
    if (this.root.open) this.request(false);
  }

  private request(withPattern: boolean): void {
    if (!this.runId) {
      clear(this.out);
      this.out.append(el('p', 'muted', 'No run selected.'));
      return;
    }
    this.requested = true;
    const pattern = this.pattern.value;
    const mode = this.mode.value === 'regex' ? 'regex' : 'keyword';
    const evaluation = this.evaluation.value || undefined;
    this.post({ type: ToHost.RequestSlices, runId: this.runId, ...(evaluation ? { evaluation } : {}), ...(withPattern || pattern ? { pattern, mode } : {}) });
  }

  show(runId: string, slices: Slices): void {
    if (runId !== this.runId) return;
    const current = this.evaluation.value;
    clear(this.evaluation);
    for (const name of slices.evaluations) {
      const o = el('option', undefined, name);
      o.value = name;
      this.evaluation.append(o);
    }
    this.evaluation.hidden = slices.evaluations.length === 0;
    const chosen = slices.report?.evaluation ?? current;
    if (chosen && slices.evaluations.includes(chosen)) this.evaluation.value = chosen;
    this.error.hidden = !slices.patternError;
    this.error.textContent = slices.patternError ?? '';
    this.pattern.setAttribute('aria-invalid', slices.patternError ? 'true' : 'false');
    clear(this.out);
    const r = slices.report;
    if (r) {
      const e = r.entities;
      this.out.append(el('p', 'muted', e
        ? `${r.examples.toLocaleString()} sentences of evaluation "${r.evaluation}": entity F1 ${formatAccuracy(e.f1)} (precision ${formatAccuracy(e.precision)}, recall ${formatAccuracy(e.recall)}; an entity is right when its type and words match), token accuracy ${formatAccuracy(e.tokenAccuracy)}. Length in ${r.lengthUnit} of the sentence.`
        : `${r.examples.toLocaleString()} examples of evaluation "${r.evaluation}", accuracy ${formatAccuracy(r.accuracy)}. Length in ${r.lengthUnit} (whitespace-separated, text and pair together).`));
      this.out.append(table('slices-by-length', `By length (${r.lengthUnit})`, r.byLength));
      this.out.append(table('slices-by-label', e ? 'By entity type in the gold tags (sentences with one)' : 'By gold label', r.byLabel));
      if (r.pattern) this.out.append(table('slices-by-pattern', `By ${r.pattern.mode === 'regex' ? 'regular expression' : 'keyword'}`, [r.pattern.matching, r.pattern.rest]));
      if (r.flagged) this.out.append(table('slices-flagged', `Likely label errors (${r.flagged.issues} ${e ? 'words ' : ''}flagged in this run)`, [r.flagged.flagged, r.flagged.rest]));
    }
    if (slices.validationByLabel?.length) this.out.append(table('slices-validation-by-label', 'Validation (latest evaluation), by gold label', slices.validationByLabel));
    if (slices.note) this.out.append(el('p', 'muted slices-note', slices.note));
    const evaluate = el('button', 'slices-apply slices-evaluate', slices.evaluations.length ? 'Evaluate on other data…' : 'Evaluate on…');
    evaluate.id = 'slices-evaluate';
    evaluate.type = 'button';
    evaluate.title = 'Score the run on a dataset split or a file; its predictions are sliced here';
    evaluate.addEventListener('click', () => {
      if (this.runId) this.post({ type: ToHost.EvaluateRun, runId: this.runId });
    });
    this.out.append(evaluate);
  }
}

function formatAccuracy(v: number | null): string {
  return v === null ? '–' : `${formatNumber(v * 100, 3)}%`;
}

function table(id: string, caption: string, rows: readonly SliceRowItem[]): HTMLElement {
  const t = el('table', 'report slices-table');
  t.id = id;
  t.append(el('caption', undefined, caption));
  const ner = rows.some((r) => r.entities);
  const head = el('tr');
  for (const h of ner ? ['slice', 'sentences', 'gold entities', 'precision', 'recall', 'F1', 'token accuracy'] : ['slice', 'examples', 'correct', 'accuracy']) head.append(el('th', undefined, h));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    tr.append(el('td', 'label', r.name), el('td', 'num', r.count.toLocaleString()));
    const e = r.entities;
    if (ner) tr.append(el('td', 'num', (e?.gold ?? 0).toLocaleString()), ...[e?.precision, e?.recall, e?.f1, e?.tokenAccuracy].map((v) => el('td', 'num', formatAccuracy(v ?? null))));
    else tr.append(el('td', 'num', r.correct.toLocaleString()), el('td', 'num', formatAccuracy(r.accuracy)));
    body.append(tr);
  }
  t.append(thead, body);
  return t;
}
