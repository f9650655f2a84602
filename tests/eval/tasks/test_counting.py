def test_countbench_counts_from_the_number_column(read_items, score_of):
    task, items = read_items("countbench")
    assert [i.refs["count"] for i in items] == [2, 3] and items[0].style == "point_count"
    assert task.max_new_tokens == 192 and task.max_crops is None
    answer = 'Counting the <points x1="10.0" y1="10.0" x2="20.0" y2="20.0" alt="cats">cats</points> shows a total of 2.'
    assert score_of(task, items[0], answer) == {"count_accuracy": 1.0, "count_close": 1.0, "count_valid": 1.0}
    assert score_of(task, items[0], "3") == {"count_accuracy": 0.0, "count_close": 1.0, "count_valid": 1.0}
    assert score_of(task, items[0], "many") == {"count_accuracy": 0.0, "count_close": 0.0, "count_valid": 0.0}


def test_pixmo_count_builds_the_question_from_the_label(read_items, score_of):
    task, items = read_items("pixmo_count")
    assert items[0].prompt == "How many dogs are there?" and items[0].refs == {"count": 3, "label": "dogs"}
    assert score_of(task, items[1], "four") == {"count_accuracy": 1.0, "count_close": 1.0, "count_valid": 1.0}
