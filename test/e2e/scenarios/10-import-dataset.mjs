// Import a shared dataset (SST-2 sample and a broken TSV): Problems panel shows the broken lines,
// the Datasets view lists it with statistics.
export const scenario = {
  name: 'import a dataset: diagnostics in Problems, statistics in the Datasets view',
  pending: 'not written yet: the datasets view landed (3677d74) after this harness; drive its import quick picks here',
  async run({ page, h }) {
    await h.runCommand(page, 'BERT Studio: Import Dataset…');
    // TODO when the feature lands: pick data/sst2-sample.tsv and data/broken.tsv (fixture workspace),
    // expect Problems entries for broken.tsv lines 4–6, the dataset row in the Datasets view, the
    // statistics view; screenshot 'dataset-statistics'.
    throw new Error('not written yet');
  },
};
