import pytest


@pytest.mark.parametrize(("name", "style"), [("vqa2", "vqa2"), ("textvqa", "text_vqa"), ("okvqa", "okvqa")])
def test_vqa_tasks_read_official_files_and_score(read_items, score_of, name, style):
    task, items = read_items(name)
    assert len(items) == 2 and items[0].style == style and len(items[0].refs["answers"]) == 10
    assert task.max_crops == 36 and task.max_new_tokens == 12
    right = items[0].refs["answers"][0].title() + "."  # case and final period are normalised away
    assert score_of(task, items[0], right) == {"vqa_score": 1.0, "vqa_score_molmo": 1.0}
    assert score_of(task, items[0], "dog") == {"vqa_score": 0.0, "vqa_score_molmo": 0.0}


def test_unlabelled_sample_is_not_scored(read_items):
    task, _ = read_items("vqa2")
    assert task.score("cat", {}, []) is None
