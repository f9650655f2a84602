from molmo.eval.tasks.mc_or_open import MC_INSTRUCTION, mathvista_free_form


def test_realworldqa_drops_the_instruction_and_picks_the_style(read_items, score_of):
    task, (mc, short) = read_items("realworldqa")
    assert MC_INSTRUCTION not in mc.prompt and mc.style == "a_okvqa_mc" and mc.refs["multiple_choice"]
    assert short.style == "vqa2" and short.prompt == "How many lanes are there?"
    assert score_of(task, mc, "B") == {"realworldqa_score": 1.0}
    assert score_of(task, short, "3") == {"realworldqa_score": 1.0}
    assert score_of(task, short, "four") == {"realworldqa_score": 0.0}


def test_mmmu_multiple_choice_and_open(read_items, score_of):
    task, (mc, open_q) = read_items("mmmu")
    assert mc.refs["answer"] == "B" and mc.style == "a_okvqa_mc" and len(mc.images) == 1
    assert open_q.refs["question_type"] == "open" and open_q.style == "vqa2"
    assert score_of(task, mc, "B") == {"mmmu_score": 1.0}
    assert score_of(task, open_q, "The answer is 5") == {"mmmu_score": 1.0}
    assert score_of(task, open_q, "7") == {"mmmu_score": 0.0}


def test_mathvista_rule_based(read_items, score_of):
    task, (mc, free) = read_items("mathvista")
    assert score_of(task, mc, "B") == {"mathvista_rule_accuracy": 1.0}
    assert score_of(task, free, "The area is 1.50") == {"mathvista_rule_accuracy": 1.0}
    assert score_of(task, free, "2.5") == {"mathvista_rule_accuracy": 0.0}
    assert "not comparable" in task.variants(task.metrics)["mathvista_rule_accuracy"]
    assert mathvista_free_form("about 1,200 people", "1200", "integer", None) == 1.0
    assert mathvista_free_form("Paris.", "paris", "text", None) == 1.0
