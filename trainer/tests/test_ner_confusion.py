"""The entity-level confusion matrix of NER evaluations, on CoNLL-2003 validation sentences with
known edits: a type swapped, an entity dropped, a spurious one added, a boundary moved."""

from __future__ import annotations

from pathlib import Path

from bert_studio_trainer.data.readers import read_conll
from bert_studio_trainer.tasks.ner import entity_confusion


def test_entity_confusion_counts_each_kind_of_error(data: Path) -> None:
    records = read_conll(data / "conll2003" / "valid.txt", {})
    gold = [list(r["tags"]) for r in records[:400]]
    labels, matrix, errors = entity_confusion(gold, gold)
    assert labels[-1] == "O" and set(labels[:-1]) == {"LOC", "MISC", "ORG", "PER"}
    # Gold against itself: everything on the diagonal, no errors.
    assert all(matrix[i][j] == 0 for i in range(len(labels)) for j in range(len(labels)) if i != j)
    assert not any(errors)
    # Edits: in one sentence a PER becomes ORG, in another a LOC is dropped, in a third an O word
    # becomes a MISC entity, in a fourth an entity's first word is left out (wrong boundary).
    pred = [list(g) for g in gold]
    at = {}
    for i, g in enumerate(gold):
        if "B-PER" in g and "swap" not in at:
            at["swap"] = i
        elif "B-LOC" in g and "drop" not in at:
            at["drop"] = i
        elif all(t == "O" for t in g) and len(g) > 2 and "add" not in at:
            at["add"] = i
        elif "B-ORG" in g and "I-ORG" in g and "cut" not in at:
            at["cut"] = i
    s = at["swap"]
    k = pred[s].index("B-PER")
    pred[s][k] = "B-ORG"
    k += 1
    while k < len(pred[s]) and pred[s][k] == "I-PER":
        pred[s][k] = "I-ORG"
        k += 1
    d = at["drop"]
    k = pred[d].index("B-LOC")
    pred[d][k] = "O"
    k += 1
    while k < len(pred[d]) and pred[d][k] == "I-LOC":
        pred[d][k] = "O"
        k += 1
    pred[at["add"]][1] = "B-MISC"
    c = at["cut"]
    k = next(j for j in range(len(pred[c]) - 1) if pred[c][j] == "B-ORG" and pred[c][j + 1] == "I-ORG")
    pred[c][k], pred[c][k + 1] = "O", "B-ORG"
    labels2, m2, errors2 = entity_confusion(gold, pred)
    ix = {t: i for i, t in enumerate(labels2)}
    base = {(a, b): matrix[ix[a]][ix[b]] for a in labels for b in labels}
    delta = {(a, b): m2[ix[a]][ix[b]] - base[(a, b)] for a in labels for b in labels if m2[ix[a]][ix[b]] != base[(a, b)]}
    assert delta == {("PER", "PER"): -1, ("PER", "ORG"): 1, ("LOC", "LOC"): -1, ("LOC", "O"): 1, ("O", "MISC"): 1,
                     ("ORG", "ORG"): -1, ("ORG", "O"): 1, ("O", "ORG"): 1}
    assert errors2[at["swap"]] == [["PER", "ORG"]]
    assert errors2[at["drop"]] == [["LOC", "O"]]
    assert errors2[at["add"]] == [["O", "MISC"]]
    assert sorted(errors2[at["cut"]]) == [["O", "ORG"], ["ORG", "O"]]
