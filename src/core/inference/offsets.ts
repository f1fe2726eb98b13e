/**
 * Character offsets of tokens in the ORIGINAL text, in the unit VS Code positions use.
 *
 * The Hugging Face `tokenizers` library reports offsets in Unicode code points of the original text
 * (Python string indices), whatever its normalizer did; JavaScript strings and VS Code positions
 * count UTF-16 code units, where an emoji or a CJK character beyond U+FFFF takes two. These helpers
 * convert between the two so that emoji, surrogate pairs, combining accents and "\r\n" map back exactly.
 */

/** [start, end) in UTF-16 code units of the original text. */
export type Span = readonly [number, number];

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * A function from a code-point offset in `text` to its UTF-16 offset (the identity when the text has
 * no surrogates). Offsets past the end map to the text's length. A lone surrogate counts as one code
 * point, as the string iterator (and `tokenizers`, which sees U+FFFD in its place) counts it.
 */
export function codePointToUtf16(text: string): (offset: number) => number {
  if (!SURROGATE.test(text)) return (offset) => Math.min(offset, text.length);
  const starts: number[] = [];
  let i = 0;
  for (const c of text) {
    starts.push(i);
    i += c.length;
  }
  starts.push(text.length);
  return (offset) => starts[Math.min(offset, starts.length - 1)];
}

/** Whether the UTF-16 unit at `i` is whitespace as /\s/ reads it (printable ASCII answered without the regex). */
function isSpaceAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return !(c > 0x20 && c < 0x7f) && /\s/.test(text[i]);
}

/**
 * The span without the whitespace at its ends (a Metaspace token's offsets may cover the space
 * before its word); `span` itself when it has none.
 */
export function trimSpan(text: string, span: Span): Span {
  let [start, end] = span;
  while (start < end && isSpaceAt(text, start)) start++;
  while (end > start && isSpaceAt(text, end - 1)) end--;
  return start === span[0] && end === span[1] ? span : [start, end];
}
