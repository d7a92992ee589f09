"""LoRA fine-tuning on the SFT data from ``yuqing export-sft`` (a GPU job; the code path runs on CPU)."""
