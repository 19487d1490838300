"""``lego-arta eval`` never writes a credential from ``--model_args`` to its log, results or errors.

lmms-eval itself is replaced by a tiny script that echoes its arguments (as lmms-eval's DEBUG log
and results JSON do), so the test runs in a second and needs no model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lego_arta.harness import lmms_eval_runner
from lego_arta.harness.lmms_eval_runner import REDACTED, LmmsEvalError, redact, run_lmms_eval, secret_values

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


def test_a_one_letter_key_is_redacted_as_a_value_not_as_a_letter() -> None:
    """Issue 23: ``api_key=x`` turned every letter x of the log into ``***`` ("e***ec_module")."""
    log = "DEBUG model_args: model=m,api_key=x\nINFO exec_module loaded; header Authorization: Bearer x\n"
    assert redact(log, secret_values("model=m,api_key=x")) == (
        "DEBUG model_args: model=m,api_key=***\nINFO exec_module loaded; header Authorization: Bearer ***\n"
    )


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=12)
SEPARATOR = st.sampled_from([" ", "=", ",", '"', "'", ":", "\n", ". ", "/", "(", ")"])


@given(secret=WORD, words=st.lists(WORD, max_size=8), separators=st.lists(SEPARATOR, min_size=10, max_size=10))
def test_a_secret_standing_alone_is_always_hidden_and_other_words_stay(secret: str, words: list[str], separators: list[str]) -> None:
    tokens = [*words, secret, *words[:1]]
    text = "".join(sep + token for sep, token in zip(separators, tokens, strict=False)) + separators[-1]
    expected = (
        "".join(sep + (REDACTED if token == secret else token) for sep, token in zip(separators, tokens, strict=False)) + separators[-1]
    )
    assert redact(text, [secret]) == expected
