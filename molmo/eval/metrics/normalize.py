"""VQA answer normalisation: ``processPunctuation``, ``processDigitArticle`` and the wrappers
each public evaluator puts around them.

Matches GT-Vision-Lab/VQA ``PythonEvaluationTools/vqaEvaluation/vqaEval.py`` @ ``a013f00``
(master, 2021-03-11), quirks included (formats-and-metrics.md §6.2–§6.3):

- ``process_punctuation``: 21 punctuation characters (not ``'``, not ``:``; the period is handled
  separately). Whether a character is *deleted* or *replaced by a space* is decided on the
  **original** input: deleted if "p followed by a space" or "a space followed by p" occurs, or if
  the input anywhere contains digit-comma-digit (so ``1,000-2,000`` → ``10002000``).
  Then every ``.`` not immediately followed by a digit is deleted, at most 32 of them (the
  official call passes ``re.UNICODE`` positionally, which Python reads as ``count=32``).
- ``process_digit_article``: lowercase, whitespace split, number words ``none``/``zero``…``ten`` →
  digits, drop ``a``/``an``/``the``, then the 120-key contraction table (looked up after
  lowercasing, so its capitalised keys such as ``Im`` never fire), joined with single spaces.

Wrappers: :func:`clean_answer` (the official ``\\n``/``\\t`` → space + strip), :func:`normalize_vqa`
(punctuation then digit/article), :func:`normalize_molmo` (Molmo ``preprocess_answer``) and
:func:`normalize_evalai` (mmf ``EvalAIAnswerProcessor``, used by lmms-eval TextVQA/OK-VQA and the
m4c TextVQA evaluator).
"""

from __future__ import annotations

import re

# The 21 characters of the official list, in the official order.
PUNCTUATION: tuple[str, ...] = (
    ";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!",
)

# "digit, comma, digit" anywhere in the input switches every punctuation character to deletion.
_DIGIT_COMMA_DIGIT = re.compile(r"\d,\d")
# The official period pattern is "(?!<=\d)(\.)(?!\d)": its leading group is a negative look-ahead
# that always succeeds in front of a ".", so the effective rule is "a period not followed by a digit".
_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.(?!\d)")
# re.sub(pattern, repl, text, re.UNICODE) passes re.UNICODE (== 32) as ``count``.
MAX_PERIODS_REMOVED = 32

NUMBER_WORDS: dict[str, str] = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
ARTICLES: frozenset[str] = frozenset({"a", "an", "the"})

# The official contraction table, grouped as value -> the keys that map to it (every key is its
# value with some or all apostrophes removed). ``somebodyd <- somebody'd`` is reversed in the source
# and kept reversed here; the capitalised keys are kept although lookups happen after lowercasing.
_CONTRACTION_GROUPS: dict[str, tuple[str, ...]] = {
    "ain't": ("aint",), "aren't": ("arent",), "can't": ("cant",), "could've": ("couldve",),
    "couldn't": ("couldnt",), "couldn't've": ("couldn'tve", "couldnt've"), "didn't": ("didnt",),
    "doesn't": ("doesnt",), "don't": ("dont",), "hadn't": ("hadnt",),
    "hadn't've": ("hadnt've", "hadn'tve"), "hasn't": ("hasnt",), "haven't": ("havent",),
    "he'd": ("hed",), "he'd've": ("hed've", "he'dve"), "he's": ("hes",), "how'd": ("howd",),
    "how'll": ("howll",), "how's": ("hows",), "I'd've": ("Id've", "I'dve"), "I'm": ("Im",),
    "I've": ("Ive",), "isn't": ("isnt",), "it'd": ("itd",), "it'd've": ("itd've", "it'dve"),
    "it'll": ("itll",), "let's": ("let's",), "ma'am": ("maam",), "mightn't": ("mightnt",),
    "mightn't've": ("mightnt've", "mightn'tve"), "might've": ("mightve",), "mustn't": ("mustnt",),
    "must've": ("mustve",), "needn't": ("neednt",), "not've": ("notve",), "o'clock": ("oclock",),
    "oughtn't": ("oughtnt",), "'ow's'at": ("ow's'at", "'ows'at", "'ow'sat"), "shan't": ("shant",),
    "she'd've": ("shed've", "she'dve"), "she's": ("she's",), "should've": ("shouldve",),
    "shouldn't": ("shouldnt",), "shouldn't've": ("shouldnt've", "shouldn'tve"),
    "somebodyd": ("somebody'd",), "somebody'd've": ("somebodyd've", "somebody'dve"),
    "somebody'll": ("somebodyll",), "somebody's": ("somebodys",), "someone'd": ("someoned",),
    "someone'd've": ("someoned've", "someone'dve"), "someone'll": ("someonell",),
    "someone's": ("someones",), "something'd": ("somethingd",),
    "something'd've": ("somethingd've", "something'dve"), "something'll": ("somethingll",),
    "that's": ("thats",), "there'd": ("thered",), "there'd've": ("thered've", "there'dve"),
    "there're": ("therere",), "there's": ("theres",), "they'd": ("theyd",),
    "they'd've": ("theyd've", "they'dve"), "they'll": ("theyll",), "they're": ("theyre",),
    "they've": ("theyve",), "'twas": ("twas",), "wasn't": ("wasnt",),
    "we'd've": ("wed've", "we'dve"), "we've": ("weve",), "weren't": ("werent",),
    "what'll": ("whatll",), "what're": ("whatre",), "what's": ("whats",), "what've": ("whatve",),
    "when's": ("whens",), "where'd": ("whered",), "where's": ("wheres",),
    "where've": ("whereve",), "who'd": ("whod",), "who'd've": ("whod've", "who'dve"),
    "who'll": ("wholl",), "who's": ("whos",), "who've": ("whove",), "why'll": ("whyll",),
    "why're": ("whyre",), "why's": ("whys",), "won't": ("wont",), "would've": ("wouldve",),
    "wouldn't": ("wouldnt",), "wouldn't've": ("wouldnt've", "wouldn'tve"), "y'all": ("yall",),
    "y'all'll": ("yall'll", "y'allll"), "y'all'd've": ("yall'd've", "y'alld've", "y'all'dve"),
    "you'd": ("youd",), "you'd've": ("youd've", "you'dve"), "you'll": ("youll",),
    "you're": ("youre",), "you've": ("youve",),
}
CONTRACTIONS: dict[str, str] = {key: value for value, keys in _CONTRACTION_GROUPS.items() for key in keys}


def process_punctuation(text: str) -> str:
    """Official ``processPunctuation`` (vqaEval.py @ a013f00), exactly.

    For each of the 21 :data:`PUNCTUATION` characters ``p``, decided on the *original* ``text``:
    if ``p + " "`` or ``" " + p`` occurs in it, or it contains digit-comma-digit anywhere, every
    ``p`` is deleted; otherwise every ``p`` becomes one space. Finally the first 32 periods that
    are not immediately followed by a digit are deleted (``3.5`` and ``.5`` keep theirs, ``1.``
    loses it, ``a.m.`` → ``am``).
    """
    digit_comma_digit = _DIGIT_COMMA_DIGIT.search(text) is not None
    out = text
    for p in PUNCTUATION:
        delete = digit_comma_digit or (p + " ") in text or (" " + p) in text
        out = out.replace(p, "" if delete else " ")
    return _PERIOD_NOT_BEFORE_DIGIT.sub("", out, count=MAX_PERIODS_REMOVED)


def process_digit_article(text: str) -> str:
    """Official ``processDigitArticle``: lowercase, split on whitespace, map number words
    (``none``→``0``, ``zero``…``ten``→``0``…``10``), drop the articles ``a``/``an``/``the``, replace
    words found in :data:`CONTRACTIONS`, join with single spaces."""
    words = [NUMBER_WORDS.get(word, word) for word in text.lower().split()]
    words = [word for word in words if word not in ARTICLES]
    return " ".join(CONTRACTIONS.get(word, word) for word in words)


def clean_answer(text: str) -> str:
    """The official evaluator's first step on every answer and prediction: ``\\n`` and ``\\t``
    become spaces, then the string is stripped."""
    return text.replace("\n", " ").replace("\t", " ").strip()


def normalize_vqa(text: str) -> str:
    """Full official normalisation: :func:`process_punctuation` then :func:`process_digit_article`
    (no :func:`clean_answer`; the VQA scorers apply that first)."""
    return process_digit_article(process_punctuation(text))


def normalize_molmo(text: str) -> str:
    """Molmo ``preprocess_answer`` (allenai/molmo ``olmo/eval/vqa.py``): ``\\n``/``\\t`` → space,
    lowercase, strip, then punctuation and digit/article processing."""
    text = text.replace("\n", " ").replace("\t", " ").lower().strip()
    return normalize_vqa(text)


def evalai_word_tokenize(text: str) -> str:
    """mmf ``EvalAIAnswerProcessor.word_tokenize``: lowercase, delete ``,`` and ``?``, turn
    ``'s`` into `` 's`` (so ``girl's`` → ``girl 's``), strip."""
    return text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()


def normalize_evalai(text: str) -> str:
    """mmf ``EvalAIAnswerProcessor.__call__`` (copied by lmms-eval ``_task_utils/vqa_eval_metric.py``
    and LLaVA's m4c evaluator): :func:`evalai_word_tokenize`, ``\\n``/``\\t`` → space, strip,
    :func:`process_punctuation`, :func:`process_digit_article`.

    Its own comma test is "digit, one or more commas, digit"; since ``word_tokenize`` has already
    deleted every comma, that test can never fire, so the official punctuation function is
    equivalent here.
    """
    text = clean_answer(evalai_word_tokenize(text))
    return process_digit_article(process_punctuation(text))
