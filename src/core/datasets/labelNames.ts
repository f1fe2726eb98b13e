// Label names for classification datasets whose labels are codes (SST-2's 0/1): a map from the label
// as written in the file to the name shown everywhere after import. The snapshot's records, the
// manifest's `labels`/`label_map`/counts and therefore the trained model's `id2label` carry the
// names; the manifest keeps the map itself as `label_names` (raw → name) so re-validation and a
// re-import read the file the same way.

/** A label map that cannot be used, with the fix. */
export class LabelNamesError extends Error {}

export type LabelNames = Readonly<Record<string, string>>;

/**
 * `0=negative,1=positive` (commas or new lines between entries; `=`, a tab or `:` between label and
 * name), or a file's text: such lines, or one name per line for the labels 0, 1, 2… in order.
 */
export function parseLabelNames(text: string, where = '--label-names'): LabelNames {
  const entries = text.split(/\r?\n|,/).map((s) => s.trim()).filter((s) => s && !s.startsWith('#'));
  if (!entries.length) throw new LabelNamesError(`${where}: no label names; write them as 0=negative,1=positive.`);
  const paired = entries.map((e) => /^([^=\t:]+?)\s*[=\t:]\s*(.*)$/.exec(e));
  const names: Record<string, string> = {};
  const seen = new Map<string, string>();
  const add = (raw: string, name: string, n: number): void => {
    if (!raw) throw new LabelNamesError(`${where}: entry ${n} ("${entries[n - 1]}") has no label before the "="; write label=name, e.g. 0=negative.`);
    if (!name) throw new LabelNamesError(`${where}: label "${raw}" has an empty name; write ${raw}=NAME.`);
    if (raw in names) throw new LabelNamesError(`${where}: label "${raw}" is named twice ("${names[raw]}" and "${name}"); keep one.`);
    const other = seen.get(name);
    if (other !== undefined) throw new LabelNamesError(`${where}: labels "${other}" and "${raw}" are both named "${name}"; give each label its own name (to merge labels, edit the data).`);
    names[raw] = name;
    seen.set(name, raw);
  };
  if (paired.every((m) => m !== null)) paired.forEach((m, i) => add(m![1].trim(), m![2].trim(), i + 1));
  else if (paired.every((m) => m === null)) entries.forEach((name, i) => add(String(i), name, i + 1));
  else {
    const bad = paired.findIndex((m) => m === null);
    throw new LabelNamesError(`${where}: entry ${bad + 1} ("${entries[bad]}") is not label=name while others are; write every entry as label=name.`);
  }
  return names;
}

/** A label (or a multi-label list) under its name. */
export function renameLabel<T extends string | readonly string[] | undefined>(label: T, names: LabelNames): T {
  if (label === undefined) return label;
  if (typeof label === 'string') return (names[label] ?? label) as T;
  return (label as readonly string[]).map((l) => names[l] ?? l) as unknown as T;
}

/** A snapshot record with its label renamed (other records unchanged). */
export function renameRecord<R extends object>(record: R, names: LabelNames): R {
  const label = (record as { label?: string | string[] }).label;
  return label === undefined ? record : { ...record, label: renameLabel(label, names) };
}

/** Label counts {raw: n} as {name: n}. */
export function renameCounts(counts: Readonly<Record<string, number>>, names: LabelNames): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [names[k] ?? k, v]));
}
