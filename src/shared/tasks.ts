// The training tasks, named the same in the host, the pages and the worker (spec.json `task`).

export const TASKS = ['sequence_classification', 'token_classification', 'question_answering', 'mlm', 'mlm_nsp'] as const;
export type Task = (typeof TASKS)[number];

/** How a task is named to people (the New Training Run wizard): a title and one line on what it trains. */
export const TASK_INFO: Readonly<Record<Task, { readonly title: string; readonly description: string }>> = {
  sequence_classification: { title: 'Text classification', description: 'A label (or several) per text or text pair: sentiment, topic, intent.' },
  token_classification: { title: 'Named entities (token classification)', description: 'A tag per word: people, places, organisations (CoNLL or IOB files).' },
  question_answering: { title: 'Question answering', description: 'The answer span inside a context passage (SQuAD-style JSON).' },
  mlm: { title: 'Masked-language-model pretraining', description: 'Continue pretraining on your own plain text: the model learns to fill in masked words.' },
  mlm_nsp: { title: 'Masked-LM + next-sentence pretraining', description: "BERT's original pretraining, on documents of several sentences." },
};
