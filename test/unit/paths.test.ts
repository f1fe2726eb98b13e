import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { packageRoot, studioLayout } from '../../src/core/paths';

describe('paths', () => {
  it('puts datasets and runs under the studio folder', () => {
    const l = studioLayout('/ws', '.bert-studio');
    assert.equal(l.datasetsDir, path.join('/ws', '.bert-studio', 'datasets'));
    assert.equal(l.runsDir, path.join('/ws', '.bert-studio', 'runs'));
  });
  it('finds the package root from bundled and compiled locations', () => {
    assert.equal(packageRoot(path.join('/x', 'ext', 'dist')), path.join('/x', 'ext'));
    assert.equal(packageRoot(path.join('/x', 'ext', 'out', 'src', 'core')), path.join('/x', 'ext'));
  });
});
