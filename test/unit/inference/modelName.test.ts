// Model names in the editor's messages and annotations: a run's own name, from any of its folders.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { entitySummary, modelDisplayName } from '../../../src/core/inference/modelName';

describe('model display names', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-model-name-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names a run by its spec's name, from the run, its onnx/ or its model/ folder", () => {
    const run = path.join(dir, 'runs', '20261130-ner-conll-ab12');
    fs.mkdirSync(path.join(run, 'onnx'), { recursive: true });
    fs.mkdirSync(path.join(run, 'model'));
    fs.writeFileSync(path.join(run, 'spec.json'), JSON.stringify({ name: 'CoNLL NER, lr 3e-5', task: 'token_classification' }));
    for (const f of [run, path.join(run, 'onnx'), path.join(run, 'model')]) assert.equal(modelDisplayName(f), 'CoNLL NER, lr 3e-5');
  });

  it('falls back to the folder name without a spec, or with an unnamed or broken one', () => {
    const plain = path.join(dir, 'my-exported-model');
    fs.mkdirSync(plain);
    assert.equal(modelDisplayName(plain), 'my-exported-model');
    fs.writeFileSync(path.join(plain, 'spec.json'), '{"name": ""}');
    assert.equal(modelDisplayName(plain), 'my-exported-model');
    fs.writeFileSync(path.join(plain, 'spec.json'), '{not json');
    assert.equal(modelDisplayName(path.join(plain) + path.sep), 'my-exported-model');
  });

  it('summarises entities most frequent first, and says when there are none', () => {
    assert.equal(entitySummary(new Map([['LOC', 4], ['PER', 5], ['ORG', 4]])), '13 entities: PER 5, LOC 4, ORG 4');
    assert.equal(entitySummary(new Map([['MISC', 1]])), '1 entity: MISC 1');
    assert.equal(entitySummary(new Map()), '0 entities');
  });
});
