import * as assert from 'node:assert/strict';
import { checkTrainingChanges } from '../../../src/core/runs/launch';
import { buildSpec, parseChanges, preflight } from '../../../src/core/runs/spec';

describe('spec and preflight', () => {
  const spec = buildSpec({ task: 'sequence_classification', model: 'default', train: 't.jsonl', validation: 'v.jsonl', training: { eval_steps: 500 } });

  it('fills per-task defaults and lets the user override them', () => {
    assert.equal(spec.training.eval_steps, 500);
    assert.equal(spec.training.metric_for_best_model, 'accuracy');
    assert.equal(buildSpec({ task: 'question_answering', model: 'm', train: 't' }).training.doc_stride, 128);
  });

  it('catches what would waste a run, naming the field', () => {
    const bad = buildSpec({ task: 'token_classification', model: 'm', train: 't', validation: 'v', training: { metric_for_best_model: 'accuracy_top5', max_seq_length: 1024, eval_steps: 100 } });
    const problems = preflight({ spec: bad, trainLabels: new Set(['O', 'B-PER']), validationLabels: new Set(['O', 'B-PER', 'B-LOC']), modelMaxLength: 512 });
    const fields = problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['data.validation', 'python', 'training.max_seq_length', 'training.metric_for_best_model']);
    assert.match(problems.find((p) => p.field === 'data.validation')?.message ?? '', /B-LOC/);
  });

  it('names a device the worker does not know', () => {
    const mps = buildSpec({ task: 'mlm', model: 'default', train: 't', device: 'mps' });
    assert.deepEqual(preflight({ spec: mps, pythonPath: 'python' }).map((p) => p.field), ['device']);
    assert.deepEqual(preflight({ spec: { ...mps, device: 'cuda:1' }, pythonPath: 'python' }), []);
  });

  it('refuses more frozen layers than the model has, naming the count', () => {
    const deep = buildSpec({ task: 'sequence_classification', model: 'default', train: 't.jsonl', training: { freeze_layers: 7 } });
    const problems = preflight({ spec: deep, pythonPath: 'python', modelLayers: 6 });
    assert.deepEqual(problems.map((p) => p.field), ['training.freeze_layers']);
    assert.match(problems[0].message, /more than the model's 6 encoder layers; use at most 6/);
    assert.deepEqual(preflight({ spec: { ...deep, training: { ...deep.training, freeze_layers: 6 } }, pythonPath: 'python', modelLayers: 6 }), []);
  });

  it('passes a sound spec', () => {
    assert.deepEqual(preflight({ spec, pythonPath: '/usr/bin/python3', modelMaxLength: 512 }), []);
  });

  it('parses "duplicate with changes" edits into typed training fields', () => {
    assert.deepEqual(parseChanges('learning_rate=3e-5, num_train_epochs = 2, bf16=false, name=x'), { learning_rate: 3e-5, num_train_epochs: 2, bf16: false, name: 'x' });
    assert.equal(parseChanges('learning rate 3e-5'), undefined);
    assert.deepEqual(parseChanges(''), {});
  });

  it('"__proto__=…" in edits is an unknown field the checks name, never the object\'s prototype', () => {
    const changes = parseChanges('__proto__=1, learning_rate=3e-5');
    assert.ok(changes);
    assert.equal(Object.getPrototypeOf(changes), Object.prototype);
    assert.deepEqual(Object.keys(changes), ['__proto__', 'learning_rate']);
    assert.ok(checkTrainingChanges('sequence_classification', changes).some((p) => p.message.includes('__proto__')));
  });

  it('a multi-label classification spec sets data.multi_label and picks the best model by micro_f1', () => {
    const multi = buildSpec({ task: 'sequence_classification', model: 'default', train: 't.jsonl', multiLabel: true });
    assert.equal(multi.data.multi_label, true);
    assert.equal(multi.training.metric_for_best_model, 'micro_f1');
    assert.deepEqual(preflight({ spec: multi, pythonPath: 'python' }), []);
    const single = buildSpec({ task: 'sequence_classification', model: 'default', train: 't.jsonl', training: { metric_for_best_model: 'micro_f1' } });
    assert.equal(single.data.multi_label, undefined);
    assert.deepEqual(preflight({ spec: single, pythonPath: 'python' }).map((p) => p.field), ['training.metric_for_best_model']);
    const wrong = buildSpec({ task: 'sequence_classification', model: 'default', train: 't.jsonl', multiLabel: true, training: { metric_for_best_model: 'f1' } });
    assert.match(preflight({ spec: wrong, pythonPath: 'python' })[0].message, /multi-label.*micro_f1/);
  });
});
