"""Training and evaluation scripts for the offline analyzer (python -m analysis.training.train_ner | evaluate)."""
