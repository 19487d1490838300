"""``lego-arta eval`` never writes a credential from ``--model_args`` to its log, results or errors.

lmms-eval itself is replaced by a tiny script that echoes its arguments (as lmms-eval's DEBUG log
and results JSON do), so the test runs in a second and needs no model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lego_arta.harness import lmms_eval_runner
from lego_arta.harness.lmms_eval_runner import LmmsEvalError, redact, run_lmms_eval, secret_values

SECRETS = {"api_key": "sk-live-0123456789", "hf_token": "hf_SeCrEt", "password": "hunter2"}
MODEL_ARGS = "pretrained=org/model," + ",".join(f"{k}={v}" for k, v in SECRETS.items())

FAKE_LMMS_EVAL = """
import json, pathlib, sys
args = sys.argv[1:]
print("DEBUG model_args:", args[args.index("--model_args") + 1], flush=True)
out = pathlib.Path(args[args.index("--output_path") + 1])
(out / "run_results.json").write_text(json.dumps({"config": {"model_args": args[args.index("--model_args") + 1]}, "results": {}}))
print("Traceback (most recent call last): boom", flush=True)
sys.exit(int(sys.argv[0].endswith("fail.py")))
"""


@pytest.fixture
def fake_lmms_eval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def command(**kwargs: object) -> list[str]:
        real = real_command(**kwargs)
        assert real[:3] == [sys.executable, "-m", "lmms_eval"]
        return [sys.executable, str(script)] + real[3:]

    script = tmp_path / "fake_lmms_eval.py"
    script.write_text(FAKE_LMMS_EVAL)
    real_command = lmms_eval_runner.lmms_eval_command
    monkeypatch.setattr(lmms_eval_runner, "lmms_eval_command", command)
    data = tmp_path / "built"
    data.mkdir()
    # the configs the lego_arta group reads: the runner checks them before lmms-eval starts
    (data / "README.md").write_text("---\nconfigs:\n- config_name: scene\n- config_name: object\n- config_name: state\n---\n")
    return data


def _assert_clean(text: str) -> None:
    for value in SECRETS.values():
        assert value not in text


def test_secret_values_are_found_by_key() -> None:
    assert sorted(secret_values(MODEL_ARGS)) == sorted(SECRETS.values())
    assert secret_values("pretrained=org/model,device=cuda") == []
    assert redact(f"x {SECRETS['password']} y", secret_values(MODEL_ARGS)) == "x *** y"


def test_log_results_and_error_hold_no_secret(fake_lmms_eval: Path, tmp_path: Path) -> None:
    output = tmp_path / "eval"
    with pytest.raises(LmmsEvalError) as error:
        # online: offline, the uncached Hub id org/model is refused before lmms-eval runs (nothing to redact then)
        run_lmms_eval(data=fake_lmms_eval, model="dummy", model_args=MODEL_ARGS, tasks="lego_arta", output=output, offline=False)
    _assert_clean(str(error.value))
    log = (output / lmms_eval_runner.LOG_NAME).read_text()
    assert "api_key=***" in log and "pretrained=org/model" in log
    _assert_clean(log)
    results = json.loads((output / "run_results.json").read_text())
    assert "hf_token=***" in results["config"]["model_args"]
    _assert_clean(json.dumps(results))


def test_the_offline_refusal_holds_no_secret(fake_lmms_eval: Path, tmp_path: Path) -> None:
    with pytest.raises(LmmsEvalError, match="offline: pass --online to download org/model") as error:
        run_lmms_eval(data=fake_lmms_eval, model="dummy", model_args=MODEL_ARGS, tasks="lego_arta", output=tmp_path / "eval")
    _assert_clean(str(error.value))
