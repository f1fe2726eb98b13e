import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../../../src/core/datasets/detect';
import { importDataset } from '../../../src/core/datasets/snapshot';
import { packageRoot } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { checkTrainingChanges, defaultModelFolder, modelMaxPositions, splitLabels, TRAINING_FIELDS, trainingFieldNames } from '../../../src/core/runs/launch';
import { buildSpec, preflight } from '../../../src/core/runs/spec';
import { DATA, tmpDir } from '../datasets/helpers';
import { needSetup } from '../needSetup';

const root = packageRoot(__dirname);

/** The keys of a `NAME: dict[...] = { ... }` literal in trainer/bert_studio_trainer/spec.py. */
function pythonDictKeys(source: string, name: string): string[] {
  const start = source.indexOf(`${name}: dict`);
  assert.ok(start >= 0, `${name} not found in spec.py`);
  const body = source.slice(source.indexOf('{', start), source.indexOf('\n}', start));
  return [...body.matchAll(/"([a-z_0-9]+)":/g)].map((m) => m[1] as string);
}

describe('training fields (Trainer-style names)', () => {
  it("are exactly the trainer's, common and per task", () => {
    const py = fs.readFileSync(path.join(root, 'trainer', 'bert_studio_trainer', 'spec.py'), 'utf8');
    const common = pythonDictKeys(py, 'TRAINING_DEFAULTS');
    const perTaskBlock = pythonDictKeys(py, 'TASK_TRAINING_DEFAULTS').filter((k) => !(k in { sequence_classification: 1, token_classification: 1, question_answering: 1, mlm: 1, mlm_nsp: 1 }));
    assert.deepEqual(Object.keys(TRAINING_FIELDS).filter((k) => !TRAINING_FIELDS[k]?.tasks).sort(), [...common].sort());
    assert.deepEqual(Object.keys(TRAINING_FIELDS).filter((k) => TRAINING_FIELDS[k]?.tasks).sort(), [...new Set(perTaskBlock)].sort());
    assert.ok(trainingFieldNames('question_answering').includes('doc_stride'));
    assert.ok(!trainingFieldNames('mlm').includes('doc_stride'));
  });

  it('name the field and the fix for unknown names, wrong tasks and wrong types', () => {
    assert.deepEqual(checkTrainingChanges('sequence_classification', { learning_rate: 3e-5, num_train_epochs: 2, bf16: false, early_stopping_patience: null, metric_for_best_model: 'f1' }), []);
    const problems = checkTrainingChanges('sequence_classification', { lr: 3e-5, doc_stride: 64, per_device_train_batch_size: 0, torch_compile: 'yes' });
    assert.deepEqual(problems.map((p) => p.field), ['training.lr', 'training.doc_stride', 'training.per_device_train_batch_size', 'training.torch_compile']);
    assert.match(problems[0]?.message ?? '', /did you mean learning_rate\?/);
    assert.match(problems[1]?.message ?? '', /question_answering, not sequence_classification/);
    assert.match(problems[2]?.message ?? '', /positive integer/);
  });
});

describe('pre-launch inputs from real data', function () {
  this.timeout(120_000);
  let datasets: string;
  before(function () {
    needSetup(this, fs.existsSync(DATA), `shared data at ${DATA}`);
    datasets = tmpDir();
  });
  after(() => datasets && fs.rmSync(datasets, { recursive: true, force: true }));

  /** Tags of a CoNLL file read independently: the last column of every token line. */
  function conllTags(file: string): Set<string> {
    const tags = new Set<string>();
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 2 && cols[0] !== '-DOCSTART-') tags.add(cols.at(-1) as string);
    }
    return tags;
  }

  it('reads the label sets of a snapshot split, and the check names tags dev has and train lacks', async () => {
    const train = path.join(DATA, 'conll2003', 'valid.txt');
    const dev = path.join(DATA, 'conll2003', 'test.txt');
    const g = await guessDataset(train);
    assert.equal(g.task, 'token_classification');
    const result = await importDataset({ task: 'token_classification', format: g.format, mapping: g.mapping, files: { train, validation: dev } }, datasets);
    assert.ok(result.ok && result.dir, result.reason);
    const dir = result.dir;
    const trainTags = await splitLabels(path.join(dir, 'train.jsonl'), 'token_classification');
    const devTags = await splitLabels(path.join(dir, 'validation.jsonl'), 'token_classification');
    assert.deepEqual([...(trainTags ?? [])].sort(), [...conllTags(train)].sort());
    assert.deepEqual([...(devTags ?? [])].sort(), [...conllTags(dev)].sort());
    // Train on the sentences without any organisation: dev's ORG tags are then unseen.
    const noOrg = [...(trainTags ?? [])].filter((t) => !t.endsWith('-ORG'));
    const spec = buildSpec({ task: 'token_classification', model: 'default', train: 't.jsonl', validation: 'v.jsonl' });
    const problems = preflight({ spec, pythonPath: 'python', trainLabels: new Set(noOrg), validationLabels: devTags });
    const missing = [...(devTags ?? [])].filter((t) => t.endsWith('-ORG')).sort();
    assert.ok(missing.length > 0);
    assert.deepEqual(problems.map((p) => p.field), ['data.validation']);
    for (const tag of missing) assert.match(problems[0]?.message ?? '', new RegExp(tag));
    assert.equal(await splitLabels(train, 'token_classification'), undefined, 'a raw file is left to the worker');
    assert.equal(await splitLabels(path.join(dir, 'train.jsonl'), 'question_answering'), undefined);
  });

  it("finds the default model's maximum length through the worker and flags a longer max_seq_length", async function () {
    const python = venvPython(path.join(root, '.venv'));
    needSetup(this, fs.existsSync(python), 'the venv Python (scripts/setup.sh)');
    const folder = await defaultModelFolder(python, workerEnv(root));
    assert.ok(folder, 'default-model printed an existing folder');
    const max = modelMaxPositions(folder);
    const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as { max_position_embeddings: number };
    assert.equal(max, config.max_position_embeddings);
    const over = buildSpec({ task: 'sequence_classification', model: 'default', train: 't', training: { max_seq_length: (max as number) * 2 } });
    assert.deepEqual(preflight({ spec: over, pythonPath: python, modelMaxLength: max }).map((p) => p.field), ['training.max_seq_length']);
    const fine = buildSpec({ task: 'sequence_classification', model: 'default', train: 't', training: { max_seq_length: max } });
    assert.deepEqual(preflight({ spec: fine, pythonPath: python, modelMaxLength: max }), []);
    assert.equal(modelMaxPositions('bert-base-uncased'), undefined, 'a hub id: unknown, not guessed');
  });
});
