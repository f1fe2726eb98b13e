"""BERT pretraining (issue #4): corpus reading, NSP pairs, masking, vocabularies, presets, and a
BERT with logits only at masked positions. Engine-independent; tasks/pretraining.py plugs it in."""
