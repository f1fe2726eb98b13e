// Entry point of the extension test suite (VS Code's extensionTestsPath): runs every *.test.js in
// this folder inside the real extension host and writes the results as JSON for the harness
// (test/e2e/run-suite.mjs) to $BERT_STUDIO_E2E_RESULTS, else next to the workspace folder.
// The returned promise rejects when a test failed; the workbench then reports a non-zero code
// through window.codeAutomationExit.
'use strict';

const fs = require('fs');
const path = require('path');
const { runAll } = require('./runner');
const metrics = require('./metrics');

function resultsFile() {
  if (process.env.BERT_STUDIO_E2E_RESULTS) return process.env.BERT_STUDIO_E2E_RESULTS;
  const vscode = require('vscode');
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  return path.join(folder ? path.dirname(folder.uri.fsPath) : require('os').tmpdir(), 'suite-results.json');
}

exports.run = async function run() {
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(__dirname, f));
  const results = await runAll(files);
  fs.writeFileSync(resultsFile(), JSON.stringify({ results, metrics: metrics.all() }, null, 2));
  for (const r of results) console.log(`[e2e suite] ${r.status} ${r.file} ${r.name}${r.error ? `\n${r.error}` : ''}`);
  const failed = results.filter((r) => r.status === 'failed').length;
  if (failed) throw new Error(`${failed} extension test(s) failed`);
};
