def test_chartqa_relaxed_and_exact(read_items, score_of):
    task, items = read_items("chartqa")
    assert [i.refs["answers"] for i in items] == [["40"], ["Yes"]]
    assert task.metrics == ("relaxed_accuracy", "exact_match") and task.style == "chart_qa"
    assert score_of(task, items[0], "41") == {"relaxed_accuracy": 1.0, "exact_match": 0.0}  # within 5 %
    assert score_of(task, items[0], "43") == {"relaxed_accuracy": 0.0, "exact_match": 0.0}
    assert score_of(task, items[1], "yes") == {"relaxed_accuracy": 1.0, "exact_match": 1.0}
