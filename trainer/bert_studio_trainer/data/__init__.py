"""Reading datasets: the host's snapshot JSONL and the raw formats (GLUE TSV, CoNLL, SQuAD JSON)."""
