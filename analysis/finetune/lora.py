"""Train a LoRA adapter for the analysis model on ``yuqing export-sft`` data.

    python -m analysis.finetune.lora --data sft.jsonl --base-model /models/Qwen2.5-7B-Instruct --output adapters/yuqing-v1

The adapter directory (``adapter_config.json`` + ``adapter_model.safetensors``) is what vLLM
serves with ``--enable-lora --lora-modules yuqing=/path/to/adapter``; point Yuqing at it with
``YQ_LLM__MODEL=yuqing``. Only the assistant's answer is learned (prompt tokens are masked),
with the same system and user prompts the analyzer sends. Needs ``pip install 'yuqing[local-llm]'``
and, for a 7B model, a GPU (bf16); tests run it on CPU with a tiny random model.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
IGNORE = -100  # label id the loss skips


@dataclass
class LoraOptions:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    learning_rate: float = 2e-4
    epochs: float = 2.0
    max_steps: int | None = None
    batch_size: int = 4
    max_length: int = 4096
    seed: int = 42


def read_sft(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            turns = record.get("conversations") or []
            if len(turns) < 2 or turns[-1].get("from") != "assistant":
                raise ValueError(f"{path}:{number}: a record needs conversations ending with the assistant's answer")
            records.append(record)
    if not records:
        raise ValueError(f"{path} holds no SFT records; run `yuqing export-sft` first")
    return records


def encode(record: dict[str, Any], tokenizer: Any, max_length: int) -> tuple[list[int], list[int]] | None:
    """Token ids and labels with everything but the assistant's answer masked; None if too long."""
    roles = {"user": "user", "assistant": "assistant", "system": "system"}
    messages = [{"role": "system", "content": record["system"]}] if record.get("system") else []
    messages += [{"role": roles[t["from"]], "content": t["value"]} for t in record["conversations"]]
    prompt_ids = _ids(tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True))
    full_ids = _ids(tokenizer.apply_chat_template(messages, tokenize=True))
    if len(full_ids) > max_length or full_ids[: len(prompt_ids)] != prompt_ids:
        return None
    return full_ids, [IGNORE] * len(prompt_ids) + full_ids[len(prompt_ids) :]


def _ids(encoded: Any) -> list[int]:
    # transformers 5 returns a BatchEncoding from apply_chat_template(tokenize=True)
    return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)


def train(data: Path, base_model: Path, output: Path, options: LoraOptions | None = None) -> dict[str, Any]:
    """Train and save the adapter; returns the loss at the first and last step and the step count."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    options = options or LoraOptions()
    random.seed(options.seed)
    torch.manual_seed(options.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_model, local_files_only=True)
    examples = [e for r in read_sft(data) if (e := encode(r, tokenizer, options.max_length))]
    if not examples:
        raise ValueError(f"every record in {data} is longer than --max-length {options.max_length} tokens")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base_model, local_files_only=True, dtype=dtype).to(device)
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [m for m in options.target_modules if m in present]
    config = LoraConfig(r=options.rank, lora_alpha=options.alpha, lora_dropout=options.dropout, target_modules=targets, task_type="CAUSAL_LM")
    with warnings.catch_warnings():
        # peft 0.21 still asks transformers 5 for a renamed property; nothing for a user to act on.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = get_peft_model(model, config)
    model.train()
    optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=options.learning_rate)
    steps_per_epoch = math.ceil(len(examples) / options.batch_size)
    total = options.max_steps or max(1, math.ceil(steps_per_epoch * options.epochs))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    losses: list[float] = []
    order: list[int] = []
    for step in range(total):
        if not order:
            order = list(range(len(examples)))
            random.shuffle(order)
        batch = [examples[order.pop()] for _ in range(min(options.batch_size, len(order)))]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in batch], device=device)
        labels = torch.tensor([lab + [IGNORE] * (width - len(lab)) for _, lab in batch], device=device)
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in batch], device=device)
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        logger.info("step %d/%d loss %.4f", step + 1, total, losses[-1])
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    summary = {"examples": len(examples), "steps": total, "first_loss": losses[0], "last_loss": losses[-1], "target_modules": targets}
    (output / "yuqing_training.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m analysis.finetune.lora", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="SFT JSONL from `yuqing export-sft`")
    parser.add_argument("--base-model", type=Path, required=True, help="local Hugging Face model directory (the model vLLM serves)")
    parser.add_argument("--output", type=Path, required=True, help="adapter directory to write")
    defaults = LoraOptions()
    parser.add_argument("--rank", type=int, default=defaults.rank)
    parser.add_argument("--alpha", type=int, default=defaults.alpha)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--epochs", type=float, default=defaults.epochs)
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--max-length", type=int, default=defaults.max_length, help="longer examples are skipped")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    options = LoraOptions(
        rank=args.rank, alpha=args.alpha, learning_rate=args.learning_rate, epochs=args.epochs,
        max_steps=args.max_steps, batch_size=args.batch_size, max_length=args.max_length,
    )
    summary = train(args.data, args.base_model, args.output, options)
    logger.info("adapter written to %s: %s", args.output, json.dumps(summary))


if __name__ == "__main__":
    main()
