"""``--model lego_arta_openai``: lmms-eval's ``async_openai`` backend, made fit for paid runs.

lmms-eval 0.7.3's ``async_openai`` sends chat requests to any OpenAI-compatible endpoint (OpenAI,
Gemini's and Anthropic's OpenAI-compatible endpoints, vLLM, SGLang, ``transformers serve``) with
images as data URLs. What a run of thousands of paid requests also needs, this subclass adds:

- **resume**: every answer is journalled in the output folder as it arrives
  (:mod:`~lego_arta.harness.request_journal`); the same command with the same output folder asks
  nothing already answered. lmms-eval's ``--use_cache`` does not do this: it stores a batch's
  answers only after the whole batch returned, so a killed run leaves nothing to reuse.
- **retries** on 429, 5xx and dropped connections, waiting what ``Retry-After`` asks, else an
  exponential backoff (:mod:`~lego_arta.harness.api_retry`); other 4xx fail at once;
- **a budget** (``max_requests``, ``max_tokens``): once reached, no further request is sent, the
  run ends normally, and the unanswered samples get an empty answer, which scores as missing;
- **usage** (requests, tokens, seconds) written beside the results (:mod:`~lego_arta.harness.api_usage`);
- **P(Yes)** from ``logprobs`` where the server returns them, recorded for the task hooks
  (:mod:`~lego_arta.harness.probabilities`).

The key comes from an environment variable (``api_key_env``, default ``OPENAI_API_KEY``), never
from ``--model_args``. lmms-eval finds this model through the ``lmms_eval.models`` entry point
(:mod:`lego_arta.harness.lmms_eval_plugin`).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import datasets
import httpx
import openai
from lmms_eval.api.instance import GenerationResult, Instance, TokenCounts
from lmms_eval.models.chat.async_openai import AsyncOpenAIChat
from lmms_eval.models.model_utils.usage_metrics import log_usage
from lmms_eval.protocol import ChatMessages
from loguru import logger

from lego_arta.atomic import atomic_write_text
from lego_arta.harness import probabilities
from lego_arta.harness.api_retry import Failure, RetryPolicy, with_retries
from lego_arta.harness.api_usage import USAGE_NAME, Usage
from lego_arta.harness.lmms_eval_runner import RUN_DIR_ENV
from lego_arta.harness.logprobs import p_yes_from_logprobs, verdict_words
from lego_arta.harness.request_journal import JOURNAL_NAME, Answer, RequestJournal, request_key
from lego_arta.harness.stored_images import openai_messages, stand_in_images

#: The name lmms-eval knows this model by.
MODEL_NAME = "lego_arta_openai"
#: Default number of requests in flight.
DEFAULT_CONCURRENCY = 8


class BudgetExhausted(Exception):
    """The request or token budget is spent: no further request may be sent."""


class LegoArtaOpenAI(AsyncOpenAIChat):
    """An OpenAI-compatible chat endpoint with resume, retries, a budget, usage and P(Yes)."""

    is_simple = False

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = 6,
        backoff_s: float = 1.0,
        max_wait_s: float = 300.0,
        timeout: float = 600.0,
        max_requests: int | None = None,
        max_tokens: int | None = None,
        logprobs: bool = True,
        top_logprobs: int = 5,
        run_dir: str | None = None,
        batch_size: Any = None,
        max_batch_size: Any = None,
        **kwargs: Any,
    ) -> None:
        if not model:
            raise ValueError(f"{MODEL_NAME}: model_args needs model=<the endpoint's model id>")
        key = os.environ.get(str(api_key_env))
        if not key:
            raise ValueError(f"{MODEL_NAME}: set the API key in ${api_key_env} (any non-empty value for a local server)")
        if "api_key" in kwargs:
            raise ValueError(f"{MODEL_NAME}: keys are read from ${api_key_env}, not from model_args (they would be logged)")
        super().__init__(
            model=str(model),
            base_url=base_url,
            api_key=key,
            timeout=int(timeout),
            num_cpus=int(concurrency),
            prefix_aware_queue=False,
            **kwargs,
        )
        # One client per generate_until call (an httpx client belongs to one event loop); retries are ours.
        self._client_args = {"api_key": key, "base_url": base_url, "timeout": float(timeout), "max_retries": 0}
        self.concurrency = max(1, int(concurrency))
        self.policy = RetryPolicy(max_attempts=int(max_attempts), base_s=float(backoff_s), max_wait_s=float(max_wait_s))
        self.max_requests = None if max_requests in (None, "") else int(max_requests)
        self.max_tokens_budget = None if max_tokens in (None, "") else int(max_tokens)
        self.logprobs = bool(logprobs)
        self.top_logprobs = int(top_logprobs)
        folder = run_dir or os.environ.get(RUN_DIR_ENV)
        self.run_dir = Path(folder) if folder else None
        self.journal = RequestJournal(self.run_dir / JOURNAL_NAME) if self.run_dir else None
        self.usage = Usage()
        self._rng = random.Random(0)
        self._undecoded: dict[tuple[str, str], tuple[Any, list[str]] | None] = {}

    # --- one request ----------------------------------------------------------------------

    def _payload(self, request: Instance) -> dict[str, Any]:
        """The chat request of one sample: the task's messages (images as PNG data URLs) and settings."""
        _, doc_to_messages, gen_kwargs, doc_id, task, split = request.args
        messages = self._stored_messages(doc_to_messages, task, split, doc_id)
        if messages is None:
            messages = ChatMessages(messages=doc_to_messages(self.task_dict[task][split][doc_id])).to_openai_messages()
        return {
            "model": self.model_version,
            "messages": messages,
            "max_tokens": int(gen_kwargs.get("max_new_tokens", 1024)),
            "temperature": float(gen_kwargs.get("temperature", 0) or 0),
        }

    def _stored_messages(self, doc_to_messages: Any, task: str, split: str, doc_id: int) -> list[dict[str, Any]] | None:
        """The messages with the row's stored PNG bytes as its images (:mod:`~lego_arta.harness.stored_images`), no
        decode and re-encode; ``None`` where the dataset has no image column or a row or hook does not allow it."""
        if (task, split) not in self._undecoded:
            dataset = self.task_dict[task][split]
            columns = [name for name, feature in getattr(dataset, "features", {}).items() if isinstance(feature, datasets.Image)]
            for name in columns:
                dataset = dataset.cast_column(name, datasets.Image(decode=False))
            self._undecoded[task, split] = (dataset, columns) if columns else None
        if self._undecoded[task, split] is None:
            return None
        dataset, columns = self._undecoded[task, split]
        row = stand_in_images(dataset[doc_id], columns)
        if row is None:
            return None
        try:
            return openai_messages(doc_to_messages(row))
        except (AttributeError, ValueError) as error:
            logger.debug(f"{MODEL_NAME}: {task} sample {doc_id}: stored images not usable ({error}); encoding decoded images")
            return None

    def _spend_check(self) -> None:
        if self.max_requests is not None and self.usage.requests >= self.max_requests:
            raise BudgetExhausted
        if self.max_tokens_budget is not None and self.usage.input_tokens + self.usage.output_tokens >= self.max_tokens_budget:
            raise BudgetExhausted

    async def _ask(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send ``payload`` until it is answered, retrying what is worth retrying (:func:`~lego_arta.harness.api_retry.with_retries`,
        the loop ``lego-arta converse`` shares); raise the last error."""

        async def send() -> dict[str, Any]:
            self._spend_check()
            self.usage.requests += 1
            body = {**payload, "logprobs": True, "top_logprobs": self.top_logprobs} if self.logprobs else payload
            try:
                # The raw answer, read as JSON: the SDK's typed request and response models cost more CPU than the
                # request's own encoding, on the machine that may run the server too; its errors stay the same.
                return _chat_answer(await self.client.post("/chat/completions", body=body, cast_to=httpx.Response))
            except openai.APIStatusError as error:
                if error.status_code == 400 and self.logprobs and "logprob" in str(error).lower():
                    logger.warning(f"{MODEL_NAME}: the server refuses logprobs; asking without them (no P(Yes) in this run)")
                    self.logprobs = False
                    return await send()
                raise

        return await with_retries(send, self.policy, _failure, rng=self._rng, on_retry=self._retrying)

    def _retrying(self, attempt: int, failure: Failure, wait: float) -> None:
        self.usage.retries += 1
        logger.info(f"{MODEL_NAME}: attempt {attempt + 1} got {failure.status or 'no answer'}; retrying in {wait:.2f} s")

    async def _answer(self, request: Instance) -> Answer | None:
        """The sample's answer: from the journal, else from the endpoint; ``None`` when it stays unanswered."""
        payload = self._payload(request)
        key = request_key(payload)
        known = self.journal.get(key) if self.journal is not None else None
        if known is not None:
            self.usage.resumed += 1
            return known
        _, _, _, doc_id, task, _ = request.args
        started = time.monotonic()
        try:
            response = await self._ask(payload)
        except BudgetExhausted:
            self.usage.budget_exhausted = True
            return None
        except openai.OpenAIError as error:
            self.usage.failed += 1
            logger.warning(
                f"{MODEL_NAME}: {task} sample {doc_id} unanswered after {self.policy.max_attempts} attempts: {type(error).__name__}"
            )
            return None
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        answer = Answer(
            key=key,
            task=str(task),
            doc_id=int(doc_id),
            text=(choice.get("message") or {}).get("content") or "",
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            seconds=round(time.monotonic() - started, 3),
            p_yes=_p_yes(choice, verdict_words(str(task))),
        )
        self.usage.count(answer)
        log_usage(model_name=self.model_version, task_name=str(task), input_tokens=answer.input_tokens, output_tokens=answer.output_tokens)
        if self.journal is not None:
            # fsynced in one writer thread (in order): the event loop keeps sending and receiving while the disk syncs
            await asyncio.get_running_loop().run_in_executor(self._journal_writer, self.journal.add, answer)
        return answer

    # --- lmms-eval's entry ----------------------------------------------------------------

    def generate_until(self, requests: list[Instance]) -> list[GenerationResult]:
        """Answer every request, ``concurrency`` at a time, in the order given; write the usage."""
        started = time.monotonic()
        answers = asyncio.run(self._answer_all(requests))
        results = []
        for request, answer in zip(requests, answers, strict=True):
            if answer is None:
                self.usage.unanswered += 1
                results.append(GenerationResult(text="", token_counts=TokenCounts()))
                continue
            _, _, _, doc_id, task, split = request.args
            if answer.p_yes is not None:
                probabilities.record(probabilities.sample_key(str(self.task_dict[task][split][doc_id]["id"]), answer.text), answer.p_yes)
            results.append(
                GenerationResult(
                    text=answer.text, token_counts=TokenCounts(input_tokens=answer.input_tokens, output_tokens=answer.output_tokens)
                )
            )
        self.usage.seconds = round(self.usage.seconds + time.monotonic() - started, 3)
        self._write_usage()
        if self.usage.budget_exhausted:
            logger.warning(f"{MODEL_NAME}: budget reached; {self.usage.unanswered} samples unanswered, scored as missing")
        return results

    async def _answer_all(self, requests: list[Instance]) -> list[Answer | None]:
        self.client = openai.AsyncOpenAI(**self._client_args)
        self._journal_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        gate = asyncio.Semaphore(self.concurrency)

        async def one(request: Instance) -> Answer | None:
            async with gate:
                return await self._answer(request)

        try:
            return list(await asyncio.gather(*(one(request) for request in requests)))
        finally:
            await self.client.close()
            self._journal_writer.shutdown(wait=True)

    def _write_usage(self) -> None:
        if self.run_dir is None:
            return
        total = self.journal.total() if self.journal is not None else {"answered": 0, "input_tokens": 0, "output_tokens": 0}
        atomic_write_text(self.run_dir / USAGE_NAME, json.dumps({"this_run": self.usage.to_dict(), "total": total}, indent=2) + "\n")


def _chat_answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a chat completion; an answer without ``choices`` is an error of the OpenAI client's kind (the sample stays unanswered)."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not answer.get("choices"):
        raise openai.APIResponseValidationError(response, answer, message=f"{MODEL_NAME}: a chat answer without choices")
    return answer


def _failure(error: Exception) -> Failure | None:
    """An OpenAI client error as a failed attempt (status and ``Retry-After``; no answer at all for a
    dropped connection or a timeout), or ``None`` for an error that is no failed attempt."""
    if isinstance(error, openai.APIStatusError):
        return Failure(error.status_code, error.response.headers.get("retry-after"))
    if isinstance(error, openai.APIConnectionError):  # APITimeoutError among them
        return Failure(None)
    return None


def _p_yes(choice: dict[str, Any], words: tuple[str, str] | None) -> float | None:
    """P(positive verdict) of a chat choice (JSON) with ``logprobs``; ``None`` for a task without a verdict or a server that sent none."""
    content = (choice.get("logprobs") or {}).get("content")
    if not content or words is None:
        return None
    return p_yes_from_logprobs(content, words)
