import json

from molmo.eval.tasks.readers import READERS


def test_every_reader_yields_records_with_refs(bench):
    sources = {"textvqa": bench["textvqa"], "stvqa": bench["st_vqa"], "aokvqa": bench["a_okvqa_mc"],
               "scienceqa": bench["science_qa"], "coco_captions": bench["caption"]}
    assert set(sources) == set(READERS)
    for name, path in sources.items():
        records = list(READERS[name](path))
        assert len(records) == 2 and all(r.error is None and r.json["refs"] for r in records), name
        assert all(isinstance(r.images[0], str) for r in records)


def test_aokvqa_record(bench):
    record = next(READERS["aokvqa"](bench["a_okvqa_mc"]))
    assert record.json["refs"]["answer_idx"] == 2 and record.json["messages"][1]["content"] == "C"
    assert record.images[0].endswith("val2017/000000000007.jpg")


def test_karpathy_caption_file_and_bad_entries(tmp_path):
    path = tmp_path / "dataset_coco.json"
    path.write_text(json.dumps({"images": [
        {"filepath": "val2014", "filename": "a.jpg", "split": "test", "cocoid": 1, "sentences": [{"raw": "A dog."}]},
        {"filepath": "val2014", "filename": "b.jpg", "split": "train", "cocoid": 2, "sentences": [{"raw": "x"}]}]}))
    records = list(READERS["coco_captions"](path))
    assert len(records) == 1 and records[0].json["refs"]["answers"] == ["A dog."]
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"data": [{"question": "q"}, "junk"]}))
    assert [r.error is not None for r in READERS["textvqa"](bad)] == [True, True]
