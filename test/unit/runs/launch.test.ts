import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guessDataset } from '../../../src/core/datasets/detect';
import { importDataset } from '../../../src/core/datasets/snapshot';
import { packageRoot } from '../../../src/core/paths';
import { venvPython } from '../../../src/core/python/interpreter';
import { workerEnv } from '../../../src/core/python/workerEnv';
import { checkTrainingChanges, defaultModelFolder, modelLayerCount, modelMaxPositions, splitLabels, trainingFieldNames, trainingValueFromText, trainingValueHint } from '../../../src/core/runs/launch';
import { buildSpec, parseChanges, preflight } from '../../../src/core/runs/spec';
import { DATA, tmpDir } from '../datasets/helpers';
import { needSetup } from '../needSetup';

const root = packageRoot(__dirname);

describe('training fields (Trainer-style names)', () => {
  it('are limited to their tasks', () => {
    assert.ok(trainingFieldNames('question_answering').includes('doc_stride'));
    assert.ok(!trainingFieldNames('mlm').includes('doc_stride'));
    assert.ok(trainingFieldNames('mlm_nsp').includes('nsp') && !trainingFieldNames('mlm').includes('nsp'));
  });

  it('name the field and the fix for unknown names, wrong tasks and wrong types', () => {
    assert.deepEqual(checkTrainingChanges('sequence_classification', { learning_rate: 3e-5, num_train_epochs: 2, bf16: false, early_stopping_patience: null, metric_for_best_model: 'f1' }), []);
    const problems = checkTrainingChanges('sequence_classification', { lr: 3e-5, doc_stride: 64, per_device_train_batch_size: 0, torch_compile: 'yes', learnin_rate: 1e-5 });
    assert.deepEqual(problems.map((p) => p.field), ['training.lr', 'training.doc_stride', 'training.per_device_train_batch_size', 'training.torch_compile', 'training.learnin_rate']);
    assert.match(problems[0]?.message ?? '', /did you mean learning_rate\?/);
    assert.match(problems[1]?.message ?? '', /question_answering, not sequence_classification/);
    assert.match(problems[2]?.message ?? '', /at least 1, not 0; the default is 32/);
    assert.match(problems[4]?.message ?? '', /did you mean learning_rate\?/, 'a misspelling finds its field');
  });

  it('check the range of every numeric field, with the default as the fix', () => {
    const bad: [string, unknown, RegExp][] = [
      ['num_train_epochs', 0, /over 0/],
      ['num_train_epochs', -1, /over 0/],
      ['max_steps', 0, /at least 1, or -1/],
      ['max_steps', 2.5, /an integer/],
      ['per_device_train_batch_size', 0, /at least 1/],
      ['per_device_eval_batch_size', 1.5, /whole number/],
      ['learning_rate', 0, /over 0/],
      ['learning_rate', -3e-5, /over 0/],
      ['learning_rate', 'fast', /number/],
      ['learning_rate', 5, /at most 1/],
      ['warmup_ratio', 5, /at most 1/],
      ['warmup_ratio', -0.1, /at least 0/],
      ['weight_decay', -0.01, /at least 0/],
      ['max_grad_norm', -1, /at least 0/],
      ['max_seq_length', 0, /at least 8/],
      ['max_seq_length', 4, /at least 8/],
      ['eval_steps', 0, /at least 1/],
      ['save_steps', -5, /at least 1/],
      ['logging_steps', 0, /at least 1/],
      ['save_total_limit', 0, /at least 1/],
      ['gradient_accumulation_steps', 0, /at least 1/],
      ['seed', -1, /at least 0/],
      ['seed', 2 ** 33, /at most/],
      ['early_stopping_patience', 0, /or null/],
      ['bf16', 'yes', /"auto", true or false/],
      ['torch_compile', 'always', /"auto", true or false/],
      ['group_by_length', 1, /true or false/],
      ['threshold', 1, /under 1/],
      ['threshold', 0, /over 0/],
      ['metric_for_best_model', 42, /metric name/],
      ['report_to', 'wandb', /"tensorboard", "mlflow"/],
      ['report_to', ['tensorboard', 3], /or a list of them/],
    ];
    for (const [name, value, want] of bad) {
      const problems = checkTrainingChanges('sequence_classification', { [name]: value });
      assert.equal(problems.length, 1, `${name}=${JSON.stringify(value)} is refused`);
      assert.equal(problems[0]?.field, `training.${name}`);
      assert.match(problems[0]?.message ?? '', want, `${name}=${JSON.stringify(value)}: ${problems[0]?.message}`);
      assert.match(problems[0]?.message ?? '', new RegExp(`^${name} must be`));
    }
    const qa: [string, unknown][] = [['doc_stride', 0], ['max_answer_length', 0], ['n_best_size', -1]];
    for (const [name, value] of qa) assert.equal(checkTrainingChanges('question_answering', { [name]: value }).length, 1, name);
    const mlm: [string, unknown][] = [['mlm_probability', 0], ['mlm_probability', 1], ['short_seq_prob', 1.5], ['whole_word_masking', 'no']];
    for (const [name, value] of mlm) assert.equal(checkTrainingChanges('mlm', { [name]: value }).length, 1, name);
    assert.deepEqual(checkTrainingChanges('sequence_classification', { report_to: trainingValueFromText('report_to', 'tensorboard+mlflow') }), []);
    assert.deepEqual(trainingValueFromText('report_to', 'tensorboard mlflow'), ['tensorboard', 'mlflow']);
    assert.deepEqual(checkTrainingChanges('sequence_classification', { report_to: 'none' }), []);
    assert.deepEqual(checkTrainingChanges('mlm', { mlm_probability: 0.15, short_seq_prob: 0, max_steps: -1, seed: 0, warmup_ratio: 1, max_seq_length: 8 }), []);
  });
});

describe('freezing and layer-wise learning-rate fields', () => {
  it('are checked by type and range, each problem naming the field', () => {
    const bad: [string, unknown, RegExp][] = [
      ['freeze_layers', -1, /at least 0/],
      ['freeze_layers', 1.5, /an integer/],
      ['freeze_embeddings', 'yes', /true or false/],
      ['freeze_base_model', 1, /true or false/],
      ['layerwise_lr_decay', 0, /over 0/],
      ['layerwise_lr_decay', 1.2, /at most 1/],
      ['unfreeze_schedule', { every: 0, unit: 'epoch' }, /"every": N, "unit": "epoch" or "step"/],
      ['unfreeze_schedule', { every: 1, unit: 'batch' }, /2:epoch on the command line/],
      ['unfreeze_schedule', { every: 1, units: 'step' }, /or null/],
      ['unfreeze_schedule', 'every epoch', /"every": N/],
    ];
    for (const [name, value, want] of bad) {
      const problems = checkTrainingChanges('token_classification', { [name]: value });
      assert.equal(problems.length, 1, `${name}=${JSON.stringify(value)} is refused`);
      assert.equal(problems[0]?.field, `training.${name}`);
      assert.match(problems[0]?.message ?? '', want, `${name}=${JSON.stringify(value)}: ${problems[0]?.message}`);
    }
    assert.deepEqual(checkTrainingChanges('mlm', { freeze_embeddings: true, freeze_layers: 0, freeze_base_model: false, layerwise_lr_decay: 1, unfreeze_schedule: null }), []);
    assert.deepEqual(checkTrainingChanges('question_answering', { layerwise_lr_decay: 0.8, unfreeze_schedule: { every: 100, unit: 'step' } }), []);
  });

  it('read unfreeze_schedule typed as N:epoch or N:step (the CLI and the wizard), and show the default so', () => {
    assert.deepEqual(trainingValueFromText('unfreeze_schedule', '2:epoch'), { every: 2, unit: 'epoch' });
    assert.deepEqual(trainingValueFromText('unfreeze_schedule', ' 100 : Steps '), { every: 100, unit: 'step' });
    assert.equal(trainingValueFromText('unfreeze_schedule', 'epoch:2'), 'epoch:2', 'anything else is left for the check to refuse');
    assert.equal(trainingValueFromText('freeze_layers', '2:epoch'), '2:epoch');
    const changes = parseChanges('unfreeze_schedule=1:epoch, layerwise_lr_decay=0.9, freeze_embeddings=true, freeze_layers=2');
    assert.deepEqual(changes, { unfreeze_schedule: { every: 1, unit: 'epoch' }, layerwise_lr_decay: 0.9, freeze_embeddings: true, freeze_layers: 2 });
    assert.deepEqual(checkTrainingChanges('sequence_classification', changes ?? {}), []);
    assert.equal(trainingValueHint('unfreeze_schedule', null), 'null (or 1:epoch, 100:step)');
    assert.deepEqual(trainingValueFromText('unfreeze_schedule', trainingValueHint('unfreeze_schedule', { every: 3, unit: 'step' })), { every: 3, unit: 'step' });
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
    const layers = (JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as { num_hidden_layers: number }).num_hidden_layers;
    assert.ok(layers > 0 && modelLayerCount(folder) === layers, "the model's encoder layers, from its config.json");
    assert.equal(modelLayerCount('bert-base-uncased'), undefined);
  });
});
