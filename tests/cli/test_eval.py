"""``molmo eval`` through the CLI entry point (exit codes, table, --json, recipe, --predictions)."""

from __future__ import annotations

import json

import pytest

from molmo_cli.eval import TASK_NAMES, eval_command
from molmo_cli.main import app


@pytest.fixture(autouse=True)
def _registered():
    """The lead registers the command in molmo_cli.main; make sure it is there for these tests."""
    if not any(c.name == "eval" for c in app.registered_commands):
        app.command("eval")(eval_command)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    import torch

    import molmo
    from molmo.config.model import model_preset, preset_preprocess_overrides
    from molmo.config.preprocess import TokenizerConfig, preprocess_for_vision
    from molmo.preprocess import MolmoTokenizer, train_bpe

    torch.set_num_threads(1)
    tok = MolmoTokenizer(train_bpe(["a red circle", "how many squares", "what color is it"] * 5, 300),
                         TokenizerConfig(pad_to=320))
    config = model_preset("tiny", {"llm": {"vocab_size": 320, "embedding_size": 320}})
    model = molmo.build(config, seed=0)
    model.tokenizer = tok
    model.preprocess_config = preprocess_for_vision(config.vision, **preset_preprocess_overrides("tiny"))
    return molmo.save(model, tmp_path_factory.mktemp("ckpt") / "tiny")


def test_recipe_run_prints_a_table_and_writes_the_files(cli, checkpoint, tmp_path):
    recipe = tmp_path / "suite.toml"
    recipe.write_text(f'kind = "eval"\nname = "t"\nmodel = "{checkpoint}"\nbatch_size = 2\n'
                      f'output_dir = "{tmp_path / "out"}"\n[[tasks]]\ntask = "shapes"\nmax_new_tokens = 3\nlimit = 4\n')
    code, out, err = cli("eval", recipe)
    assert code == 0, err
    assert "task\tn\tmetric\tvalue\tother metrics" in out and "shapes/" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"predictions.jsonl", "results.json", "report.html"}
    code, out, _ = cli("eval", recipe, "--json")  # resumed: nothing recomputed, same object
    assert code == 0 and json.loads(out) == json.loads((tmp_path / "out" / "results.json").read_text())


def test_predictions_only_json_and_errors(cli, tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps({"model": "m", "task": "docvqa", "id": "q1", "prompt": "?", "prediction": "12.50",
                               "refs": {"answers": ["12.50"]}}) + "\n")
    code, out, _ = cli("eval", "--task", "doc_qa", "--predictions", src, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["model"] == "m" and data["results"][0]["task"] == "docvqa"
    assert data["results"][0]["n"] == 1 and data["results"][0]["metrics"]["anls"] == 1.0
    code, _, err = cli("eval", "--task", "vqa3", "--predictions", src)
    assert code == 2 and "unknown task 'vqa3' (did you mean" in err and "Traceback" not in err
    code, _, err = cli("eval")
    assert code == 2 and "nothing to evaluate" in err
    code, _, err = cli("eval", "--task", "docvqa", "--model", tmp_path, "--data", tmp_path / "missing.json")
    assert code == 2 and "missing.json: no such file" in err


def test_help_lists_the_registered_tasks(cli):
    from molmo.eval.tasks import TASKS

    assert TASK_NAMES.split(", ") == list(TASKS)
    code, out, _ = cli("eval", "--help")
    assert code == 0 and "--predictions" in out and "--batch-size" in out
