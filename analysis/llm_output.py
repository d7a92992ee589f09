"""What the LLM must answer: a tight pydantic model whose JSON schema constrains decoding.

Tight means the server's grammar leaves no room for junk: ``additionalProperties: false``
everywhere, enums for labels, bounds for scores and ``maxLength`` on every string and list.
The bounds also cap the longest possible answer (about 3,500 characters) so that it fits
``max_output_tokens`` and is never cut off mid-JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yuqing.contracts import Sentiment

Quote = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Keyword = Annotated[str, StringConstraints(min_length=1, max_length=20)]
# Two decimals: an unbounded number lets a weak model write digits until max_tokens runs out.
Score = Annotated[float, Field(ge=-1, le=1, multiple_of=0.01)]
EntityType = Literal["ORG", "PER", "LOC", "PRODUCT"]
Risk = Literal["low", "medium", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMTarget(_Strict):
    name: Name
    sentiment: Sentiment
    score: Score
    quotes: list[Quote] = Field(max_length=2)


class LLMEntity(_Strict):
    text: Name
    type: EntityType


class LLMOutput(_Strict):
    sentiment: Sentiment
    score: Score
    targets: list[LLMTarget] = Field(max_length=8)
    entities: list[LLMEntity] = Field(max_length=20)
    keywords: list[Keyword] = Field(max_length=8)
    summary: Annotated[str, StringConstraints(max_length=120)]
    quotes: list[Quote] = Field(max_length=3)
    risk: Risk


def output_schema() -> dict[str, Any]:
    return LLMOutput.model_json_schema()


def response_format() -> dict[str, Any]:
    """The OpenAI ``response_format`` that vLLM turns into a decoding grammar."""
    return {"type": "json_schema", "json_schema": {"name": "yuqing_analysis", "schema": output_schema(), "strict": True}}
