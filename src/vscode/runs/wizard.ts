// The training-field steps of New Training Run: the length of training (epochs, or "500 steps"),
// learning rate and batch size, each its own input checked as you type by the worker's rules
// (launch.ts, through core/runs/advancedFields.ts) with its meaning and default; then "other
// training fields": Use these settings (Enter), max_seq_length and the task's own fields one by
// one, Advanced… (the JSON editor of the rest, advancedEditor.ts), or key=value pairs typed into
// its box. The steps and their names are those of the key=value wizard before it, so scripts that
// drive it keep working.

import * as vscode from 'vscode';
import { advancedFieldNames, changedFields, crossFieldProblems, fieldFromText, fieldMeaning, fieldPrompt, lengthFromText, lengthText, menuFields, STEP_FIELDS, typedChanges, wizardTitle, wizardTraining } from '../../core/runs/advancedFields';
import { estimateText, type Throughput } from '../../core/runs/estimate';
import { trainingField } from '../../core/runs/launch';
import type { Task } from '../../core/runs/protocol';
import { defaultTraining } from '../../core/runs/spec';
import type { Ctx } from '../ctx';
import { editAdvancedFields } from './advancedEditor';

export interface TrainingStepsOptions {
  readonly task: Task;
  /** Sequence classification with several labels per example (offers threshold). */
  readonly multiLabel?: boolean;
  /** Training examples, when known (a snapshot): for the live estimate of steps and time. */
  readonly examples?: number;
  readonly throughput?: Throughput;
}

type Note = (v: unknown) => vscode.InputBoxValidationMessage | undefined;

/** One field in an input box: its meaning, rule and default above, its problem (or `note`) under it as you type. */
async function askField(task: Task, name: string, value: unknown, title: string, note?: Note): Promise<unknown> {
  const text = await vscode.window.showInputBox({
    title,
    prompt: fieldPrompt(task, name),
    value: typeof value === 'string' ? value : JSON.stringify(value ?? null),
    ignoreFocusOut: true,
    validateInput: (s) => {
      const r = fieldFromText(task, name, s);
      if (r.problem) return r.problem;
      return note?.(r.value);
    },
  });
  return text === undefined ? undefined : fieldFromText(task, name, text).value;
}

type OtherItem = vscode.QuickPickItem & { action: 'use' | 'field' | 'advanced' | 'typed'; name?: string; changes?: Record<string, unknown>; blocked?: boolean };

/**
 * The other-training-fields step: its items, and one more while the box holds "key=value, …"
 * (`typed` makes it, with its problems; a blocked item cannot be accepted, the box stays open).
 */
function pickOther(title: string, placeholder: string, items: OtherItem[], typed: (text: string) => OtherItem | undefined): Promise<OtherItem | undefined> {
  const qp = vscode.window.createQuickPick<OtherItem>();
  qp.title = title;
  qp.placeholder = placeholder;
  qp.ignoreFocusOut = true;
  qp.matchOnDescription = true;
  qp.items = items;
  return new Promise((resolve) => {
    const subs: vscode.Disposable[] = [];
    const done = (pick: OtherItem | undefined): void => {
      for (const d of subs) d.dispose();
      qp.dispose();
      resolve(pick);
    };
    subs.push(
      qp.onDidChangeValue((v) => {
        const item = typed(v);
        qp.items = item ? [item, ...items] : items;
        if (item) qp.activeItems = [item];
      }),
      qp.onDidAccept(() => {
        const pick = qp.activeItems[0];
        if (pick && !pick.blocked) done(pick);
      }),
      qp.onDidHide(() => done(undefined)),
    );
    qp.show();
  });
}

/**
 * Asks the training fields (STEP_FIELDS, then other training fields); the run's
 * training fields (the steps' answers and the other fields), or undefined when cancelled.
 */
export async function askTrainingFields(ctx: Ctx, o: TrainingStepsOptions): Promise<Record<string, unknown> | undefined> {
  const { task } = o;
  const defaults = defaultTraining(task);
  const steps: Record<string, unknown> = {};
  const estimate = (t: Readonly<Record<string, unknown>>): string | undefined =>
    o.examples
      ? estimateText(
          {
            examples: o.examples,
            epochs: Number(t.num_train_epochs ?? defaults.num_train_epochs),
            maxSteps: Number(t.max_steps ?? defaults.max_steps),
            batchSize: Number(t.per_device_train_batch_size ?? defaults.per_device_train_batch_size),
            gradientAccumulation: Number(t.gradient_accumulation_steps ?? defaults.gradient_accumulation_steps) || 1,
          },
          o.throughput,
        )
      : undefined;

  // The length of training: epochs, or optimizer steps (max_steps) typed as "500 steps".
  const length = await vscode.window.showInputBox({
    title: wizardTitle('num_train_epochs'),
    prompt: `${fieldPrompt(task, 'num_train_epochs')} Or a number of optimizer steps, e.g. "500 steps" (max_steps).`,
    value: lengthText(defaults),
    ignoreFocusOut: true,
    validateInput: (s) => {
      const r = lengthFromText(task, s);
      if (r.problem) return r.problem;
      const line = estimate(r.fields ?? {});
      return line ? { message: line, severity: vscode.InputBoxValidationSeverity.Info } : undefined;
    },
  });
  if (length === undefined) return undefined;
  Object.assign(steps, lengthFromText(task, length).fields);
  // The other steps, in STEP_FIELDS's order; the batch size updates the estimate.
  const note = (name: string): Note => (v) => {
    const line = name === 'per_device_train_batch_size' ? estimate({ ...steps, [name]: v }) : undefined;
    return line ? { message: line, severity: vscode.InputBoxValidationSeverity.Info } : undefined;
  };
  for (const name of STEP_FIELDS) {
    if (name === 'num_train_epochs') continue;
    const v = await askField(task, name, defaults[name], wizardTitle(name), note(name));
    if (v === undefined) return undefined;
    steps[name] = v;
  }

  // Other training fields: max_seq_length and the task's own ones one by one (a field that
  // conflicts with another, as max_seq_length with QA's doc_stride, is a warning there and refused
  // by "Use these settings"), the rest in the advanced editor, or "key=value, …" typed in the box.
  const own = menuFields(task, o.multiLabel);
  const values: Record<string, unknown> = {};
  for (;;) {
    const current = { ...Object.fromEntries(own.map((n) => [n, defaults[n]])), ...values };
    const changed = changedFields(task, current);
    const conflicts = crossFieldProblems(task, wizardTraining(steps, current), o.multiLabel);
    const items: OtherItem[] = [
      {
        label: conflicts.length ? '$(error) Use these settings' : '$(check) Use these settings',
        description: changed.length ? `changed: ${changed.join(', ')}` : 'the other fields at their defaults',
        detail: conflicts.map((p) => p.message).join(' ') || undefined,
        action: 'use',
      },
      ...own.map((name): OtherItem => {
        const v = current[name];
        const icon = trainingField(name)?.kind === 'bool' ? (v ? '$(pass-filled) ' : '$(circle-large-outline) ') : '$(edit) ';
        return { label: `${icon}${name}: ${JSON.stringify(v)}`, description: JSON.stringify(v) === JSON.stringify(defaults[name]) ? 'default' : `default ${JSON.stringify(defaults[name])}`, detail: fieldMeaning(name), action: 'field', name };
      }),
      { label: '$(json) Advanced…', description: `${advancedFieldNames(task, o.multiLabel).length} more fields as JSON, checked as you type`, detail: 'weight_decay, warmup_ratio, eval_steps, early stopping, freezing, precision, …', action: 'advanced' },
    ];
    const typed = (text: string): OtherItem | undefined => {
      const t = typedChanges(task, text, wizardTraining(steps, current), o.multiLabel);
      if (!t) return undefined;
      const ok = !t.problems.length;
      return { label: `${ok ? '$(check)' : '$(error)'} Use these settings with ${text.trim()}`, detail: ok ? 'checked as the run will be' : t.problems.join(' '), alwaysShow: true, action: 'typed', changes: t.changes, blocked: !ok };
    };
    const placeholder = `${estimate(steps) ?? 'Enter uses these settings'}; or type key=value, … (e.g. eval_steps=100)`;
    const pick = await pickOther(wizardTitle('other training fields'), placeholder, items, typed);
    if (!pick) return undefined;
    if (pick.action === 'typed') return wizardTraining(steps, { ...values, ...pick.changes });
    if (pick.action === 'use') {
      if (!conflicts.length) return wizardTraining(steps, values);
      void vscode.window.showErrorMessage(`BERT Studio: ${conflicts.map((p) => p.message).join(' ')}`);
      continue;
    }
    if (pick.action === 'field' && pick.name) {
      const name = pick.name;
      if (trainingField(name)?.kind === 'bool') values[name] = !current[name];
      else {
        const v = await askField(task, name, current[name], wizardTitle('other training fields', name), (x) => {
          const conflict = crossFieldProblems(task, wizardTraining(steps, { ...current, [name]: x }), o.multiLabel)[0]?.message;
          return conflict ? { message: conflict, severity: vscode.InputBoxValidationSeverity.Warning } : undefined;
        });
        if (v !== undefined) values[name] = v;
      }
      continue;
    }
    // Advanced: accepted fields carry on to the device step; closing it comes back here.
    const edited = await editAdvancedFields(ctx, task, {}, { steps: { ...steps, ...current }, multiLabel: o.multiLabel });
    if (edited) return wizardTraining(steps, { ...values, ...edited });
  }
}

/**
 * The device step. Each device's note ("CUDA (…)", "the first CUDA device", the default setting) is
 * part of its label, not a description: VS Code shows a quick pick item's description in a hover
 * while the pointer rests on it, and that hover lies over the row below. The pointer rests where the
 * previous step's first row was clicked, which is on "auto"'s long description here, so its hover
 * covered "cpu" and the first click on "cpu" went to the hover (the pick ignored it; a second
 * click, after the hover had gone, worked). Labels have no hover. The CUDA probe (it imports torch)
 * is awaited before the pick shows, under a progress note when it is still running.
 */
export async function pickDevice(choices: Thenable<readonly { label: string; description?: string }[]>): Promise<string | undefined> {
  let ready = false;
  Promise.resolve(choices).then(() => (ready = true), () => (ready = true));
  await Promise.resolve();
  const devices = ready ? await choices : await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'BERT Studio: looking for CUDA devices…' }, () => Promise.resolve(choices));
  const items = devices.map((d) => ({ label: d.description ? `${d.label} · ${d.description}` : d.label, device: d.label }));
  // Like every step, it stays open when the focus moves (the editor behind taking it back, e.g. the
  // walkthrough after the previous step's quick pick closed): only Escape cancels the wizard.
  return (await vscode.window.showQuickPick(items, { title: wizardTitle('device'), ignoreFocusOut: true }))?.device;
}
