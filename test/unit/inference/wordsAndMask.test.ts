import * as assert from 'node:assert/strict';
import { continuesWord, tokenWindows } from '../../../src/core/inference/engine';
import type { Encoded } from '../../../src/core/inference/tokenizer';
import { respellMask } from '../../../src/core/inference/tokenizerInfo';

/** An encoding of byte-level BPE tokens (no "##" anywhere): words say which pieces belong together. */
function bpe(tokens: string[], words: (number | null)[]): Encoded {
  let at = 0;
  const spans = tokens.map((t, i) => {
    if (words[i] === null) return null;
    const text = t.replace(/^Ġ/, ' ');
    const start = at + (text.startsWith(' ') ? 1 : 0);
    at += text.length;
    return [start, at] as const;
  });
  return { ids: tokens.map((_, i) => i), typeIds: tokens.map(() => 0), tokens, spans, segments: words.map((w) => (w === null ? null : 0)), words };
}

describe('words and mask spellings for every tokenizer type', () => {
  it('a piece continues a word when the tokenizer gives it the same word id, whatever it is spelt like', () => {
    const enc = bpe(['<s>', 'Rey', 'kj', 'av', 'ĠIceland', '</s>'], [null, 0, 0, 0, 1, null]);
    assert.deepEqual(enc.tokens.map((_, i) => continuesWord(enc, i)), [false, false, true, true, false, false]);
  });

  it('windows of a BPE encoding start at words (never inside "Reykjavík"), [CLS]/[SEP] in each', () => {
    const tokens = ['<s>', 'The', 'Ġcity', 'ĠRey', 'kj', 'av', 'ik', 'Ġis', 'Ġcold', '</s>'];
    const enc = bpe(tokens, [null, 0, 1, 2, 2, 2, 2, 3, 4, null]);
    const windows = tokenWindows(enc, 6); // room for 4 text tokens: "The city Rey kj" would cut the word
    assert.deepEqual(windows.map((w) => w.tokens), [['<s>', 'The', 'Ġcity', '</s>'], ['<s>', 'ĠRey', 'kj', 'av', 'ik', '</s>'], ['<s>', 'Ġis', 'Ġcold', '</s>']]);
    assert.deepEqual(windows.flatMap((w) => w.tokens.slice(1, -1)), tokens.slice(1, -1), 'every token once, in order');
  });

  it('reads [MASK] as <mask> (and back), mapping the span onto the text as written', () => {
    const text = 'Paris is the [MASK] of France, not [MASK].';
    const r = respellMask(text, '<mask>');
    assert.equal(r.text, 'Paris is the <mask> of France, not <mask>.');
    assert.equal(r.other, '[MASK]');
    const at = r.text.indexOf('<mask>');
    assert.deepEqual(r.toOriginal([at, at + 6]), [text.indexOf('[MASK]'), text.indexOf('[MASK]') + 6]);
    // A mask token of another length: spans after it shift back.
    const long = respellMask('a [MASK] b [MASK] c', '<longmask>');
    assert.equal(long.text, 'a <longmask> b <longmask> c');
    const second = long.text.lastIndexOf('<longmask>');
    assert.deepEqual(long.toOriginal([second, second + 10]), [11, 17]);
    assert.equal('a [MASK] b [MASK] c'.slice(11, 17), '[MASK]');
    assert.equal(respellMask('has <mask> already', '<mask>').other, undefined);
    assert.equal(respellMask('no mask', '[MASK]').other, undefined);
  });
});
