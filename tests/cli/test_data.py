from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from molmo.errors import UserError
from molmo_cli.data import app, parse_map, parse_size

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_synth_inspect_verify_stats_roundtrip(tmp_path):
    out = tmp_path / "shapes"
    r = run("synth", "shapes", out, "--n", 20, "--seed", 3, "--split", "eval", "--shard-samples", 8, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {
        "directory": str(out),
        "samples": 20,
        "shards": 3,
        "split": "eval",
        "seed": 3,
    }
    r = run("inspect", out, "--n", 4, "--json", "--show", tmp_path / "sheet.png")
    rows = json.loads(r.stdout)
    assert r.exit_code == 0 and len(rows) == 4 and rows[0]["key"] == "shapes-s3-eval-0000000"
    assert (tmp_path / "sheet.png").exists()
    r = run("inspect", out, "--n", 2)
    assert r.exit_code == 0 and "shapes-s3-eval-0000001" in r.stdout
    r = run("verify", out)
    assert r.exit_code == 0 and "ok" in r.stdout
    r = run("stats", out, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["samples"] == 20
    assert run("stats", out).exit_code == 0


def test_verify_exits_1_and_names_the_shard(tmp_path):
    out = tmp_path / "s"
    assert run("synth", "shapes", out, "--n", 6, "--shard-samples", 3).exit_code == 0
    shard = out / "shapes-train-000001.tar"
    shard.write_bytes(shard.read_bytes()[:-2000])
    r = run("verify", out)
    assert r.exit_code == 1
    assert "shard shapes-train-000001.tar" in r.stderr


def test_pack_jsonl_with_failures(tmp_path, png):
    (tmp_path / "a.png").write_bytes(png)
    lines = [
        {
            "image": "a.png",
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
        },
        {"image": "missing.png", "messages": [{"role": "user", "content": "q"}]},
    ]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    r = run(
        "pack", tmp_path / "d.jsonl", tmp_path / "out", "--format", "jsonl", "--shard-size", "1MB", "--json"
    )
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["written"] == 1 and res["failed"] == 1 and "missing image file" in res["failures"][0]["reason"]
    r = run("pack", tmp_path / "d.jsonl", tmp_path / "out2", "--format", "jsonl", "--strict")
    assert isinstance(r.exception, UserError) and "missing image file" in str(r.exception)
    r = run("pack", tmp_path / "d.jsonl", tmp_path / "out3", "--format", "nope")
    assert isinstance(r.exception, UserError) and "unknown pack format" in str(r.exception)


def test_option_parsers():
    assert parse_size("512MB") == 512_000_000 and parse_size("64KiB") == 65536 and parse_size("100") == 100
    assert parse_map(["q=question", "image_root=/x"]) == {"q": "question", "image_root": "/x"}
    with pytest.raises(UserError, match="--shard-size 'lots'"):
        parse_size("lots", "--shard-size")
    with pytest.raises(UserError, match="COLUMN=FIELD"):
        parse_map(["oops"])


@pytest.fixture
def png():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (5, 5)).save(buf, format="PNG")
    return buf.getvalue()


def test_truncated_shard_reports_count_and_checksum(tmp_path):
    out = tmp_path / "s"
    assert run("synth", "shapes", out, "--n", 6, "--shard-samples", 3).exit_code == 0
    with open(out / "shapes-train-000000.tar", "r+b") as f:
        f.truncate(3000)
    r = run("verify", out, "--json")
    assert r.exit_code == 1
    bad = [s for s in json.loads(r.stdout)["shards"] if not s["ok"]]
    assert len(bad) == 1 and any("manifest says 3" in p for p in bad[0]["problems"])


def test_synth_tasks_option(tmp_path, cli):
    from typer.testing import CliRunner

    from molmo.data.loader import iter_samples
    from molmo_cli.data import app

    result = CliRunner().invoke(app, ["synth", "shapes", str(tmp_path / "w"), "--n", "12", "--tasks", "color,read"])
    assert result.exit_code == 0, result.output
    tasks = {s.json["task"] for s in iter_samples(str(tmp_path / "w"))}
    assert tasks <= {"color", "read"}
    code, _, err = cli("data", "synth", "shapes", tmp_path / "x", "--n", "2", "--tasks", "colour")
    assert code == 2 and "did you" not in err and "colour" in err


def test_synth_questions_option(tmp_path, cli):
    from molmo.data.loader import iter_samples

    code, out, _ = cli("data", "synth", "shapes", tmp_path / "d", "--n", "3", "--questions", "4", "--json")
    assert code == 0 and json.loads(out)["samples"] == 3
    samples = list(iter_samples(str(tmp_path / "d")))
    assert all(s.json["task"] == "dialog" and 6 <= len(s.json["messages"]) <= 8 for s in samples)
    code, _, err = cli("data", "synth", "shapes", tmp_path / "e", "--n", "3", "--questions", "4", "--split", "eval")
    assert code == 2 and "only for --split train" in err and not (tmp_path / "e").exists()


def test_synth_max_shapes_option(tmp_path, cli):
    from molmo.data.loader import iter_samples

    code, _, _ = cli("data", "synth", "shapes", tmp_path / "d", "--n", "4", "--questions", "3", "--max-shapes", "2")
    assert code == 0
    assert all(len(s.json["meta"]["scene"]["shapes"]) <= 2 for s in iter_samples(str(tmp_path / "d")))
    code, _, err = cli("data", "synth", "shapes", tmp_path / "e", "--n", "4", "--max-shapes", "9")
    assert code == 2 and "--max-shapes" in err


def test_synth_min_shapes_option(tmp_path, cli):
    from molmo.data.loader import iter_samples
    from molmo.data.manifest import read_manifest

    code, _, _ = cli("data", "synth", "shapes", tmp_path / "d", "--n", "4", "--questions", "3", "--min-shapes", "5")
    assert code == 0
    assert all(len(s.json["meta"]["scene"]["shapes"]) >= 5 for s in iter_samples(str(tmp_path / "d")))
    assert read_manifest(tmp_path / "d").source["min_shapes"] == 5
    code, _, _ = cli("data", "synth", "shapes", tmp_path / "f", "--n", "2")
    assert code == 0 and "min_shapes" not in read_manifest(tmp_path / "f").source  # older sets still resume
    code, _, err = cli("data", "synth", "shapes", tmp_path / "e", "--n", "4", "--min-shapes", "3", "--max-shapes", "2")
    assert code == 2 and "--min-shapes" in err and len(err.strip().splitlines()) == 1
