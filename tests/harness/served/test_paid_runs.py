"""Paid runs that survive (``--model lego_arta_openai``), against a real ``transformers serve`` behind the fault proxy.

- a run killed at half its requests and started again with the same command sends no second
  request for an answered sample (counted at the proxy), and its results equal an uninterrupted
  run's, run-time measurements (timestamps, seconds, this invocation's request counts) aside;
- 429 (its Retry-After honoured), 500, dropped connections and answers slower than the timeout
  are retried; a 401 is not;
- a request budget stops the run cleanly: partial results saved, the rest scored as missing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lego_arta.harness.api_usage import RESULTS_KEY
from lego_arta.harness.request_journal import JOURNAL_NAME
from tests.harness.served.conftest import Server
from tests.support.cli import run_command
from tests.support.fault_proxy import Fault, FaultProxy

pytestmark = pytest.mark.slow

#: Results JSON fields that measure the run rather than its answers.
RUN_TIME_FIELDS = ("date", "start_time", "end_time", "total_evaluation_time_seconds", "throughput", "usage")
KILL_TIMEOUT_S = 900.0


def _command(served: Server, proxy: FaultProxy, data: Path, out: Path, tasks: str, limit: int, extra_args: str = "") -> list[str]:
    model_args = f"model={served.model},base_url={proxy.url},concurrency=1{extra_args}"
    return [
        sys.executable,
        "-m",
        "lego_arta",
        "eval",
        "--data",
        str(data),
        "--model",
        "lego_arta_openai",
        "--model-args",
        model_args,
        "--tasks",
        tasks,
        "--out",
        str(out),
        "--limit",
        str(limit),
    ]


def _results(out: Path) -> dict:
    newest = sorted(out.rglob("*_results.json"))[-1]
    return json.loads(newest.read_text())


#: How lmms-eval writes a task's hook functions into the results: with the process's memory address.
ADDRESS = re.compile(r" at 0x[0-9a-f]+>")


def _comparable(results: dict) -> dict:
    """The results without what measures the run (times, this invocation's usage) or belongs to its process (function
    addresses, the temporary folder the task files are rendered into)."""
    kept = {key: value for key, value in results.items() if key not in RUN_TIME_FIELDS}
    kept[RESULTS_KEY] = results[RESULTS_KEY]["total"]
    kept["config"] = {**kept["config"], "resolved_cli_args": {**kept["config"].get("resolved_cli_args", {}), "include_path": "per run"}}
    return json.loads(ADDRESS.sub(">", json.dumps(kept)))


def _samples(out: Path) -> dict[str, str]:
    return {path.name.split("_samples_")[1]: path.read_text() for path in out.rglob("*_samples_*.jsonl")}


def _differences(a: object, b: object, where: str = "") -> list[str]:
    """Paths at which two parsed JSON documents differ (for a readable assertion message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for key in sorted(set(a) | set(b), key=str) for d in _differences(a.get(key), b.get(key), f"{where}/{key}")]
    return [] if a == b else [f"{where}: {str(a)[:120]} != {str(b)[:120]}"]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def test_a_killed_run_resumes_without_asking_an_answered_sample_again(
    served: Server, proxy: FaultProxy, api_env: Path, tmp_path: Path
) -> None:
    tasks, limit = "lego_arta_state,lego_arta_state_syn", 3
    total = 2 * limit
    half = total // 2
    out = tmp_path / "run"  # both runs write here (lmms-eval records its output path in the results)
    command = _command(served, proxy, api_env, out, tasks, limit)
    _run(command)
    assert len(proxy.requests()) == total
    clean = out.rename(tmp_path / "uninterrupted")

    # the first half passes; the next request is held at the proxy, and the run is killed while it waits
    proxy.plan = [Fault.passing()] * half + [Fault.slow(KILL_TIMEOUT_S)]
    before = len(proxy.requests())
    first = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while len(proxy.requests()) - before < half + 1:
        assert first.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the run never reached half its requests"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    answered_before = {seen.digest for seen in proxy.requests()[before:] if seen.status == 200}
    assert len(answered_before) == half and not list(out.rglob("*_results.json"))
    assert len((out / JOURNAL_NAME).read_text().splitlines()) == half

    proxy.plan = []
    before = len(proxy.requests())
    _run(command)
    resumed = proxy.requests()[before:]
    assert len(resumed) == total - half, "the rerun asks exactly the samples the killed run did not get answered"
    assert not answered_before & {seen.digest for seen in resumed}, "no answered sample is asked twice"
    usage = _results(out)[RESULTS_KEY]
    assert (usage["this_run"]["resumed"], usage["this_run"]["answered"], usage["total"]["answered"]) == (half, total - half, total)
    assert _differences(_comparable(_results(out)), _comparable(_results(clean))) == []
    assert _samples(out) == _samples(clean) and len(_samples(out)) == 2


def test_faults_are_retried_with_the_waits_the_server_asks_and_a_refusal_is_not(
    served: Server, proxy: FaultProxy, api_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "faults"
    # sample 0 meets every fault and is answered slowly on its 5th attempt; sample 1 passes; sample 2 is refused (401)
    proxy.plan = [
        Fault.status(429, retry_after="1.5"),
        Fault.status(500),
        Fault.drop(),
        Fault.status(503),
        Fault.slow(3.0),
        Fault.passing(),
        Fault.status(401),
    ]
    argv = [
        "--data",
        str(api_env),
        "--model",
        "lego_arta_openai",
        "--out",
        str(out),
        "--tasks",
        "lego_arta_state",
        "--limit",
        "3",
        "--model-args",
        f"model={served.model},base_url={proxy.url},concurrency=1,backoff_s=0.05",
    ]
    assert run_command("eval", argv) == 1, "a sample left unanswered fails the command"
    assert "1 samples failed after every retry" in capsys.readouterr().out
    seen = proxy.requests()
    assert [s.action for s in seen] == ["status", "status", "drop", "status", "slow", "pass", "status"]
    assert seen[1].arrived - seen[0].arrived >= 1.5, "the wait after a 429 is what its Retry-After asked"
    assert seen[4].finished - seen[4].arrived >= 3.0 and seen[4].status == 200, "a slow answer is waited for, not retried"
    assert len({s.digest for s in seen[:5]}) == 1 and len({s.digest for s in seen}) == 3, "sample 0 is the one retried"
    usage = _results(out)[RESULTS_KEY]["this_run"]
    assert (usage["requests"], usage["retries"], usage["answered"], usage["failed"]) == (7, 4, 2, 1)
    samples = [json.loads(line) for line in next(out.rglob("*_samples_lego_arta_state.jsonl")).read_text().splitlines()]
    assert [bool(s["filtered_resps"]) for s in sorted(samples, key=lambda s: s["doc_id"])] == [True, True, False]


def test_a_request_budget_stops_cleanly_and_scores_the_rest_as_missing(
    served: Server, proxy: FaultProxy, api_env: Path, tmp_path: Path
) -> None:
    out = tmp_path / "budget"
    argv = [
        "--data",
        str(api_env),
        "--model",
        "lego_arta_openai",
        "--out",
        str(out),
        "--tasks",
        "lego_arta_state",
        "--limit",
        "5",
        "--model-args",
        f"model={served.model},base_url={proxy.url},concurrency=2,max_requests=3",
    ]
    assert run_command("eval", argv) == 0
    assert len(proxy.requests()) == 3
    results = _results(out)
    usage = results[RESULTS_KEY]["this_run"]
    assert (usage["answered"], usage["unanswered"], usage["budget_exhausted"]) == (3, 2, True)
    assert results["n-samples"]["lego_arta_state"]["effective"] == 5
    answers = [json.loads(line)["filtered_resps"] for line in next(out.rglob("*_samples_lego_arta_state.jsonl")).read_text().splitlines()]
    assert sorted(map(bool, answers)) == [False, False, True, True, True], "unanswered samples get an empty (missing) answer"
    assert run_command("report", ["--results", str(out), "--out", str(tmp_path / "report"), "--no-study"]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "requests 3 (0 retries), answered 3, resumed 0, unanswered 2, failed 0" in report and "budget reached" in report
