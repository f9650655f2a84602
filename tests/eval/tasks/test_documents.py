import pytest


@pytest.mark.parametrize(("name", "style"), [("docvqa", "doc_qa"), ("infovqa", "info_qa"), ("st_vqa", "st_qa")])
def test_anls_tasks(read_items, score_of, name, style):
    task, items = read_items(name)
    assert len(items) == 2 and items[0].style == style
    assert score_of(task, items[0], items[0].refs["answers"][0])["anls"] == 1.0
    answer = items[0].refs["answers"][0]
    near = score_of(task, items[0], answer[:-1] + "#")  # one wrong character
    assert 0.5 < near["anls"] < 1.0
    assert score_of(task, items[0], "nothing like it") == {"anls": 0.0, "anls_molmo": 0.0}


def test_infovqa_images_come_from_the_images_folder(read_items):
    _, items = read_items("infovqa")
    assert items[1].images[0].endswith("images/1.jpeg")
