// The statistics page's line on characters and unknown tokens (CJK-aware statistics, issue 13):
// characters and the share that is CJK, tokens per character, and the share of [UNK] under the chosen
// tokenizer, with a warning and its fix when the tokenizer does not know the text's characters.
import type { SplitStatistics } from '../../src/shared/datasetStats';

/** [UNK] share from which the page warns: past it the model reads a good part of the text as unknown. */
export const UNKNOWN_WARN_SHARE = 0.01;

const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : 1)}%`;
const fmt = (n: number): string => n.toLocaleString('en-US');

/** What the page shows of a split's characters and [UNK]s, or undefined when the statistics have neither. */
export function characterSummary(s: Pick<SplitStatistics, 'characters' | 'unknownTokens' | 'tokens' | 'rows'>): { text: string; warn: boolean; fix?: string } | undefined {
  const c = s.characters;
  const u = s.unknownTokens;
  if (!c && !u) return undefined;
  const parts: string[] = [];
  if (c) {
    parts.push(`${fmt(c.count)} characters${c.cjk ? `, ${pct(c.cjkShare)} CJK` : ''}`);
    const tokens = s.tokens.mean * s.rows;
    if (c.count > 0 && tokens > 0) parts.push(`${(tokens / c.count).toFixed(2)} tokens per character`);
  }
  if (u) parts.push(`${fmt(u.count)} [UNK] tokens (${pct(u.share)} of tokens)`);
  const warn = !!u && u.share >= UNKNOWN_WARN_SHARE;
  const fix = warn
    ? c && c.cjkShare > 0.2
      ? "This tokenizer does not know many of the text's characters: they all read as [UNK]. Choose a Chinese model's tokenizer (a run pretrained on Chinese text, or bert-base-chinese), or pretrain one from scratch on this text."
      : "This tokenizer reads part of the text as [UNK]: choose a model whose vocabulary covers the text's characters."
    : undefined;
  return { text: parts.join(' · '), warn, ...(fix ? { fix } : {}) };
}
