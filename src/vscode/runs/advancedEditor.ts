// The New Training Run wizard's advanced editor: the task's other training fields as a JSON
// document (a .jsonc file in the workspace storage, pre-filled with their defaults, its schema
// beside it for hover and completion), checked as you type by core/runs/advancedFields.ts
// (squiggles and Problems; a quick fix renames "lr" to learning_rate), accepted by "Use these
// settings" above it, the check in its title bar or by saving it (refused while errors remain),
// abandoned by closing it or by the discard button.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkAdvancedText, advancedDocument, hasErrors, trainingSchema, type AdvancedContext, type FieldProblem } from '../../core/runs/advancedFields';
import type { Task } from '../../core/runs/protocol';
import type { Ctx } from '../ctx';

export const USE_FIELDS_COMMAND = 'bertStudio.useTrainingFields';
export const DISCARD_FIELDS_COMMAND = 'bertStudio.discardTrainingFields';
/** Set while an editor is open: shows the two commands in its title bar and the palette (package.json). */
const CONTEXT_KEY = 'bertStudio.editingTrainingFields';
/** The storage folder of the editor's files (CodeLens and quick fixes apply there only). */
const FOLDER = 'training-fields';

interface Session {
  readonly uri: vscode.Uri;
  readonly task: Task;
  readonly context: AdvancedContext;
  readonly finish: (values: Record<string, unknown> | undefined) => void;
  /** Its tab has been shown: from then on, no tab of it means it was closed. */
  shown: boolean;
}

let session: Session | undefined;
/** Whether the latest save of the editor's file was the user's (Ctrl+S), not an auto-save. */
let manualSave = false;
let registered: { diagnostics: vscode.DiagnosticCollection; lenses: vscode.EventEmitter<void> } | undefined;

const isSession = (uri: vscode.Uri): boolean => session !== undefined && uri.toString() === session.uri.toString();
const tabsOf = (uri: vscode.Uri): vscode.Tab[] =>
  vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === uri.toString());

function rangeOf(doc: vscode.TextDocument, p: FieldProblem): vscode.Range {
  return new vscode.Range(doc.positionAt(p.offset), doc.positionAt(p.offset + p.length));
}

function check(doc: vscode.TextDocument): ReturnType<typeof checkAdvancedText> | undefined {
  return session && isSession(doc.uri) ? checkAdvancedText(session.task, doc.getText(), session.context) : undefined;
}

function publish(doc: vscode.TextDocument): void {
  const c = check(doc);
  if (!c || !registered) return;
  registered.diagnostics.set(
    doc.uri,
    c.problems.map((p) => {
      const d = new vscode.Diagnostic(rangeOf(doc, p), p.message, p.severity === 'info' ? vscode.DiagnosticSeverity.Information : vscode.DiagnosticSeverity.Error);
      d.source = 'BERT Studio';
      return d;
    }),
  );
  registered.lenses.fire();
}

/** Ends the editing: the values (accepted) or undefined (back to the wizard); its tab closes. */
async function end(values: Record<string, unknown> | undefined): Promise<void> {
  const s = session;
  if (!s) return;
  session = undefined;
  void vscode.commands.executeCommand('setContext', CONTEXT_KEY, false);
  registered?.diagnostics.delete(s.uri);
  registered?.lenses.fire();
  // Closed before the wizard goes on, so its next prompt keeps the focus; saved first, so closing
  // asks nothing (the file is only a scratch copy, rewritten the next time).
  try {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === s.uri.toString());
    if (doc?.isDirty) await doc.save();
    await vscode.window.tabGroups.close(tabsOf(s.uri), true);
  } catch {
    // Already closed (the user closed it and chose not to save): nothing is left to tidy.
  } finally {
    s.finish(values);
  }
}

/** "Use these settings": refused, with the problems, while any error remains. */
async function accept(doc: vscode.TextDocument | undefined): Promise<void> {
  if (!doc || !session) return;
  const c = check(doc);
  if (!c || hasErrors(c)) {
    // Not modal: saving with problems left is common while editing, and says what is left.
    const errors = (c?.problems ?? []).filter((p) => p.severity === 'error');
    const first = errors.slice(0, 2).map((p) => `line ${doc.positionAt(p.offset).line + 1}: ${p.message}`);
    void vscode.window.showErrorMessage(
      `BERT Studio: ${errors.length} problem${errors.length === 1 ? '' : 's'} left in these training fields (underlined, and listed in Problems); fix ${errors.length === 1 ? 'it' : 'them'} to use them, or close the editor to go back. ${first.join(' ')}${errors.length > 2 ? ' …' : ''}`,
    );
    return;
  }
  await end(c.values);
}

/** Registers the editor's diagnostics, CodeLens, quick fix and commands (once, at activation). */
export function registerAdvancedEditor(ctx: Ctx): void {
  const diagnostics = vscode.languages.createDiagnosticCollection('bertStudio.trainingFields');
  const lenses = new vscode.EventEmitter<void>();
  registered = { diagnostics, lenses };
  const selector: vscode.DocumentSelector = { scheme: 'file', pattern: `**/${FOLDER}/*.jsonc` };
  ctx.push(
    diagnostics,
    lenses,
    { dispose: () => void end(undefined) },
    vscode.workspace.onDidOpenTextDocument(publish),
    vscode.workspace.onDidChangeTextDocument((e) => publish(e.document)),
    // A save by the user accepts (or says what is left to fix); an auto-save (files.autoSave) does
    // not, or the editor would close at the first pause in typing. The file is only a scratch copy.
    vscode.workspace.onWillSaveTextDocument((e) => {
      if (isSession(e.document.uri)) manualSave = e.reason === vscode.TextDocumentSaveReason.Manual;
    }),
    vscode.workspace.onDidSaveTextDocument((doc) => (isSession(doc.uri) && manualSave ? accept(doc) : undefined)),
    vscode.window.tabGroups.onDidChangeTabs(() => {
      if (session?.shown && !tabsOf(session.uri).length) void end(undefined);
    }),
    vscode.languages.registerCodeLensProvider(selector, {
      onDidChangeCodeLenses: lenses.event,
      provideCodeLenses(doc) {
        const c = check(doc);
        if (!c) return [];
        const errors = c.problems.filter((p) => p.severity === 'error').length;
        const top = new vscode.Range(0, 0, 0, 0);
        return [
          new vscode.CodeLens(top, {
            title: errors ? `$(error) Use these settings (${errors} problem${errors === 1 ? '' : 's'} to fix first)` : '$(check) Use these settings',
            command: USE_FIELDS_COMMAND,
            tooltip: 'Continue New Training Run with these training fields',
          }),
          new vscode.CodeLens(top, { title: '$(close) Discard and go back', command: DISCARD_FIELDS_COMMAND, tooltip: 'Back to the wizard, without these changes' }),
        ];
      },
    }),
    vscode.languages.registerCodeActionsProvider(selector, {
      provideCodeActions(doc, range) {
        return (check(doc)?.problems ?? [])
          .filter((p) => p.rename && rangeOf(doc, p).intersection(range))
          .map((p) => {
            const fix = new vscode.CodeAction(`Rename to ${p.rename}`, vscode.CodeActionKind.QuickFix);
            fix.edit = new vscode.WorkspaceEdit();
            fix.edit.replace(doc.uri, rangeOf(doc, p), JSON.stringify(p.rename));
            fix.isPreferred = true;
            return fix;
          });
      },
    }),
    vscode.commands.registerCommand(USE_FIELDS_COMMAND, () => accept(vscode.workspace.textDocuments.find((d) => isSession(d.uri)))),
    vscode.commands.registerCommand(DISCARD_FIELDS_COMMAND, () => end(undefined)),
  );
}

/**
 * Opens the advanced editor for `task` with `values` (the fields changed so far; the rest at their
 * defaults) and waits: the accepted fields, or undefined when it was closed or discarded.
 */
export async function editAdvancedFields(ctx: Ctx, task: Task, values: Readonly<Record<string, unknown>>, context: AdvancedContext): Promise<Record<string, unknown> | undefined> {
  await end(undefined); // one wizard's editor at a time
  const dir = path.join((ctx.extension.storageUri ?? ctx.extension.globalStorageUri).fsPath, FOLDER);
  // A new name each time: an editor of an earlier file may still hold its old text.
  const file = path.join(dir, `new-run-${task}-${Date.now()}.jsonc`);
  const schema = `${task}.schema.json`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const old of fs.readdirSync(dir)) if (old.startsWith('new-run-')) fs.rmSync(path.join(dir, old), { force: true });
    fs.writeFileSync(path.join(dir, schema), `${JSON.stringify(trainingSchema(task), null, 2)}\n`);
    fs.writeFileSync(file, advancedDocument(task, `./${schema}`, values, context.multiLabel));
  } catch (err) {
    void vscode.window.showErrorMessage(`BERT Studio: cannot write the training fields to ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check that folder's permissions, or use the wizard's own steps.`);
    return undefined;
  }
  const uri = vscode.Uri.file(file);
  const done = new Promise<Record<string, unknown> | undefined>((resolve) => {
    session = { uri, task, context, finish: resolve, shown: false };
  });
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc, { preview: false });
  if (session?.uri === uri) {
    session.shown = true;
    void vscode.commands.executeCommand('setContext', CONTEXT_KEY, true);
  }
  publish(doc);
  ctx.log.info(`New Training Run: editing the other training fields in ${file}`);
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'New Training Run: waiting for "Use these settings" above the training fields' }, () => done);
}
