// What package.json contributes is really there: commands, views, settings.
'use strict';

const assert = require('assert');
const vscode = require('vscode');
const { test } = require('./runner');

const manifest = () => vscode.extensions.getExtension('bert-studio.bert-studio').packageJSON;

test('every contributed command is registered', async () => {
  const registered = new Set(await vscode.commands.getCommands(true));
  const missing = manifest().contributes.commands.map((c) => c.command).filter((c) => !registered.has(c));
  assert.deepStrictEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
});

test('the BERT Studio view container opens', async () => {
  await vscode.commands.executeCommand('workbench.view.extension.bertStudio');
});

test('every contributed view can be focused', async () => {
  const views = manifest().contributes.views.bertStudio.map((v) => v.id);
  assert.deepStrictEqual(views, ['bertStudio.datasets', 'bertStudio.runs', 'bertStudio.models', 'bertStudio.dashboard']);
  for (const id of views) await vscode.commands.executeCommand(`${id}.focus`);
});

test('settings have their declared defaults', () => {
  const properties = manifest().contributes.configuration.properties;
  const config = vscode.workspace.getConfiguration();
  for (const [key, schema] of Object.entries(properties)) {
    const inspected = config.inspect(key);
    assert.ok(inspected, `setting ${key} is unknown to VS Code`);
    assert.deepStrictEqual(inspected.defaultValue, schema.default, `default of ${key}`);
    assert.deepStrictEqual(config.get(key), schema.default, `value of ${key} in a fresh profile`);
  }
});

test('read-only commands run without error', async () => {
  // Missing registrations are the first test's failure; this one runs those that exist.
  const registered = new Set(await vscode.commands.getCommands(true));
  const readOnly = ['bertStudio.refreshRuns', 'bertStudio.refreshDatasets', 'bertStudio.openDashboard'].filter((c) => registered.has(c));
  assert.ok(readOnly.length > 0, 'none of the read-only commands is registered');
  for (const command of readOnly) await vscode.commands.executeCommand(command);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});
