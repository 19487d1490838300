"""Own-history runs of a task asked turn by turn: the model's own earlier answers are the conversation so far.

lmms-eval asks each row once, so a conversation row there carries the gold history (the true
earlier turns). An assistant in use hears its own answers instead, and stops at a wrong verdict;
the task declares that loop (:attr:`~lego_arta.tasks.spec.TaskSpec.own_history`, guide's is
:func:`lego_arta.tasks.guide.own_history_answers`) over a ``respond`` callable. This module supplies
one for an in-process Hugging Face chat model (a Hub folder such as the tiny LLaVA of
:mod:`lego_arta.models.tiny_vlm`) and one for an OpenAI-compatible chat endpoint (a served model:
``transformers serve``, vLLM, a paid API), and writes the answers as a predictions file that
``lego-arta score`` reads; every line records the mode (``"mode": "own_history"``).

>>> chat_messages([], [("Is it right?", "No.")], "Which piece?")[-1]
{'role': 'user', 'content': [{'type': 'text', 'text': 'Which piece?'}]}
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lego_arta.atomic import atomic_write_text
from lego_arta.evaluation.built_splits import iter_images, read_columns
from lego_arta.harness.api_retry import Failure, RetryPolicy, call_with_retries
from lego_arta.harness.api_usage import Usage
from lego_arta.harness.request_journal import Answer, RequestJournal, request_key
from lego_arta.harness.stored_images import png_data_url
from lego_arta.tasks import get_task
from lego_arta.tasks.spec import OwnHistory, Respond

logger = logging.getLogger(__name__)
#: The journal of a converse run's answered turns, beside its predictions: ``OUT/<name>-<task>`` + this.
JOURNAL_SUFFIX = ".requests.jsonl"


def chat_messages(images: Sequence[Any], history: Sequence[tuple[str, str]], query: str) -> list[dict[str, Any]]:
    """One chat: the images with the first query, each earlier answer as the assistant's, then ``query``."""
    messages: list[dict[str, Any]] = []
    shown: list[Any] = list(images)
    for asked, answered in [*history, (query, None)]:
        content = [{"type": "image", "image": image} for image in shown] + [{"type": "text", "text": asked}]
        messages.append({"role": "user", "content": content})
        shown = []
        if answered is not None:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answered}]})
    return messages


def hf_chat(model_dir: Path | str, *, max_new_tokens: int = 64, device: str = "cpu") -> Respond:
    """A greedy chat turn of a local image-text-to-text model (its processor's chat template)."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir).to(device).eval()

    def respond(images: Sequence[Any], history: Sequence[tuple[str, str]], query: str) -> str:
        inputs = processor.apply_chat_template(
            chat_messages(images, history, query), add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
        ).to(device)
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        return processor.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()

    return respond


def _data_url(image: Any) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return png_data_url(buffer.getvalue())


def openai_chat(
    base_url: str,
    model: str,
    *,
    api_key_env: str = "OPENAI_API_KEY",
    max_tokens: int = 64,
    timeout: float = 300.0,
    policy: RetryPolicy | None = None,
    journal: RequestJournal | None = None,
    usage: Usage | None = None,
    task: str = "",
) -> Respond:
    """A greedy chat turn of an OpenAI-compatible endpoint (``POST <base_url>/chat/completions``, images as
    PNG data URLs), such as ``transformers serve`` or a paid API; the key, if any, comes from ``api_key_env``.

    Each turn goes through the retry loop the served model uses (:func:`~lego_arta.harness.api_retry.call_with_retries`
    under ``policy``: 429, 5xx and dropped connections are retried, waiting what ``Retry-After`` asks;
    any other 4xx fails at once). With a ``journal``, every answered turn is appended to it (fsynced)
    before the next turn is asked, under :func:`~lego_arta.harness.request_journal.request_key` of the
    request body (model, messages with their images, settings; never the key), and a turn whose
    request is journalled is answered from there without a request: a killed run, run again, asks
    only the turns it had not been answered. ``usage`` counts requests, retries, resumed turns and tokens.
    """
    policy = policy or RetryPolicy()
    usage = usage if usage is not None else Usage()
    url = base_url.rstrip("/") + "/chat/completions"
    rng = random.Random(0)

    def post(body: bytes) -> dict[str, Any]:
        usage.requests += 1
        headers = {"Content-Type": "application/json"}
        if os.environ.get(api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[api_key_env]}"
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method="POST"), timeout=timeout) as answer:
            raw = answer.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not parsed.get("choices"):
            raise ValueError(f"POST {url}: an answer that is not a chat completion (no choices): {_shown(raw)}")
        return parsed

    def retrying(attempt: int, failure: Failure, wait: float) -> None:
        usage.retries += 1
        logger.info("POST %s: attempt %d got %s; retrying in %.2f s", url, attempt + 1, failure.status or "no answer", wait)

    def respond(images: Sequence[Any], history: Sequence[tuple[str, str]], query: str) -> str:
        messages = chat_messages(images, history, query)
        for message in messages:
            message["content"] = [
                {"type": "image_url", "image_url": {"url": _data_url(part["image"])}} if part["type"] == "image" else part
                for part in message["content"]
            ]
        payload = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}
        key = request_key(payload)
        known = journal.get(key) if journal is not None else None
        if known is not None:
            usage.resumed += 1
            return known.text.strip()
        body = json.dumps(payload).encode("utf-8")
        started, before = time.monotonic(), usage.requests
        try:
            answer = call_with_retries(lambda: post(body), policy, _failure, rng=rng, on_retry=retrying)
        except OSError as error:
            raise OSError(_failed(url, error, usage.requests - before)) from error
        tokens = answer.get("usage") or {}
        answered = Answer(
            key=key,
            task=task,
            doc_id=len(history),  # the turn's place in its conversation; the key says which request it was
            text=str((answer["choices"][0].get("message") or {}).get("content") or ""),
            input_tokens=int(tokens.get("prompt_tokens") or 0),
            output_tokens=int(tokens.get("completion_tokens") or 0),
            seconds=round(time.monotonic() - started, 3),
        )
        usage.count(answered)
        if journal is not None:
            journal.add(answered)
        return answered.text.strip()

    return respond


#: Longest part of a server's error answer quoted in a message (the message stays one line).
SHOWN_ANSWER_CHARS = 200


def _shown(raw: bytes) -> str:
    """A server's answer as one short line (whitespace folded, cut at :data:`SHOWN_ANSWER_CHARS`).

    >>> _shown(b'{"error":  "bad image"}' + bytes([10]))
    '{"error": "bad image"}'
    """
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text if len(text) <= SHOWN_ANSWER_CHARS else f"{text[:SHOWN_ANSWER_CHARS]}…"


def _failure(error: Exception) -> Failure | None:
    """A urllib error as a failed attempt: an HTTP status with its ``Retry-After``, or no answer at all
    (refused or dropped connection, timeout, a cut answer); ``None`` for anything else."""
    if isinstance(error, urllib.error.HTTPError):
        return Failure(error.code, error.headers.get("Retry-After") if error.headers else None)
    if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException)):
        return Failure(None)
    return None


def _failed(url: str, error: OSError, attempts: int) -> str:
    """The one-line message of a turn that got no answer: what the server said and how often it was asked."""
    tries = "at once (not worth another try)" if attempts == 1 else f"after {attempts} attempts"
    if isinstance(error, urllib.error.HTTPError):
        said = _shown(error.read() or b"") if error.fp is not None else ""
        return f"POST {url}: HTTP {error.code} {error.reason}{f' ({said})' if said else ''}, {tries}"
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    return f"POST {url}: cannot reach the chat endpoint ({reason}), {tries}"


def own_history_of(task: str) -> OwnHistory:
    """The task's own-history declaration; a clear error for a task without turns.

    >>> own_history_of("guide").mode
    'own_history'
    >>> own_history_of("scene")
    Traceback (most recent call last):
    ...
    ValueError: task 'scene' is not asked turn by turn (its spec declares no own_history); tasks that are: guide
    """
    from lego_arta.tasks import TASKS

    declared = get_task(task).own_history
    if declared is None:
        turned = ", ".join(name for name in TASKS if get_task(name).own_history is not None)
        raise ValueError(f"task {task!r} is not asked turn by turn (its spec declares no own_history); tasks that are: {turned}")
    return declared


def run_own_history(
    data: Path | str, task: str, respond: Respond, out: Path | str, *, split: str = "test", limit: int | None = None
) -> Path:
    """Ask every episode of ``task``'s ``split`` in own-history mode (the first ``limit`` episodes'
    rows only, when given) and write the predictions JSONL ``out``: every row of the asked episodes,
    each line with its ``mode`` (a turn the loop did not reach has the answer ``""``)."""
    from PIL import Image

    declared = own_history_of(task)
    columns = read_columns(data, task, split, list(dict.fromkeys(["id", "query", declared.episode, *declared.columns])))
    if limit is not None:
        keep = set(list(dict.fromkeys(columns[declared.episode]))[:limit])
        rows = [i for i, episode in enumerate(columns[declared.episode]) if episode in keep]
        columns = {name: [values[i] for i in rows] for name, values in columns.items()}
    else:
        rows = list(range(len(columns["id"])))
    wanted = set(rows)
    decoded = {index: Image.fromarray(image) for index, image in enumerate(iter_images(data, task, split)) if index in wanted}
    answers = declared.answers(columns, lambda i: [decoded[rows[i]]], respond)
    lines = [
        json.dumps({"id": row_id, "answer": answer, "mode": declared.mode}, ensure_ascii=False)
        for row_id, answer in zip(columns["id"], answers, strict=True)
    ]
    atomic_write_text(Path(out), "".join(line + "\n" for line in lines))
    return Path(out)
