import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { TRAINING_FIELDS } from '../../../src/core/runs/launch';
import { TASKS } from '../../../src/core/runs/protocol';
import { buildSpec, defaultTraining } from '../../../src/core/runs/spec';
import { tmpDir } from '../datasets/helpers';
import { needSetup } from '../needSetup';

const root = packageRoot(__dirname);
const DEFAULTS_FILE = path.join(root, 'trainer', 'bert_studio_trainer', 'defaults.json');

/**
 * The training block the worker fills in for a spec that gives no training field, per task (and
 * multi-label): what spec.py's parse_spec makes of it, dumped as JSON by the real worker package.
 */
function pythonEffectiveDefaults(python: string, train: string): Record<string, Record<string, unknown>> {
  const script = `
import json, sys
from bert_studio_trainer.spec import parse_spec
train = sys.argv[1]
out = {}
for task in ${JSON.stringify(TASKS)}:
    spec = parse_spec({"version": 1, "task": task, "model": {"name_or_path": "default"}, "data": {"train": train}})
    out[task] = spec.training
spec = parse_spec({"version": 1, "task": "sequence_classification", "model": {"name_or_path": "default"}, "data": {"train": train, "multi_label": True}})
out["multi_label"] = spec.training
print(json.dumps(out))
`;
  const text = execFileSync(python, ['-c', script, train], { env: { ...process.env, ...workerEnv(root) }, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(text.trim().split('\n').pop() as string) as Record<string, Record<string, unknown>>;
}

describe('training defaults: one file for the host and the worker', function () {
  this.timeout(180_000);

  it("the host's defaults are defaults.json's, common values then the task's", () => {
    const file = JSON.parse(fs.readFileSync(DEFAULTS_FILE, 'utf8')) as { common: Record<string, unknown>; tasks: Record<string, Record<string, unknown>> };
    for (const task of TASKS) assert.deepEqual(defaultTraining(task), { ...file.common, ...file.tasks[task] }, task);
    // The values the issue found disagreeing: QA windows, QA stride, the pretraining learning rate.
    assert.equal(defaultTraining('question_answering').max_seq_length, file.tasks.question_answering?.max_seq_length);
    assert.ok((defaultTraining('question_answering').doc_stride as number) < (defaultTraining('question_answering').max_seq_length as number));
  });

  it('every field in defaults.json has a checked rule, limited to the tasks whose defaults hold it', () => {
    const file = JSON.parse(fs.readFileSync(DEFAULTS_FILE, 'utf8')) as { common: Record<string, unknown>; tasks: Record<string, Record<string, unknown>> };
    const common = Object.keys(file.common);
    assert.deepEqual(Object.keys(TRAINING_FIELDS).filter((k) => !TRAINING_FIELDS[k]?.tasks).sort(), [...common].sort());
    const specific = [...new Set(Object.values(file.tasks).flatMap((t) => Object.keys(t)))].filter((k) => !common.includes(k));
    assert.deepEqual(Object.keys(TRAINING_FIELDS).filter((k) => TRAINING_FIELDS[k]?.tasks).sort(), specific.sort());
    for (const name of specific) {
      const holders = TASKS.filter((t) => name in (file.tasks[t] ?? {}));
      assert.deepEqual([...(TRAINING_FIELDS[name]?.tasks ?? [])].sort(), [...holders].sort(), name);
    }
  });

  it("the worker's effective defaults equal the host's, value for value, for every task and multi-label", function () {
    const python = venvPython(path.join(root, '.venv'));
    needSetup(this, fs.existsSync(python), 'the venv Python (scripts/setup.sh)');
    const dir = tmpDir();
    try {
      const train = path.join(dir, 'train.txt');
      fs.writeFileSync(train, 'a sentence.\n');
      const py = pythonEffectiveDefaults(python, train);
      for (const task of TASKS) {
        const host = buildSpec({ task, model: 'default', train }).training;
        assert.deepEqual(py[task], host, `${task}: worker ${JSON.stringify(py[task])} vs host ${JSON.stringify(host)}`);
      }
      const multi = buildSpec({ task: 'sequence_classification', model: 'default', train, multiLabel: true }).training;
      assert.deepEqual(py.multi_label, multi);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
