import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationError } from '../../../src/core/process';
import { resolveInterpreter, venvPython } from '../../../src/core/python/interpreter';
import { SetupError, setUpTrainingEnvironment } from '../../../src/core/python/setup';

describe('Python interpreter resolution', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-py-'));
  const venvPy = venvPython(path.join(ws, '.venv'));

  it('prefers the setting, then the workspace .venv, then the Python extension', async () => {
    const ext = async (): Promise<string> => '/from/extension/python';
    assert.deepEqual(await resolveInterpreter({ setting: '/custom/python', workspaceFolders: [ws], pythonExtension: ext }), { path: '/custom/python', source: 'setting' });
    assert.deepEqual(await resolveInterpreter({ setting: '  ', workspaceFolders: [ws], pythonExtension: ext }), { path: '/from/extension/python', source: 'python-extension' });
    fs.mkdirSync(path.dirname(venvPy), { recursive: true });
    fs.writeFileSync(venvPy, '');
    assert.deepEqual(await resolveInterpreter({ workspaceFolders: [ws], pythonExtension: ext }), { path: venvPy, source: 'workspace-venv' });
    assert.deepEqual(await resolveInterpreter({ workspaceFolders: [] }), { path: undefined, source: 'none' });
  });
});

describe('training environment setup', function () {
  this.timeout(120_000);

  it('reports a failing pip install with its reason, in a clear error', async () => {
    const trainer = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-trainer-'));
    fs.writeFileSync(path.join(trainer, 'requirements.txt'), 'this is not a requirement!!\n');
    const venvDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bs-venv-')), 'venv');
    const steps: string[] = [];
    await assert.rejects(
      setUpTrainingEnvironment({ venvDir, trainerDir: trainer, onStep: (s) => steps.push(s.message) }),
      (err: unknown) => {
        assert.ok(err instanceof SetupError);
        assert.match(err.message, /Installing the requirements failed/);
        assert.match(err.message, /[Ii]nvalid requirement/);
        return true;
      },
    );
    assert.ok(fs.existsSync(venvPython(venvDir)), 'the venv itself was created');
    assert.equal(steps.length, 2);
  });

  it('can be cancelled', async () => {
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(
      setUpTrainingEnvironment({ venvDir: path.join(os.tmpdir(), 'never'), trainerDir: '.', signal: abort.signal }),
      (err: unknown) => err instanceof CancellationError,
    );
  });
});
