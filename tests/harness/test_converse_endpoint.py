"""``lego-arta converse`` against a paid endpoint: retries as the served model's, and a killed run that resumes.

The endpoint is a real HTTP server on 127.0.0.1 (:mod:`tests.support.chat_server`) whose answers
depend only on the request; the data are a real guide build (tests/conftest.py). A run is killed
with SIGKILL as a real ``lego-arta converse`` process while the server holds a request, and run
again: no turn answered before the kill is asked again, and the predictions are byte-identical
to an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from lego_arta.cli import main
from lego_arta.harness.api_retry import RetryPolicy
from lego_arta.harness.api_usage import Usage
from lego_arta.harness.conversation import JOURNAL_SUFFIX, openai_chat
from tests.support.chat_server import ChatServer, Fault
from tests.support.cli import error_printed

#: The key the runs send: it must reach the server and appear in no file or output.
SECRET = "sk-test-9f3c2a71e0b54d86"
#: Episodes of the resume runs.
EPISODES = "4"


def _argv(data: Path, url: str, out: Path, *extra: str) -> list[str]:
    return [
        "converse",
        "--data",
        str(data),
        "--model",
        "paid-model",
        "--base-url",
        url,
        "--out",
        str(out),
        "--limit",
        EPISODES,
        "--resamples",
        "20",
        *extra,
    ]


def _everything_written(*folders: Path) -> str:
    return "".join(path.read_text(encoding="utf-8", errors="replace") for folder in folders for path in folder.rglob("*") if path.is_file())


def test_a_rate_limited_turn_waits_what_retry_after_asks_and_a_5xx_is_retried() -> None:
    usage = Usage()
    with ChatServer(plan=[Fault(429, retry_after="1"), Fault(503)]) as server:
        respond = openai_chat(server.url, "m", policy=RetryPolicy(max_attempts=3, base_s=0.05), usage=usage)
        answer = respond([Image.new("RGB", (8, 8))], [], "[state] Did I do it correctly?")
    assert answer == "No."
    assert [r.status for r in server.requests] == [429, 503, 200]
    assert len({r.digest for r in server.requests}) == 1, "every attempt sends the same request"
    assert server.requests[1].arrived - server.requests[0].arrived >= 1.0, "Retry-After: 1 is waited out"
    assert (usage.requests, usage.retries, usage.answered) == (3, 2, 1)


@pytest.mark.parametrize(
    ("plan", "attempts", "said"),
    [
        ([Fault(400, message="image too large")], 1, "HTTP 400 Bad Request"),
        ([Fault(401, message="bad key")], 1, "HTTP 401 Unauthorized"),
        ([Fault(503)] * 3, 3, "HTTP 503 Service Unavailable"),
    ],
)
def test_a_turn_that_stays_unanswered_ends_the_run_with_one_line_naming_the_status(
    guide_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan, attempts, said
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with ChatServer(plan=plan) as server:
        status = main(_argv(guide_data, server.url, tmp_path / "out", "--max-attempts", "3", "--backoff-s", "0"))
    out, err = capsys.readouterr()
    assert status == 2 and len(server.requests) == attempts
    assert not out.strip(), "the error goes to stderr; stdout is for results"
    (line,) = [line for line in err.splitlines() if line.strip()]
    assert f"POST {server.url}/chat/completions: {said}" in line
    assert ("at once" if attempts == 1 else f"after {attempts} attempts") in line
    assert plan[0].message in line, "the server's own error message is quoted"
    assert SECRET not in out + err
    assert not (tmp_path / "out").exists(), "nothing was answered, nothing is written"


def test_a_failed_run_keeps_its_answered_turns_and_the_same_command_asks_only_the_rest(
    guide_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    with ChatServer(plan=[None, None, Fault(400, message="refused")]) as server:
        assert main(_argv(guide_data, server.url, out, "--max-attempts", "1")) == 2
        told = error_printed(capsys)
        assert "2 answered turns are journalled in" in told and "run the same command again" in told
        first = [r.digest for r in server.answered()]
        assert main(_argv(guide_data, server.url, out)) == 0
        again = [r.digest for r in server.requests[3:]]
    assert len(first) == 2 and not set(first) & set(again), "an answered turn was asked again"
    assert server.requests[2].digest == again[0], "the refused turn is the first one asked again"
    journal = out / f"paid-model-guide{JOURNAL_SUFFIX}"
    assert len(journal.read_text().splitlines()) == len(first) + len(again)
    results = json.loads((out / "paid-model-guide.results.json").read_text())
    (run,) = results["runs"]
    assert run["usage"]["this_run"]["resumed"] == 2 and run["usage"]["this_run"]["requests"] == len(again)
    assert run["usage"]["total"]["answered"] == len(first) + len(again)


#: How long a converse process may take to reach the held request (imports, reading the build).
REACH_TIMEOUT_S = 300.0


@pytest.mark.slow
def test_a_converse_process_killed_mid_run_resumes_without_asking_an_answered_turn_again(guide_data: Path, tmp_path: Path) -> None:
    env = {**os.environ, "OPENAI_API_KEY": SECRET, "HF_HUB_OFFLINE": "1"}
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    with ChatServer() as server:
        done = subprocess.run([sys.executable, "-m", "lego_arta", *_argv(guide_data, server.url, whole)], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        uninterrupted = [r.digest for r in server.requests]
    total = len(uninterrupted)
    assert total >= 4 and len(set(uninterrupted)) == total
    hold = total // 2 + 1  # killed while its request number `hold` is in flight: hold - 1 turns answered
    logs = []
    with ChatServer(hold_at=hold) as server:
        command = [sys.executable, "-m", "lego_arta", *_argv(guide_data, server.url, resumed)]
        killed = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert server.held.wait(REACH_TIMEOUT_S), "the run never reached the held request"
            os.kill(killed.pid, signal.SIGKILL)
        finally:
            if killed.poll() is None:
                killed.kill()
            logs.append(killed.communicate()[0])
        assert killed.returncode == -signal.SIGKILL
        server.release()
        before = [r.digest for r in server.requests]
        journal = resumed / f"paid-model-guide{JOURNAL_SUFFIX}"
        assert len(journal.read_text().splitlines()) == hold - 1, "every answered turn was journalled before the next was asked"
        server.hold_at = None
        again = subprocess.run(command, env=env, capture_output=True)
        assert again.returncode == 0, again.stderr.decode()[-3000:]
        logs += [again.stdout, again.stderr, done.stdout, done.stderr]
        after = [r.digest for r in server.requests[len(before) :]]
    answered_before_kill = set(before[: hold - 1])
    assert not answered_before_kill & set(after), "a turn answered before the kill was asked again"
    assert len(after) == total - (hold - 1) and sorted(before[: hold - 1] + after) == sorted(uninterrupted)
    name = "paid-model-guide.predictions.jsonl"
    assert (resumed / name).read_bytes() == (whole / name).read_bytes()
    assert all(r.authorization == f"Bearer {SECRET}" for r in server.requests), "the key reaches the server"
    assert SECRET not in _everything_written(whole, resumed) + b"".join(logs).decode(errors="replace")
