// Likely label errors in the Problems panel (their own collection, "BERT Studio: label errors"), at
// each example's (or token's) source line, ranked by score, with two quick fixes: "Change label to X"
// (edits the source file; the next import makes a new snapshot) and "Mark as reviewed" (remembered per
// dataset in workspace storage, hidden from then on). The logic is src/core/analysis/labelIssues.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  changeLabelFix,
  findLabelErrors,
  issueMessage,
  issuesByFile,
  LABEL_ISSUE_CODE,
  LABEL_ISSUES_FILE,
  labelSpan,
  layoutFor,
  readLabelIssues,
  reviewKey,
  type LabelIssue,
  type SourceLayout,
} from '../../core/analysis/labelIssues';
import type { DatasetManifest } from '../../core/datasets/snapshot';
import { packageRoot } from '../../core/paths';
import { EvaluationError } from '../../core/runs/evaluate';
import { RunStore } from '../../core/runs/store';
import { requireTrust, type Ctx } from '../ctx';
import { pythonFor } from '../environment/register';
import { pickRun } from '../runs/evaluateCommands';
import { registerEmbeddingMap } from './embeddingMap';

const SOURCE = 'BERT Studio: label errors';
const REVIEWED = 'bertStudio.labelErrors.reviewed';
const CROSS_VALIDATE = 'Cross-validate (5 folds)';

/** The run whose issues are shown: what the quick fixes need. */
interface Shown {
  readonly runDir: string;
  readonly task: string;
  /** Where "Mark as reviewed" is remembered: the dataset id, else the training file. */
  readonly datasetKey: string;
  readonly manifest?: DatasetManifest;
  /** Per diagnostic (uri|line|rank): the issue. */
  readonly issues: Map<string, LabelIssue>;
}

function diagKey(uri: vscode.Uri, line: number, rank: number): string {
  return `${uri.toString()}|${line}|${rank}`;
}

export class LabelErrorDiagnostics implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];
  readonly collection = vscode.languages.createDiagnosticCollection(SOURCE);
  private shown: Shown | undefined;
  /** Fixed in this session (label changed): hidden until the issues are found again. */
  private readonly fixed = new Set<string>();

  constructor(private readonly state: vscode.Memento, private readonly workspaceRoot: string | undefined) {}

  private reviewed(datasetKey: string): Set<string> {
    return new Set(this.state.get<string[]>(`${REVIEWED}:${datasetKey}`, []));
  }

  /** Shows a run's label_issues.jsonl; the number of issues shown (reviewed ones hidden). */
  async show(runDir: string, datasetsDir: string | undefined): Promise<number> {
    const read = await readLabelIssues(runDir);
    if (!read) throw new EvaluationError(`${path.basename(runDir)} has no ${LABEL_ISSUES_FILE} yet; run "BERT Studio: Find Label Errors…" on it first.`);
    const spec = JSON.parse(await fs.promises.readFile(path.join(runDir, 'spec.json'), 'utf8')) as { task?: string; dataset_id?: string; data?: { train?: string } };
    let manifest: DatasetManifest | undefined;
    if (spec.dataset_id && datasetsDir) {
      try {
        manifest = JSON.parse(await fs.promises.readFile(path.join(datasetsDir, spec.dataset_id, 'manifest.json'), 'utf8')) as DatasetManifest;
      } catch {
        manifest = undefined; // the dataset was removed: layout from the file extension
      }
    }
    const datasetKey = spec.dataset_id ?? spec.data?.train ?? runDir;
    const task = spec.task ?? 'sequence_classification';
    this.shown = { runDir, task, datasetKey, manifest, issues: new Map() };
    this.fixed.clear();
    return this.refresh();
  }

  /** Rebuilds the diagnostics from the shown run, leaving out reviewed and fixed issues; the number shown. */
  async refresh(): Promise<number> {
    const shown = this.shown;
    if (!shown) return 0;
    const read = await readLabelIssues(shown.runDir);
    if (this.shown !== shown) return 0;
    this.collection.clear();
    shown.issues.clear();
    if (read) {
      const hidden = new Set([...this.reviewed(shown.datasetKey), ...this.fixed]);
      for (const [file, issues] of issuesByFile(read.issues, hidden, this.workspaceRoot)) {
        const uri = vscode.Uri.file(file);
        const layout = layoutFor(file, shown.task, shown.manifest);
        const lines = readLines(file);
        const diags = issues.map((issue) => {
          const line = (issue.source?.line ?? 1) - 1;
          const text = lines?.[line];
          const span = text !== undefined && layout ? labelSpan(text, issue, layout, lines?.[0]) : undefined;
          const range = span ? new vscode.Range(line, span.start, line, span.end) : new vscode.Range(line, 0, line, text?.length ?? 1);
          const diag = new vscode.Diagnostic(range, issueMessage(issue), vscode.DiagnosticSeverity.Warning);
          diag.source = SOURCE;
          diag.code = LABEL_ISSUE_CODE;
          shown.issues.set(diagKey(uri, line, issue.rank), issue);
          return diag;
        });
        this.collection.set(uri, diags);
      }
    }
    return shown.issues.size;
  }

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const shown = this.shown;
    if (!shown) return [];
    const actions: vscode.CodeAction[] = [];
    for (const d of context.diagnostics) {
      if (d.source !== SOURCE) continue;
      const rank = /#(\d+)/.exec(d.message);
      const issue = rank ? shown.issues.get(diagKey(document.uri, d.range.start.line, Number(rank[1]))) : undefined;
      if (!issue) continue;
      const layout = layoutFor(document.uri.fsPath, shown.task, shown.manifest);
      const change = layout ? changeFixAction(document, issue, layout) : undefined;
      if (change) {
        change.diagnostics = [d];
        change.command = { command: 'bertStudio.labelErrors.fixed', title: 'Label changed', arguments: [reviewKey(issue, this.workspaceRoot)] };
        actions.push(change);
      }
      const review = new vscode.CodeAction('Mark as reviewed (the label is right)', vscode.CodeActionKind.QuickFix);
      review.diagnostics = [d];
      review.command = { command: 'bertStudio.labelErrors.markReviewed', title: 'Mark as reviewed', arguments: [reviewKey(issue, this.workspaceRoot)] };
      actions.push(review);
    }
    return actions;
  }

  async markReviewed(key: string): Promise<void> {
    if (!this.shown) return;
    const name = `${REVIEWED}:${this.shown.datasetKey}`;
    const keys = new Set(this.state.get<string[]>(name, []));
    keys.add(key);
    await this.state.update(name, [...keys]);
    await this.refresh();
  }

  async markFixed(key: string): Promise<void> {
    this.fixed.add(key);
    await this.refresh();
  }

  clear(): void {
    this.shown = undefined;
    this.collection.clear();
  }

  dispose(): void {
    this.collection.dispose();
  }
}

function readLines(file: string): string[] | undefined {
  try {
    return fs.readFileSync(file, 'utf8').split(/\r?\n|\r/);
  } catch {
    return undefined;
  }
}

function changeFixAction(document: vscode.TextDocument, issue: LabelIssue, layout: SourceLayout): vscode.CodeAction | undefined {
  const line = (issue.source?.line ?? 0) - 1;
  if (line < 0 || line >= document.lineCount) return undefined;
  const fix = changeLabelFix(document.lineAt(line).text, issue, issue.suggested, layout, document.lineAt(0).text);
  if (!fix) return undefined;
  const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
  action.isPreferred = true;
  const edit = new vscode.WorkspaceEdit();
  for (const e of fix.edits) edit.replace(document.uri, new vscode.Range(e.line - 1, e.column - 1, e.endLine - 1, e.endColumn - 1), e.newText);
  action.edit = edit;
  return action;
}

export function registerAnalysis(ctx: Ctx): void {
  const diagnostics = new LabelErrorDiagnostics(ctx.extension.workspaceState, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  ctx.push(diagnostics, vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, diagnostics, { providedCodeActionKinds: LabelErrorDiagnostics.kinds }));
  registerEmbeddingMap(ctx);
  const store = (): RunStore | undefined => {
    const layout = ctx.layout();
    return layout ? new RunStore(layout.runsDir) : undefined;
  };
  const fits = (r: { spec?: { task?: string }; hasModel: boolean }): boolean => r.hasModel && (r.spec?.task === 'sequence_classification' || r.spec?.task === 'token_classification');

  const show = async (runDir: string): Promise<void> => {
    const n = await diagnostics.show(runDir, ctx.layout()?.datasetsDir);
    const open = 'Open Problems';
    const action = await vscode.window.showInformationMessage(`BERT Studio: ${n} likely label errors in ${path.basename(runDir)}, in the Problems panel (highest score first in each file).`, open);
    if (action === open) await vscode.commands.executeCommand('workbench.actions.view.problems');
  };

  ctx.push(vscode.commands.registerCommand('bertStudio.findLabelErrors', async (arg?: unknown) => {
    if (!requireTrust(ctx, 'Finding label errors')) return;
    const run = await pickRun(store(), arg, fits, 'check for label errors');
    if (!run) return;
    let folds: number | undefined;
    if (!fs.existsSync(path.join(run.dir, 'dynamics.npz'))) {
      const choice = await vscode.window.showWarningMessage(`BERT Studio: ${run.spec?.name || run.id} has no training dynamics (trained with record_dynamics off). Cross-validation trains the model 5 more times.`, CROSS_VALIDATE);
      if (choice !== CROSS_VALIDATE) return;
      folds = 5;
    }
    const python = await pythonFor(ctx);
    if (!python.path) {
      void vscode.window.showErrorMessage('BERT Studio: no Python environment for the worker; run "BERT Studio: Set Up Training Environment" first.');
      return;
    }
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BERT Studio: finding label errors in ${run.spec?.name || run.id}`, cancellable: true }, async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        return findLabelErrors({ python: python.path as string, run: run.dir, ...(folds ? { folds } : {}), packageRoot: packageRoot(), signal: controller.signal, onStderr: (l) => {
          ctx.workerLog.info(l);
          if (l.startsWith('fold ')) progress.report({ message: l });
        } });
      });
      await show(run.dir);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      if (!(err instanceof EvaluationError)) ctx.log.error(`label errors ${run.id}: ${(err as Error).stack ?? String(err)}`);
      void vscode.window.showErrorMessage(`BERT Studio: ${(err as Error).message}`);
    }
  }));

  ctx.push(vscode.commands.registerCommand('bertStudio.showLabelErrors', async (arg?: unknown) => {
    const run = await pickRun(store(), arg, (r) => fs.existsSync(path.join(r.dir, LABEL_ISSUES_FILE)), 'show label errors of');
    if (!run) return;
    try {
      await show(run.dir);
    } catch (err) {
      void vscode.window.showErrorMessage(`BERT Studio: ${(err as Error).message}`);
    }
  }));
  ctx.push(vscode.commands.registerCommand('bertStudio.clearLabelErrors', () => diagnostics.clear()));
  ctx.push(vscode.commands.registerCommand('bertStudio.labelErrors.markReviewed', (key: string) => diagnostics.markReviewed(key)));
  ctx.push(vscode.commands.registerCommand('bertStudio.labelErrors.fixed', (key: string) => diagnostics.markFixed(key)));
}
