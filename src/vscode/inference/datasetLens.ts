import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasetRows, goldName, type DatasetRow } from '../../core/inference/datasetRows';
import type { EngineHost } from './engineHost';
import type { ActiveModels } from './models';

class RowLens extends vscode.CodeLens {
  constructor(
    range: vscode.Range,
    readonly row: DatasetRow,
  ) {
    super(range);
  }
}

/** Predicted vs gold label above each row of a tsv/csv/jsonl dataset, while a classifier is active. */
export class DatasetLensProvider implements vscode.CodeLensProvider<RowLens> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(
    private readonly engines: EngineHost,
    private readonly models: ActiveModels,
  ) {
    models.onDidChange(() => this.changed.fire());
  }

  provideCodeLenses(doc: vscode.TextDocument): RowLens[] {
    if (!this.models.get('sequence-classification')) return [];
    const ext = path.extname(doc.fileName).slice(1).toLowerCase();
    if (ext !== 'tsv' && ext !== 'csv' && ext !== 'jsonl') return [];
    const lines = Array.from({ length: Math.min(doc.lineCount, 5000) }, (_, i) => doc.lineAt(i).text);
    return datasetRows(lines, ext, 500).map((row) => new RowLens(doc.lineAt(row.line).range, row));
  }

  async resolveCodeLens(lens: RowLens, token: vscode.CancellationToken): Promise<RowLens> {
    const model = this.models.get('sequence-classification');
    if (!model) return lens;
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort(new vscode.CancellationError()));
    try {
      const engine = await this.engines.get();
      const [c] = await engine.classify(model, [lens.row.text], { signal: controller.signal });
      const info = await engine.info(model);
      const gold = goldName(lens.row.gold, info.labels);
      const mark = gold === undefined ? '' : gold === c.label ? ' ✓' : ` ✗ gold: ${gold}`;
      const cut = c.truncated ? ` · first ${info.maxLength} tokens only` : '';
      lens.command = { title: `predicted: ${c.label} (${(c.probability * 100).toFixed(0)}%)${mark}${cut}`, command: '' };
    } catch (err) {
      lens.command = { title: `prediction failed: ${(err as Error).message}`, command: '' };
    } finally {
      sub.dispose();
    }
    return lens;
  }
}
