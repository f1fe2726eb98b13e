// Import: pick files, confirm or choose task and columns with quick picks, then import with a
// cancellable progress notification. The core API always gets an explicit, complete request.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { saveToDiskSplits } from '../../core/datasets/columnar';
import { columnIndex, parseQuoted } from '../../core/datasets/delimited';
import { guessDataset, labelPrefixedAdvice, splitsFromNames, type DatasetGuess } from '../../core/datasets/detect';
import { LabelNamesError, parseLabelNames } from '../../core/datasets/labelNames';
import type { LabelPrefixOptions } from '../../core/datasets/labelPrefixed';
import { readHead } from '../../core/datasets/lineReader';
import { importDataset, requestFromManifest, type DatasetEntry } from '../../core/datasets/snapshot';
import type { ColumnMapping, DatasetRequest, FormatOptions, TextMode } from '../../core/datasets/types';
import { TASKS, type Task } from '../../core/runs/protocol';

interface Pick<T> extends vscode.QuickPickItem {
  readonly value: T;
}

async function pick<T>(items: Pick<T>[], title: string, placeHolder?: string): Promise<T | undefined> {
  const chosen = await vscode.window.showQuickPick(items, { title, placeHolder, ignoreFocusOut: true });
  return chosen?.value;
}

/** dev/valid and test files beside a train file, with the same extension. */
function siblings(train: string): { validation?: string; test?: string } {
  const dir = path.dirname(train);
  const ext = path.extname(train);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((n) => path.extname(n) === ext && path.join(dir, n) !== train);
  } catch {
    return {};
  }
  const s = splitsFromNames(names.map((n) => path.join(dir, n)));
  return { validation: s.validation, test: s.test };
}

/** Column choices: header names, or indexes with the first row's text beside them. */
function columnItems(names: readonly string[] | undefined, sample: readonly string[], header: boolean, preferred?: string | number): Pick<string | number>[] {
  const cells = header && names ? names : sample;
  return cells.map((c, i) => {
    const value: string | number = header && names ? c || i : i;
    const detected = preferred !== undefined && (preferred === value || preferred === i - cells.length);
    const text = header && names ? c || `column ${i}` : `column ${i}`;
    return { label: text, value, description: [detected ? 'detected' : '', header ? '' : `e.g. ${c.slice(0, 60)}`].filter(Boolean).join(' · ') || undefined };
  });
}

async function chooseMapping(guess: DatasetGuess, task: Task, header: boolean): Promise<ColumnMapping | undefined> {
  if (task === 'token_classification' && guess.format === 'conll') {
    if (guess.confident && guess.task === task) return guess.mapping;
    const items = columnItems(undefined, guess.sample ?? [], false, guess.mapping.tags);
    const tokens = await pick(columnItems(undefined, guess.sample ?? [], false, 0), 'Which column holds the tokens?');
    if (tokens === undefined) return undefined;
    const tags = await pick(items, 'Which column holds the tags?');
    if (tags === undefined) return undefined;
    return { tokens, tags };
  }
  const sameLayout = header === (guess.options?.header ?? true);
  // Column names: a CSV/TSV's first row (when the user says it is a header), or the JSONL keys.
  const names = guess.format === 'csv' || guess.format === 'tsv' ? guess.sample : guess.columns;
  if (task !== 'sequence_classification' || (guess.confident && guess.task === task && sameLayout) || !names?.length) return guess.mapping;
  const items = (preferred?: string | number): Pick<string | number>[] => columnItems(names, guess.sample ?? [], header, sameLayout ? preferred : undefined);
  const text = await pick(items(guess.mapping.text), 'Which column holds the text?');
  if (text === undefined) return undefined;
  const pair = await pick<string | number | null>([{ label: '(none: single text)', value: null }, ...items(guess.mapping.textPair)], 'Second text of a pair (optional)');
  if (pair === undefined) return undefined;
  const label = await pick(items(guess.mapping.label), 'Which column holds the label?');
  if (label === undefined) return undefined;
  return { text, ...(pair !== null ? { textPair: pair } : {}), label };
}

/** CSV/TSV that the guess is unsure of: does the first line name the columns? */
async function chooseHeader(guess: DatasetGuess): Promise<boolean | undefined> {
  const detected = guess.options?.header ?? true;
  if (guess.format !== 'csv' && guess.format !== 'tsv') return detected;
  if (guess.confident) return detected;
  const first = (guess.sample ?? []).join(' | ').slice(0, 80);
  const items: Pick<boolean>[] = [
    { label: 'Yes: the first line names the columns', value: true, description: detected ? 'detected' : undefined, detail: first },
    { label: 'No: the first line is data', value: false, description: detected ? undefined : 'detected', detail: first },
  ];
  return pick(detected ? items : items.reverse(), 'Does the first line name the columns?');
}

const LABEL_SEPARATORS = ['|', ';', ','] as const;

/** Separators that occur inside the label cells of a CSV/TSV's first rows (candidates for multi-label). */
async function separatorsInLabels(file: string, guess: DatasetGuess, header: boolean, label: string | number | undefined): Promise<string[]> {
  if ((guess.format !== 'csv' && guess.format !== 'tsv') || label === undefined) return [];
  const delimiter = guess.format === 'csv' ? ',' : '\t';
  const lines = (await readHead(file)).toString('utf8').split(/\r?\n/).slice(0, 500);
  lines.pop(); // possibly cut short
  const names = header ? parseQuoted(lines[0] ?? '', delimiter).fields.map((f) => f.trim()) : undefined;
  const found = new Set<string>();
  for (const line of lines.slice(header ? 1 : 0)) {
    const fields = parseQuoted(line, delimiter).fields;
    const cell = fields[columnIndex(label, names, fields.length)];
    if (cell) for (const sep of LABEL_SEPARATORS) if (cell.includes(sep)) found.add(sep);
  }
  return LABEL_SEPARATORS.filter((s) => found.has(s));
}

/**
 * One label per example or a set of them. A JSONL whose first label is a list is multi-label
 * without a question; a CSV/TSV is asked only when its label cells hold a separator, and the user
 * picks which one splits them.
 */
async function chooseMultiLabel(file: string, guess: DatasetGuess, header: boolean, mapping: ColumnMapping): Promise<{ multiLabel?: boolean; labelDelimiter?: string } | undefined> {
  if (guess.format === 'jsonl') return guess.multiLabel ? { multiLabel: true } : {};
  const seps = await separatorsInLabels(file, guess, header, mapping.label);
  if (!seps.length) return {};
  const items: Pick<string | null>[] = [
    ...seps.map((sep) => ({ label: `A set of labels per example, separated by "${sep}"`, value: sep, description: 'multi-label' })),
    ...(seps.includes('|') ? [] : [{ label: 'A set of labels per example, separated by "|"', value: '|', description: 'multi-label' }]),
    { label: 'One label per example', value: null, description: `"${seps[0]}" is part of the label` },
  ];
  const sep = await pick(items, 'Labels per example', `The label column contains "${seps.join('", "')}"`);
  if (sep === undefined) return undefined;
  return sep === null ? {} : { multiLabel: true, labelDelimiter: sep };
}

/** Asks what is not obvious; undefined when the user cancels. */
export async function buildImportRequest(files: readonly string[]): Promise<DatasetRequest | undefined> {
  // A `datasets` save_to_disk folder stands for its split files.
  const disk = files.length === 1 && (await fs.promises.stat(files[0]).catch(() => undefined))?.isDirectory() ? await saveToDiskSplits(files[0]).catch((e: Error) => e) : undefined;
  if (disk instanceof Error) {
    void vscode.window.showErrorMessage(`BERT Studio: ${disk.message}`);
    return undefined;
  }
  const named = disk ?? splitsFromNames(files);
  const train = named.train ?? files[0];
  const guess = await guessDataset(train);
  let labelPrefix: LabelPrefixOptions | undefined;
  if (guess.labelPrefixed) {
    // `LABEL text` lines (fastText, TREC): read as classification, as `dataset import --label-prefixed` does.
    const lp = guess.labelPrefixed;
    const coarse = lp.label.split(':')[0];
    const how = await pick<'fine' | 'coarse' | 'corpus'>(
      [
        { label: 'Label-prefixed lines', value: 'fine', description: `labels as written, e.g. "${lp.label}"` },
        ...(lp.fine ? [{ label: 'Label-prefixed lines, coarse labels', value: 'coarse' as const, description: `the part before ":", e.g. "${coarse}"` }] : []),
        { label: 'A text corpus', value: 'corpus', description: 'the labels are read as words (pretraining)' },
      ],
      `${path.basename(train)}: each line is a label, then the text`,
      labelPrefixedAdvice(lp, train),
    );
    if (!how) return undefined;
    if (how !== 'corpus') labelPrefix = how === 'coarse' ? { coarse: true } : {};
  }
  if (labelPrefix) return finishRequest(train, named, 'sequence_classification', 'text', {}, { labelPrefix }, {});
  let task = guess.task;
  if (!guess.confident || !task) {
    task = await pick(
      [...TASKS].sort((a, b) => (a === guess.task ? -1 : b === guess.task ? 1 : 0)).map((t) => ({ label: t, value: t, description: t === guess.task ? `detected: ${guess.reason}` : undefined })),
      `Task for ${path.basename(train)}`,
      `Read as ${guess.format}`,
    );
    if (!task) return undefined;
  }
  const header = await chooseHeader(guess);
  if (header === undefined) return undefined;
  const mapping = await chooseMapping(guess, task, header);
  if (!mapping) return undefined;
  const multi = task === 'sequence_classification' ? await chooseMultiLabel(train, guess, header, mapping) : {};
  if (!multi) return undefined;
  let textMode: TextMode | undefined = guess.textMode;
  if (guess.format === 'text') {
    const modes = (
      [
      { label: 'sentences', value: 'sentences', description: 'one sentence per line, blank line between documents' },
      { label: 'documents', value: 'documents', description: 'one document per line' },
      { label: 'wikitext', value: 'wikitext', description: '" = Title = " headings start articles' },
      ] satisfies Pick<TextMode>[]
    ).sort((a, b) => (a.value === guess.textMode ? -1 : b.value === guess.textMode ? 1 : 0));
    textMode = await pick(modes, 'How are documents laid out?', `Detected: ${guess.textMode}`);
    if (!textMode) return undefined;
  }
  const options: FormatOptions = { ...guess.options, ...(guess.options ? { header } : {}), ...(textMode ? { textMode } : {}) };
  return finishRequest(train, named, task, guess.format, mapping, options, multi);
}

/** Validation (and sibling test) data; the request. */
async function finishRequest(
  train: string,
  named: ReturnType<typeof splitsFromNames>,
  task: Task,
  format: DatasetRequest['format'],
  mapping: ColumnMapping,
  options: FormatOptions,
  multi: { multiLabel?: boolean; labelDelimiter?: string },
): Promise<DatasetRequest | undefined> {
  const files_: { train: string; validation?: string; test?: string } = { train, validation: named.validation, test: named.test };
  let seededSplit: DatasetRequest['seededSplit'];
  if (!files_.validation) {
    const near = siblings(train);
    type Choice = 'sibling' | 'file' | 'split' | 'none';
    const choice = await pick<Choice>(
      [
        ...(near.validation ? [{ label: `Use ${path.basename(near.validation)}`, value: 'sibling' as const, description: `found beside ${path.basename(train)}${near.test ? ` (and ${path.basename(near.test)} as test)` : ''}` }] : []),
        { label: 'Pick a validation file…', value: 'file' },
        { label: 'Split off 10% of train', value: 'split', description: 'seeded (42), reproducible' },
        { label: 'No validation split', value: 'none' },
      ],
      'Validation data',
    );
    if (!choice) return undefined;
    if (choice === 'sibling') {
      files_.validation = near.validation;
      files_.test = files_.test ?? near.test;
    } else if (choice === 'file') {
      const uri = await vscode.window.showOpenDialog({ canSelectMany: false, defaultUri: vscode.Uri.file(path.dirname(train)), title: 'Validation file' });
      if (!uri?.[0]) return undefined;
      files_.validation = uri[0].fsPath;
    } else if (choice === 'split') seededSplit = { validationFraction: 0.1, seed: 42 };
  }
  return { task, format, mapping, files: files_, options, ...multi, ...(seededSplit ? { seededSplit } : {}) };
}

/**
 * The Datasets view's "Name Labels…" and "Add Test Split…": the dataset imported again from its
 * sources the way it was (requestFromManifest) with label names or a test file added, replacing the
 * snapshot only once the new one is written. True when it was replaced.
 */
export async function changeDataset(entry: DatasetEntry, datasetsDir: string, change: 'labelNames' | 'test'): Promise<boolean> {
  const request = requestFromManifest(entry.manifest);
  let changed: DatasetRequest;
  if (change === 'labelNames') {
    if (entry.manifest.task !== 'sequence_classification') {
      void vscode.window.showInformationMessage(`BERT Studio: label names are for classification datasets; "${entry.manifest.name}" is ${entry.manifest.task}.`);
      return false;
    }
    const now = entry.manifest.label_names ?? {};
    const raw = entry.manifest.labels?.map((l) => Object.entries(now).find(([, n]) => n === l)?.[0] ?? l) ?? [];
    const text = await vscode.window.showInputBox({
      title: `Label names of ${entry.manifest.name}`,
      prompt: 'label=name for each label as written in the file; the snapshot, the statistics and models trained on it use the names. Empty: the labels as written.',
      value: raw.map((l) => `${l}=${now[l] ?? ''}`).join(','),
      validateInput: (v) => {
        if (!v.trim()) return undefined;
        try {
          parseLabelNames(v, 'Label names');
          return undefined;
        } catch (err) {
          return err instanceof LabelNamesError ? err.message : String(err);
        }
      },
    });
    if (text === undefined) return false;
    changed = { ...request, labelNames: text.trim() ? parseLabelNames(text, 'Label names') : undefined };
  } else {
    const uri = await vscode.window.showOpenDialog({ canSelectMany: false, defaultUri: vscode.Uri.file(path.dirname(request.files.train)), title: `Test file for ${entry.manifest.name}` });
    if (!uri?.[0]) return false;
    changed = { ...request, files: { ...request.files, test: uri[0].fsPath } };
  }
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Importing ${entry.manifest.name} again`, cancellable: true }, (_p, token) => {
    const ac = new AbortController();
    token.onCancellationRequested(() => ac.abort());
    return importDataset(changed, datasetsDir, { id: entry.id, name: entry.manifest.name, replace: true, skipBadRows: true, signal: ac.signal });
  });
  if (!result.ok) {
    void vscode.window.showErrorMessage(`BERT Studio: "${entry.manifest.name}" kept as it was: ${result.reason}`);
    return false;
  }
  const test = result.manifest?.splits.test;
  void vscode.window.showInformationMessage(change === 'test' ? `"${entry.manifest.name}" now has a test split (${test?.count ?? 0} examples): score a model on it with "Evaluate on…".` : `"${entry.manifest.name}" labels: ${(result.manifest?.labels ?? []).join(', ')}.`);
  return true;
}
