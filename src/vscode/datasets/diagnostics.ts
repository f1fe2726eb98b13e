import * as vscode from 'vscode';
import type { QuickFix, ValidationReport } from '../../core/datasets/types';

const SOURCE = 'BERT Studio';

function key(uri: vscode.Uri, d: vscode.Diagnostic): string {
  return `${uri.toString()}|${d.range.start.line}|${d.range.start.character}|${String(d.code)}|${d.message}`;
}

/** Problems panel entries for dataset files, and the quick fixes that go with them. */
export class DatasetDiagnostics implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];
  readonly collection = vscode.languages.createDiagnosticCollection('bertStudio.datasets');
  private readonly fixes = new Map<string, QuickFix>();

  /** Replaces the diagnostics of every file the report covers. */
  show(report: ValidationReport): void {
    for (const f of report.files) {
      const uri = vscode.Uri.file(f.file);
      for (const k of [...this.fixes.keys()]) if (k.startsWith(`${uri.toString()}|`)) this.fixes.delete(k);
      const list = f.diagnostics.map((d) => {
        const line = Math.max(0, d.line - 1);
        const col = Math.max(0, d.column - 1);
        const range = new vscode.Range(line, col, Math.max(line, (d.endLine ?? d.line) - 1), d.endColumn ? Math.max(col, d.endColumn - 1) : col + 1);
        const diag = new vscode.Diagnostic(range, d.message, d.severity === 'error' ? vscode.DiagnosticSeverity.Error : d.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information);
        diag.source = SOURCE;
        diag.code = d.code;
        if (d.fix) this.fixes.set(key(uri, diag), d.fix);
        return diag;
      });
      this.collection.set(uri, list);
    }
  }

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const d of context.diagnostics) {
      if (d.source !== SOURCE) continue;
      const fix = this.fixes.get(key(document.uri, d));
      if (!fix) continue;
      const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
      action.diagnostics = [d];
      action.isPreferred = fix.edits.length === 1 && !fix.title.startsWith('Remove');
      const edit = new vscode.WorkspaceEdit();
      for (const e of fix.edits) edit.replace(document.uri, new vscode.Range(e.line - 1, e.column - 1, e.endLine - 1, e.endColumn - 1), e.newText);
      action.edit = edit;
      actions.push(action);
    }
    return actions;
  }

  dispose(): void {
    this.collection.dispose();
    this.fixes.clear();
  }
}
