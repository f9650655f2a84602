"""Pure-Python PTB tokenizer: the §9.2 table and further lines whose expected output was produced by
CoreNLP 3.4.1 (the jar shipped in pycocoevalcap 1.2) with -preserveLines -lowerCase plus the
coco-caption punctuation filter."""

from __future__ import annotations

import pytest

from molmo.eval.metrics.ptb_tokenize import PTB_PUNCTUATION, ptb_tokenize, ptb_tokenize_caption

# formats-and-metrics.md §9.2, every row.
REFERENCE_TABLE = [
    ("A man riding a horse.", "a man riding a horse"),
    ("Don't touch the dog's bowl!", "do n't touch the dog 's bowl"),
    ("It's a well-known (old) café, isn't it?", "it 's a well-known -lrb- old -rrb- café is n't it"),
    ("The colour of the car is grey.", "the colour of the car is grey"),
    ('He said "hello" to me...', "he said hello to me"),
    ("A 3.5-inch screen costs $100.", "a 3.5-inch screen costs $ 100"),
    ("Two people -- one tall; one short: yes", "two people one tall one short yes"),
    ("Cats & dogs", "cats & dogs"),
    ("Rock 'n' roll", "rock 'n' roll"),
    ("U.S. flag at 10:30 a.m.", "u.s. flag at 10:30 a.m."),
    ("A cannot be B", "a can not be b"),
    ("I'm gonna go", "i 'm gon na go"),
    ("There's a cat, a dog, and a bird.", "there 's a cat a dog and a bird"),
    ("e-mail / web", "e-mail / web"),
    ("50% off {sale} [now]", "50 % off -lcb- sale -rcb- -lsb- now -rsb-"),
]

# Verified against the CoreNLP 3.4.1 jar (filtered output).
COURTESY_OF_JAVA = [
    ("A woman's hand holding a cell phone.", "a woman 's hand holding a cell phone"),
    ("The kitchen has stainless steel appliances, granite countertops, and wooden cabinets.",
     "the kitchen has stainless steel appliances granite countertops and wooden cabinets"),
    ('There is a "STOP" sign on the corner.', "there is a stop sign on the corner"),
    ("A sign that reads 'No Parking'.", "a sign that reads no parking"),
    ("An old-fashioned clock tower at 5 o'clock.", "an old-fashioned clock tower at 5 o'clock"),
    ("A bus (number 42) drives down the street!", "a bus -lrb- number 42 -rrb- drives down the street"),
    ("Several people are skiing down a snow-covered slope;  it's cold.",
     "several people are skiing down a snow-covered slope it 's cold"),
    ("A plate with 2 hot dogs and 1/2 of a sandwich", "a plate with 2 hot dogs and 1/2 of a sandwich"),
    ("Kids' toys are on the floor", "kids toys are on the floor"),
    ("I can't won't wouldn't y'all ain't o'clock let's we'll you're they've I'd",
     "i ca n't wo n't would n't y' all ai n't o'clock let 's we 'll you 're they 've i 'd"),
    ("Wow!!! What?! (really) [yes] {no} <tag> #1 @user *star* ~tilde",
     "wow !!! what ?! -lrb- really -rrb- -lsb- yes -rsb- -lcb- no -rcb- <tag> # 1 @user * star * ~ tilde"),
    ("The dog\u2019s bowl and don\u2019t \u201cquoted\u201d \u2018single\u2019 and \u2026 ellipsis",
     "the dog 's bowl and do n't quoted single and ellipsis"),
    ("'hello' said the dogs' owner 'tis 'twas '90s 'em", "hello said the dogs owner 't is 't was '90s 'em"),
    ("it is 2:30 at http://www.example.com/a or www.google.com and a@b.com",
     "it is 2:30 at http://www.example.com/a or www.google.com and a@b.com"),
    ("hot-dog and -5 degrees and 5-3 and --hello and a--b and end-",
     "hot-dog and -5 degrees and 5-3 and hello and a b and end"),
    ("gotta wanna lemme gimme dunno cannot Cannot CANNOT", "got ta wan na lem me gim me dunno can not can not can not"),
    ("it's 50\u00b0F and 5'10\" tall", "it 's 50 \u00b0 f and 5 10 tall"),
    ("a+b=c and x^2 and 50/50 and a|b and a\\b", "a + b = c and x ^ 2 and 50/50 and a | b and a \\ b"),
    ('He said, "I\'m here."', "he said i 'm here"),
    ("3.5 .5 1. 10. 5.0. 1/2 3/4 100,000.00 $5.50 US$5 \u00a35 \u20ac5 5km 5-year-old",
     "3.5 .5 1 10 5.0 1/2 3/4 100,000.00 $ 5.50 us$ 5 # 5 $ 5 5km 5-year-old"),
    ("I said no. mr. smith and etc. and the st. and jan. and a dog etc",
     "i said no mr. smith and etc. and the st. and jan. and a dog etc"),
    ("no. 5 No. 5 no. five NO. 5", "no. 5 no. 5 no five no. 5"),
    ("A MAN RIDING A HORSE. DON'T", "a man riding a horse do n't"),
]


@pytest.mark.parametrize(("text", "expected"), REFERENCE_TABLE)
def test_reference_table(text, expected):
    assert ptb_tokenize_caption(text) == expected


@pytest.mark.parametrize(("text", "expected"), COURTESY_OF_JAVA)
def test_lines_checked_against_corenlp(text, expected):
    assert ptb_tokenize_caption(text) == expected


def test_raw_tokens_keep_punctuation_and_quote_direction():
    assert ptb_tokenize('He said, "I\'m here."') == ["he", "said", ",", "``", "i", "'m", "here", ".", "''"]
    assert ptb_tokenize("(old)") == ["-lrb-", "old", "-rrb-"]


def test_lowercased_bracket_escapes_survive_the_upper_case_filter():
    assert "-LRB-" in PTB_PUNCTUATION and "-lrb-" not in PTB_PUNCTUATION
    assert "-LSB-" not in PTB_PUNCTUATION
    assert len(PTB_PUNCTUATION) == 17


def test_empty_and_whitespace_captions():
    assert ptb_tokenize_caption("") == ""
    assert ptb_tokenize_caption("  \n ") == ""
    assert ptb_tokenize_caption("a\ndog") == "a dog"
