import pytest

from molmo.eval.tasks.multiple_choice import mc_score, option_letters


@pytest.mark.parametrize(("name", "answer"), [("ai2d", "B"), ("a_okvqa_mc", "C"), ("science_qa", "B")])
def test_lettered_options_in_prompt_and_scoring(read_items, score_of, name, answer):
    task, items = read_items(name)
    assert len(items) == 2  # ScienceQA: the text-only problem is skipped
    assert "\nA: " in items[0].prompt and items[0].style == task.style
    assert score_of(task, items[0], answer) == {"mc_accuracy": 1.0}
    assert score_of(task, items[0], "A") == {"mc_accuracy": 0.0}


def test_mc_score_needs_options_and_index():
    assert option_letters(3) == ["A", "B", "C"]
    assert mc_score("A", {"options": [], "answer_idx": 0}) is None
    assert mc_score("A", {"options": ["x", "y"], "answer_idx": None}) is None
    assert mc_score("Answer: B", {"options": ["x", "y"], "answer_idx": 1}) == {"mc_accuracy": 1.0}
