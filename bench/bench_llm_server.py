"""LLM path throughput: requests/s against a vLLM server at concurrency 1, 16 and 64, in one run.

Every level sends the same requests (the analyzer's prompt for demo articles, its JSON schema
as ``response_format``), so the ratios compare like with like; each answer is checked with
``LLMOutput.model_validate_json`` for the schema-valid rate.

    python bench/bench_llm_server.py                       # starts the CPU vLLM with the tiny random Qwen2
    python bench/bench_llm_server.py --requests 64 --levels 1,16,64
    python bench/bench_llm_server.py --url http://127.0.0.1:8000/v1 --model qwen05b

The tiny model's weights are random: it fills every string to its maxLength, so its answers are
far longer than a real model's and the absolute figures are a floor; the ratios are the point.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import openai
from pydantic import ValidationError
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.analysis.vllm_cpu, when run as a script

from analysis.llm import LLMOutput  # noqa: E402
from analysis.prompting import PromptSet  # noqa: E402
from yuqing.demo_site.catalog import load_articles, load_watchlist  # noqa: E402
from yuqing.settings import LLMSettings, WatchEntity  # noqa: E402


@dataclass
class Level:
    concurrency: int
    seconds: float
    valid: int
    finished_by_length: int
    completion_tokens: list[int]

    def rate(self, requests: int) -> float:
        return requests / self.seconds


def build_requests(n: int, max_chunk_chars: int) -> list[list[dict[str, str]]]:
    """The analyzer's messages for the first n demo articles (cycled), as the analyzer sends them."""
    watchlist = [WatchEntity(**e) for e in load_watchlist()]
    prompts = PromptSet.load(LLMSettings().prompt_version)
    system = prompts.system_message(watchlist)
    articles = load_articles()
    return [
        prompts.messages(system, a.title, a.body_text[:max_chunk_chars])
        for a in (articles[i % len(articles)] for i in range(n))
    ]


async def run_level(
    client: openai.AsyncOpenAI,
    model: str,
    requests: list[list[dict[str, str]]],
    concurrency: int,
    max_tokens: int,
    progress: Progress,
) -> Level:
    settings = LLMSettings()
    schema = LLMOutput.model_json_schema()
    in_flight = asyncio.Semaphore(concurrency)
    task = progress.add_task(f"concurrency {concurrency:>2}", total=len(requests))
    level = Level(concurrency, 0.0, 0, 0, [])

    async def one(messages: list[dict[str, str]]) -> None:
        async with in_flight:
            response = await client.chat.completions.create(
                model=model,
                messages=messages,  # type: ignore[arg-type]
                temperature=settings.temperature,
                top_p=settings.top_p,
                max_tokens=max_tokens,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "analysis", "schema": schema, "strict": True},
                },
                extra_body={"repetition_penalty": settings.repetition_penalty},
            )
        choice = response.choices[0]
        level.finished_by_length += choice.finish_reason == "length"
        level.completion_tokens.append(response.usage.completion_tokens if response.usage else 0)
        try:
            LLMOutput.model_validate_json(choice.message.content or "")
            level.valid += 1
        except ValidationError:
            pass
        progress.advance(task)

    started = time.perf_counter()
    await asyncio.gather(*(one(m) for m in requests))
    level.seconds = time.perf_counter() - started
    return level


async def run_all(
    url: str, model: str, requests: list[list[dict[str, str]]], levels: list[int], rounds: int, max_tokens: int
) -> list[Level]:
    client = openai.AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0, timeout=3600)
    try:
        # One warm-up request: the first one compiles the grammar and fills the prefix cache.
        with Progress(transient=True) as progress:
            await run_level(client, model, requests[:1], 1, max_tokens, progress)
        results = []
        with Progress() as progress:
            # Rounds interleave the levels, so a burst of load from other jobs hits every level alike.
            for _ in range(rounds):
                for concurrency in levels:
                    results.append(await run_level(client, model, requests, concurrency, max_tokens, progress))
        return results
    finally:
        await client.close()


def report(results: list[Level], n: int, levels: list[int]) -> None:
    print(f"requests per level and round: {n}")
    print(
        f"{'concurrency':>11} {'req/s':>7} {'out tok/s':>9} {'mean out tok':>12} "
        f"{'schema-valid':>12} {'cut by max_tokens':>17}"
    )
    for level in results:
        tokens = sum(level.completion_tokens)
        print(
            f"{level.concurrency:>11} {level.rate(n):>7.2f} {tokens / level.seconds:>9.0f} "
            f"{statistics.mean(level.completion_tokens):>12.0f} {level.valid / n:>11.0%} {level.finished_by_length:>17}"
        )
    median = {c: statistics.median(r.rate(n) for r in results if r.concurrency == c) for c in levels}
    for concurrency in levels[1:]:
        print(
            f"concurrency {concurrency} vs {levels[0]}: {median[concurrency] / median[levels[0]]:.1f}x requests/s"
            + (" (medians over rounds)" if len(results) > len(levels) else "")
        )
    total_valid = sum(level.valid for level in results)
    print(f"schema-valid overall: {total_valid}/{n * len(results)} ({total_valid / (n * len(results)):.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an OpenAI-compatible server (default: start the CPU vLLM with the tiny model)")
    parser.add_argument("--model", default=None, help="served model name (default: tiny-qwen2)")
    parser.add_argument("--requests", type=int, default=32, help="requests at each level (default 32)")
    parser.add_argument("--levels", default="1,16,64", help="comma-separated concurrency levels (default 1,16,64)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat all levels, interleaved; ratios of medians (default 1)"
    )
    parser.add_argument(
        "--max-tokens", type=int, default=None, help="per answer (default: the analyzer's max_output_tokens)"
    )
    args = parser.parse_args()
    levels = list(dict.fromkeys(int(x) for x in args.levels.split(",")))
    settings = LLMSettings()
    max_tokens = args.max_tokens or settings.max_output_tokens
    requests = build_requests(args.requests, settings.max_chunk_chars)

    with ExitStack() as stack:
        url, model = args.url, args.model
        if url is None:
            from tests.analysis.vllm_cpu import TINY_MODEL_NAME, VLLMServer, ensure_tiny_model, ensure_venv

            python = ensure_venv()
            started = time.perf_counter()
            server = stack.enter_context(
                VLLMServer(ensure_tiny_model(), TINY_MODEL_NAME, python=python, max_num_seqs=max(levels))
            )
            print(
                f"vLLM (CPU, tiny random Qwen2) started in {time.perf_counter() - started:.0f}s; log {server.log_path}"
            )
            url, model = server.base_url, model or TINY_MODEL_NAME
        results = asyncio.run(run_all(url, model or "tiny-qwen2", requests, levels, args.rounds, max_tokens))
    report(results, args.requests, levels)


if __name__ == "__main__":
    main()
