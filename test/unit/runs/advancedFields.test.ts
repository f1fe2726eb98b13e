// The New Training Run wizard's training fields without the editor: the steps and their titles,
// the advanced editor's document and schema, and the checks of typed text, which must say what
// launch.ts says (one set of rules) and build the same spec as buildSpec.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  advancedDocument,
  advancedFieldNames,
  changedFields,
  checkAdvancedText,
  crossFieldProblems,
  fieldFromText,
  fieldPrompt,
  hasErrors,
  lengthFromText,
  lengthText,
  menuFields,
  STEP_FIELDS,
  trainingSchema,
  typedChanges,
  WIZARD_STEPS,
  wizardTitle,
  wizardTraining,
} from '../../../src/core/runs/advancedFields';
import { checkTrainingChanges, fieldRequirement, trainingFieldNames, TRAINING_FIELDS } from '../../../src/core/runs/launch';
import { TASKS, type Task } from '../../../src/core/runs/protocol';
import { buildSpec, defaultTraining, preflight } from '../../../src/core/runs/spec';
import { REPO } from '../security/helpers';

const SCHEMA = './x.schema.json';

/** The advanced document of `task` with `edit` applied to its JSON object (the comment lines kept). */
function edited(task: Task, edit: (o: Record<string, unknown>) => void, multiLabel = false): string {
  const text = advancedDocument(task, SCHEMA, {}, multiLabel);
  const start = text.indexOf('{');
  const o = JSON.parse(text.slice(start)) as Record<string, unknown>;
  edit(o);
  return `${text.slice(0, start)}${JSON.stringify(o, null, 2)}\n`;
}

/** The text a problem points at. */
const at = (text: string, p: { offset: number; length: number }): string => text.slice(p.offset, p.offset + p.length);

describe('New Training Run: the wizard\'s training fields', () => {
  it('numbers its steps from one list, so "(n/N)" matches the steps shown', () => {
    const titles = WIZARD_STEPS.map((s) => wizardTitle(s));
    assert.deepEqual(titles.map((t) => /\((\d+)\/(\d+)\)/.exec(t)?.slice(1).map(Number)), WIZARD_STEPS.map((_, i) => [i + 1, WIZARD_STEPS.length]));
    assert.equal(wizardTitle('num_train_epochs'), `New Training Run (4/${WIZARD_STEPS.length}): num_train_epochs`);
    assert.equal(wizardTitle('other training fields', 'doc_stride'), `New Training Run (${WIZARD_STEPS.indexOf('other training fields') + 1}/${WIZARD_STEPS.length}): doc_stride`);
    assert.throws(() => wizardTitle('no such step'), /no step "no such step"/);
    // The steps, and the names scripts find them by, are those of the wizard before the advanced editor.
    assert.deepEqual(WIZARD_STEPS, ['task', 'base model', 'dataset snapshot', 'num_train_epochs', 'learning_rate', 'per_device_train_batch_size', 'other training fields', 'device']);
    // No title counts by hand: every wizard title comes from wizardTitle.
    const dir = path.join(REPO, 'src', 'vscode', 'runs');
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      assert.doesNotMatch(text, /New Training Run \(\$?\{?\w*\}?\d*\//, `${f} numbers a step by hand`);
      for (const m of text.matchAll(/wizardTitle\('([^']+)'/g)) assert.ok(WIZARD_STEPS.includes(m[1]), `${f}: wizardTitle('${m[1]}') is no step`);
    }
    // Each field step is in the list, in STEP_FIELDS's order.
    assert.deepEqual(WIZARD_STEPS.filter((s) => (STEP_FIELDS as readonly string[]).includes(s)), [...STEP_FIELDS]);
  });

  it('asks every field of every task exactly once: a step, the task\'s own items, or the advanced editor', () => {
    for (const task of TASKS) {
      for (const multiLabel of [false, true]) {
        const asked = [...STEP_FIELDS, 'max_steps', ...menuFields(task, multiLabel), ...advancedFieldNames(task, multiLabel)];
        assert.deepEqual([...asked].sort(), trainingFieldNames(task).sort(), `${task}${multiLabel ? ' multi-label' : ''}`);
        assert.equal(new Set(asked).size, asked.length, `${task}: a field asked twice`);
      }
    }
    assert.ok(TASKS.every((t) => menuFields(t)[0] === 'max_seq_length'), 'the sequence length first, for every task');
    assert.ok(menuFields('mlm').includes('whole_word_masking'));
    assert.ok(menuFields('sequence_classification', true).includes('threshold') && !menuFields('sequence_classification').includes('threshold'));
  });

  it('shows each field\'s meaning, rule and the task\'s default in its prompt', () => {
    assert.equal(fieldPrompt('mlm', 'learning_rate'), `The peak learning rate, e.g. 5e-5: ${fieldRequirement('learning_rate')}. Default 0.0001.`);
    assert.match(fieldPrompt('question_answering', 'max_seq_length'), /^Tokens per example: an integer at least 8\. Default 384\.$/);
    for (const task of TASKS) for (const name of trainingFieldNames(task)) assert.doesNotMatch(fieldPrompt(task, name), new RegExp(`^${name}:`), `${task}.${name} has no meaning to show`);
  });

  it('reads an input box as launch.ts judges it, with the same message', () => {
    assert.deepEqual(fieldFromText('mlm', 'learning_rate', ' 3e-5 '), { value: 3e-5 });
    assert.deepEqual(fieldFromText('mlm', 'learning_rate', '2'), { problem: checkTrainingChanges('mlm', { learning_rate: 2 })[0].message });
    assert.deepEqual(fieldFromText('mlm', 'learning_rate', 'fast'), { problem: checkTrainingChanges('mlm', { learning_rate: 'fast' })[0].message });
    assert.deepEqual(fieldFromText('mlm', 'whole_word_masking', 'true'), { value: true });
    assert.deepEqual(fieldFromText('mlm', 'unfreeze_schedule', '2:epoch'), { value: { every: 2, unit: 'epoch' } });
    assert.deepEqual(fieldFromText('question_answering', 'doc_stride', '0'), { problem: checkTrainingChanges('question_answering', { doc_stride: 0 })[0].message });
    assert.deepEqual(fieldFromText('mlm', 'max_seq_length', ''), { problem: `Enter ${fieldRequirement('max_seq_length')}.` });
  });

  it('takes "key=value, …" typed into the other-fields step, judged by launch.ts and preflight', () => {
    assert.equal(typedChanges('mlm', 'whole', {}), undefined, 'a filter of the items, not changes');
    assert.deepEqual(typedChanges('mlm', 'eval_steps=100, seed=7', {}), { changes: { eval_steps: 100, seed: 7 }, problems: [] });
    assert.deepEqual(typedChanges('mlm', 'lr=3e-5', {}), { problems: checkTrainingChanges('mlm', { lr: 3e-5 }).map((p) => p.message) });
    assert.match(typedChanges('mlm', 'eval_steps=', {})?.problems[0] ?? '', /^Write key=value pairs separated by commas/);
    // Across fields, with the wizard's other answers: doc_stride against max_seq_length.
    const training = { max_seq_length: 128 };
    const problems = typedChanges('question_answering', 'doc_stride=200', training)?.problems ?? [];
    assert.deepEqual(problems, crossFieldProblems('question_answering', { ...training, doc_stride: 200 }).map((p) => p.message));
    assert.match(problems[0] ?? '', /doc_stride 200 must be smaller than max_seq_length 128/);
  });

  it('takes the length of training as epochs or as "N steps" (max_steps)', () => {
    assert.deepEqual(lengthFromText('mlm', '3'), { fields: { num_train_epochs: 3, max_steps: -1 } });
    assert.deepEqual(lengthFromText('mlm', '0.5 epochs'), { fields: { num_train_epochs: 0.5, max_steps: -1 } });
    assert.deepEqual(lengthFromText('mlm', ' 500 steps'), { fields: { max_steps: 500 } });
    assert.deepEqual(lengthFromText('mlm', '0'), { problem: checkTrainingChanges('mlm', { num_train_epochs: 0 })[0].message });
    assert.deepEqual(lengthFromText('mlm', '2.5 steps'), { problem: checkTrainingChanges('mlm', { max_steps: 2.5 })[0].message });
    assert.match(lengthFromText('mlm', 'three').problem ?? '', /epochs \(e\.g\. 3\), or of optimizer steps \(e\.g\. 500 steps\)/);
    assert.equal(lengthText({ num_train_epochs: 2, max_steps: -1 }), '2');
    assert.equal(lengthText({ num_train_epochs: 2, max_steps: 300 }), '300 steps');
  });
});

describe('New Training Run: the advanced editor (JSON of the other fields)', () => {
  it('has a schema with every training field of the task, its meaning, rule and default, and no second copy of the rules', () => {
    for (const task of TASKS) {
      const schema = trainingSchema(task) as { properties: Record<string, Record<string, unknown>> };
      assert.ok(!('type' in schema), 'not even the object type: checkAdvancedText says that');
      const defaults = defaultTraining(task);
      const names = Object.keys(schema.properties).filter((n) => n !== '$schema');
      assert.deepEqual(names.sort(), trainingFieldNames(task).sort(), task);
      for (const name of names) {
        const p = schema.properties[name];
        assert.deepEqual(p.default, defaults[name] ?? null, `${task}.${name} default`);
        assert.ok(String(p.description).includes(`Must be ${fieldRequirement(name)}.`), `${task}.${name}: ${String(p.description)}`);
        // Constraints would report a mistake a second time, in other words than launch.ts's.
        for (const k of ['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'enum', 'pattern']) assert.ok(!(k in p), `${task}.${name} has "${k}"`);
      }
      // Fields of other tasks are not offered.
      for (const [name, rule] of Object.entries(TRAINING_FIELDS)) if (rule.tasks && !rule.tasks.includes(task)) assert.ok(!(name in schema.properties), `${task} offers ${name}`);
    }
    const mlm = trainingSchema('mlm') as { properties: Record<string, { examples?: unknown[] }> };
    assert.deepEqual(mlm.properties.whole_word_masking.examples, [true, false]);
    assert.ok(mlm.properties.metric_for_best_model.examples?.includes('perplexity'));
  });

  it('is pre-filled with only the task\'s other fields at their defaults, and that text has no problem', () => {
    for (const task of TASKS) {
      for (const multiLabel of [false, true]) {
        const text = advancedDocument(task, SCHEMA, {}, multiLabel);
        assert.match(text, /^\/\/ /, 'starts with how to use it');
        const check = checkAdvancedText(task, text, { steps: { num_train_epochs: 1, max_steps: -1 }, multiLabel });
        assert.deepEqual(check.problems, [], `${task}`);
        const defaults = defaultTraining(task);
        assert.deepEqual(check.values, Object.fromEntries(advancedFieldNames(task, multiLabel).map((n) => [n, defaults[n] ?? null])), task);
      }
    }
    // Values changed before (a second visit) are kept.
    const again = checkAdvancedText('mlm', advancedDocument('mlm', SCHEMA, { weight_decay: 0, freeze_layers: 2 }));
    assert.equal(again.values?.weight_decay, 0);
    assert.equal(again.values?.freeze_layers, 2);
  });

  it('puts launch.ts\'s message for a bad value on the value', () => {
    const cases: [Task, string, unknown][] = [
      ['sequence_classification', 'weight_decay', -0.1],
      ['sequence_classification', 'eval_steps', 0],
      ['token_classification', 'bf16', 'yes'],
      ['question_answering', 'n_best_size', 2.5],
      ['mlm', 'warmup_ratio', 1.5],
      ['mlm_nsp', 'unfreeze_schedule', { every: 0 }],
      ['mlm', 'report_to', 'wandb'],
      ['mlm', 'early_stopping_patience', 0],
    ];
    for (const [task, name, value] of cases) {
      const text = edited(task, (o) => (o[name] = value));
      const check = checkAdvancedText(task, text);
      assert.deepEqual(check.problems.map((p) => p.message), checkTrainingChanges(task, { [name]: value }).map((p) => p.message), `${task}.${name}`);
      assert.equal(check.problems[0].field, `training.${name}`);
      assert.deepEqual(JSON.parse(at(text, check.problems[0])), value, 'the squiggle is on the value');
      assert.ok(hasErrors(check));
    }
  });

  it('names the field an unknown name meant (launch.ts\'s aliases and typos), with a rename on the name', () => {
    const text = edited('mlm', (o) => {
      o.lr = 3e-5;
      o.fp16 = true;
      o.wieght_decay = 0;
      o.doc_stride = 64; // question_answering's
    });
    const check = checkAdvancedText('mlm', text);
    const expected = checkTrainingChanges('mlm', { lr: 3e-5, fp16: true, wieght_decay: 0, doc_stride: 64 });
    assert.deepEqual(check.problems.map((p) => p.message), expected.map((p) => p.message));
    assert.match(check.problems[0].message, /Unknown training field "lr"; did you mean learning_rate\?/);
    assert.deepEqual(check.problems.map((p) => p.rename), ['learning_rate', 'bf16', 'weight_decay', undefined]);
    assert.deepEqual(check.problems.map((p) => at(text, p)), ['"lr"', '"fp16"', '"wieght_decay"', '"doc_stride"'], 'the squiggle is on the name');
  });

  it('refuses names of the object prototype as unknown fields, and keeps them out of the prototype', () => {
    const text = '{\n  "constructor": 1,\n  "__proto__": {"seed": 1},\n  "toString": 2,\n  "": 3\n}';
    const check = checkAdvancedText('mlm', text);
    assert.deepEqual(check.problems.map((p) => p.field), ['training.constructor', 'training.__proto__', 'training.toString', 'training.']);
    assert.ok(check.problems.every((p) => p.message.startsWith('Unknown training field') && !/function|native code/.test(p.message)), check.problems.map((p) => p.message).join('\n'));
    assert.equal(Object.getPrototypeOf(check.values), Object.prototype);
    assert.equal((check.values as { seed?: unknown }).seed, undefined);
    assert.deepEqual(Object.keys(check.values ?? {}), ['constructor', '__proto__', 'toString', '']);
    assert.deepEqual(checkTrainingChanges('mlm', { constructor: 1 }).map((p) => p.field), ['training.constructor'], 'launch.ts itself');
  });

  it('says where the JSON is broken, by line and column, and what to write', () => {
    const text = advancedDocument('mlm', SCHEMA).replace('"weight_decay": 0.01,', '"weight_decay": 0.01');
    const check = checkAdvancedText('mlm', text);
    assert.equal(check.values, undefined);
    const line = text.split('\n').findIndex((l) => l.includes('"weight_decay"')) + 2; // the next field's line
    assert.equal(check.problems.length, 1);
    assert.equal(check.problems[0].message, `Line ${line}, column 3: a comma is expected between two fields.`);
    assert.equal(checkAdvancedText('mlm', '{"weight_decay": 1.}').problems[0].message, 'Line 1, column 18: a number ends too early; write e.g. 5e-5, 0.1 or 3.');
    assert.equal(checkAdvancedText('mlm', '{"seed": 01}').problems.length, 1, 'one problem, not the parser\'s cascade');
    assert.match(checkAdvancedText('mlm', '{"weight_decay": 0.1').problems[0].message, /a closing \} is expected/);
    assert.match(checkAdvancedText('mlm', '[1, 2]').problems[0].message, /one JSON object of field names and values/);
    assert.match(checkAdvancedText('mlm', '').problems[0].message, /one JSON object/);
    assert.ok(hasErrors(checkAdvancedText('mlm', '[1, 2]')));
  });

  it('refuses a field set twice, on the second', () => {
    const text = '{\n  "seed": 1,\n  "seed": 2\n}';
    const check = checkAdvancedText('mlm', text);
    assert.equal(check.problems.length, 1);
    assert.match(check.problems[0].message, /^seed is set twice; keep one of them/);
    assert.equal(check.problems[0].offset, text.lastIndexOf('"seed"'));
  });

  it('runs preflight\'s checks across fields with the steps\' answers, with its messages', () => {
    const steps = { max_seq_length: 128 };
    const text = edited('question_answering', (o) => (o.metric_for_best_model = 'accuracy'), false).replace(/\n}\n$/, ',\n  "doc_stride": 200\n}\n');
    const check = checkAdvancedText('question_answering', text, { steps });
    const spec = buildSpec({ task: 'question_answering', model: 'm', train: 't', training: { ...steps, metric_for_best_model: 'accuracy', doc_stride: 200 } });
    const expected = preflight({ spec, pythonPath: 'python' }).filter((p) => p.field.startsWith('training.'));
    assert.deepEqual(check.problems.map((p) => p.message).sort(), expected.map((p) => p.message).sort());
    assert.equal(expected.length, 2, 'the metric and doc_stride');
    assert.equal(at(text, check.problems.find((p) => p.field === 'training.doc_stride') ?? { offset: 0, length: 0 }), '200');
    // Multi-label classification computes other metrics.
    const ml = edited('sequence_classification', (o) => (o.metric_for_best_model = 'micro_f1'), true);
    assert.ok(hasErrors(checkAdvancedText('sequence_classification', ml)));
    assert.ok(!hasErrors(checkAdvancedText('sequence_classification', ml, { multiLabel: true })));
  });

  it('finds, with the steps\' answers alone, a doc_stride the new max_seq_length no longer allows', () => {
    const training = { max_seq_length: 64 };
    const problems = crossFieldProblems('question_answering', training);
    assert.deepEqual(problems, preflight({ spec: buildSpec({ task: 'question_answering', model: 'm', train: 't', training }), pythonPath: 'python' }).filter((p) => p.field.startsWith('training.')));
    assert.match(problems[0]?.message ?? '', /^doc_stride 128 must be smaller than max_seq_length 64/);
    assert.deepEqual(crossFieldProblems('question_answering', { max_seq_length: 64, doc_stride: 16 }), []);
    // In the editor it points at the start of the object when doc_stride is not in it.
    const check = checkAdvancedText('question_answering', advancedDocument('question_answering', SCHEMA), { steps: training });
    assert.deepEqual(check.problems.map((p) => p.message), problems.map((p) => p.message));
  });

  it('notes, without refusing, a field that replaces a step\'s answer', () => {
    const text = edited('mlm', (o) => (o.learning_rate = 2e-5));
    const check = checkAdvancedText('mlm', text, { steps: { learning_rate: 1e-4 } });
    assert.deepEqual(check.problems.map((p) => [p.severity, p.message]), [['info', "learning_rate 0.00002 replaces the wizard's answer (0.0001)."]]);
    assert.ok(!hasErrors(check));
    assert.equal(wizardTraining({ learning_rate: 1e-4 }, check.values ?? {}).learning_rate, 2e-5);
  });

  it('reads text values as the CLI does (unfreeze_schedule "2:epoch")', () => {
    const check = checkAdvancedText('mlm', edited('mlm', (o) => (o.unfreeze_schedule = '2:epoch')));
    assert.deepEqual(check.problems, []);
    assert.deepEqual(check.values?.unfreeze_schedule, { every: 2, unit: 'epoch' });
  });

  it('makes the spec buildSpec makes from the same fields', () => {
    for (const task of TASKS) {
      const steps = { num_train_epochs: 2, max_steps: -1, learning_rate: 3e-5, per_device_train_batch_size: 8, max_seq_length: 256 };
      const inputs = { task, model: 'default', train: 'train.jsonl' };
      // Untouched: the defaults it shows change nothing.
      const untouched = checkAdvancedText(task, advancedDocument(task, SCHEMA), { steps });
      assert.deepEqual(buildSpec({ ...inputs, training: wizardTraining(steps, untouched.values ?? {}) }), buildSpec({ ...inputs, training: steps }), task);
      // Edited: exactly the edits.
      const text = edited(task, (o) => {
        o.weight_decay = 0;
        o.seed = 7;
        o.early_stopping_patience = 3;
      });
      const check = checkAdvancedText(task, text, { steps });
      assert.deepEqual(check.problems, []);
      const training = wizardTraining(steps, check.values ?? {});
      assert.deepEqual(buildSpec({ ...inputs, training }), buildSpec({ ...inputs, training: { ...steps, weight_decay: 0, seed: 7, early_stopping_patience: 3 } }), task);
      assert.deepEqual(changedFields(task, training).filter((f) => !Object.keys(steps).some((s) => f.startsWith(`${s}=`))), ['weight_decay=0', 'seed=7', 'early_stopping_patience=3']);
    }
  });
});
