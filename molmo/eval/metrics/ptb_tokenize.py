"""A pure-Python stand-in for the Stanford PTBTokenizer step of the COCO caption pipeline.

coco-caption (``pycocoevalcap/tokenizer/ptbtokenizer.py``) runs CoreNLP 3.4.1's
``edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase`` (Java) on every reference and
candidate caption (newlines inside a caption become spaces), then drops the tokens in
:data:`PTB_PUNCTUATION` and joins the rest with single spaces (formats-and-metrics.md §9.1).
:func:`ptb_tokenize_caption` reproduces that result without Java.

Behaviours reproduced (the §9.2 table, plus cases checked against the CoreNLP 3.4.1 jar):

- lowercase output; the bracket escapes ``-lrb-`` ``-rrb-`` ``-lsb-`` ``-rsb-`` ``-lcb-``
  ``-rcb-`` survive the filter, whose entries are upper case (the key quirk);
- clitics split off: ``n't`` (``can't`` → ``ca n't``, ``won't`` → ``wo n't``), ``'s`` ``'m``
  ``'d`` ``'re`` ``'ve`` ``'ll``; ``cannot`` → ``can not``, ``gonna`` → ``gon na`` (also
  ``gotta``, ``wanna``, ``lemme``, ``gimme``); ``'tis``/``'twas`` → ``'t is``/``'t was``;
  ``y'all`` → ``y' all``; ``'n'`` (``rock 'n' roll``), ``'em`` and ``'90s`` stay whole;
- quotes: ``"`` → `````` (opening) / ``''`` (closing), a word-initial ``'`` → `````, a
  word-final ``'`` split off; curly quotes, ``’`` apostrophes and ``…`` are normalised to ASCII;
- split off: ``, ; : ? ! % $ # * + = ^ | \\ ~ °``, ``--``, ``...``, a hyphen at a word edge,
  and a word-final ``.`` — except after abbreviations (``u.s.``, ``a.m.``, ``e.g.``, ``ph.d.``,
  single-letter initials, titles/days/months/company words such as ``mr.`` ``etc.`` ``wed.``
  ``jan.`` ``inc.``, and ``no.``/``fig.``/``pp.``/``ca.`` before a number); runs of ``!``/``?``
  stay one token (``!!!``);
- kept whole: hyphenated words (``well-known``, ``3.5-inch``, ``e-mail``), numbers with ``,``
  ``.`` ``:`` or ``/`` between digits (``1,000``, ``3.5``, ``10:30``, ``1/2``), ``&``,
  ``a/b``, ``@user``, URLs (``http://…``, ``www.…``) and e-mail addresses; ``£`` → ``#``,
  ``€`` → ``$`` (as CoreNLP 3.4.1 prints them); no americanisation.

Known differences (CoreNLP's lexer has many more rules): rarer abbreviations; a single-letter
initial before some capitalised words (CoreNLP splits ``a. The`` but keeps ``a. Mr``; this keeps
both); ``.`` inside tokens such as ``v1.2``; numbers glued to units after a comma or colon
(``10,000km``, ``3:00pm`` are split by CoreNLP, kept here, while ``5km`` stays whole in both);
sentence-final abbreviations (CoreNLP adds an extra ``.`` token, which the filter removes
anyway); SGML/HTML entities and other currencies. Validate on a sample against
the Java output before trusting a Java-free CIDEr on unusual text.
"""

from __future__ import annotations

import re

# Tokens removed after tokenisation by coco-caption (exact, case-sensitive strings).
PTB_PUNCTUATION: frozenset[str] = frozenset(
    {"''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"}
)

_CHAR_MAP = {
    "\u2018": " ` ", "\u2019": "'", "\u201c": " `` ", "\u201d": " '' ", "\u2026": " ... ",
    "\u00a3": " # ", "\u20ac": " $ ",
}
_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "[": "-LSB-", "]": "-RSB-", "{": "-LCB-", "}": "-RCB-"}
_ATOMIC = frozenset({"``", "''", "...", "--", *_BRACKETS.values()})

_URL_OR_EMAIL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
_ALWAYS_SPLIT = re.compile(r"[;*+=^|\\~\u00b0%#]|\.\.\.|--")
_COMMA_OR_COLON_OUTSIDE_NUMBER = re.compile(r"(?<!\d)[,:]|[,:](?!\d)")
_DIGIT_APOSTROPHE_DIGIT = re.compile(r"(?<=\d)'(?=\d)")
_N_BETWEEN_APOSTROPHES = re.compile(r"'n'", re.IGNORECASE)
_BANG_OR_QUESTION_RUN_START = re.compile(r"^[!?]+")
_BANG_OR_QUESTION_RUN_END = re.compile(r"[!?]+$")
_DOTTED_LETTERS = re.compile(r"[A-Za-z]{1,2}(?:\.[A-Za-z]{1,2})+")

ABBREVIATIONS: frozenset[str] = frozenset({
    "mr", "mrs", "ms", "messrs", "dr", "prof", "st", "mt", "ave", "blvd", "rd", "ft", "jr", "sr",
    "etc", "vs", "cf", "al", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "mon", "tue", "tues", "wed", "thu", "thurs", "fri", "inc", "ltd", "co", "corp",
    "bros", "gen", "gov", "sen", "rep", "rev", "capt", "col", "lt", "sgt",
})
# Abbreviations only when the next token starts with a digit ("No. 5", "fig. 3", "pp. 3", "ca. 1900").
ABBREVIATIONS_BEFORE_NUMBER: frozenset[str] = frozenset({"no", "fig", "pp", "ca"})
_SPLIT_AT_3 = frozenset({"cannot", "gonna", "gotta", "wanna", "lemme", "gimme"})
_QUOTE_WORDS = frozenset({"'n'", "'n", "'em"})
_CLITICS_2 = ("'s", "'m", "'d")
_CLITICS_3 = ("'re", "'ve", "'ll")


def _quote_token(text: str, index: int) -> str:
    """A double quote closes after a letter, digit or closing punctuation, else it opens."""
    previous = text[index - 1] if index > 0 else " "
    closing = previous.isalnum() or previous in ".,!?;%)]}'"
    return " '' " if closing else " `` "


def _split_chunk(chunk: str) -> list[str]:
    """Insert token boundaries inside one whitespace-delimited chunk (no peeling yet)."""
    if _URL_OR_EMAIL.fullmatch(chunk.rstrip(".,;:!?")):
        stripped = chunk.rstrip(".,;:!?")
        return [stripped, *chunk[len(stripped):]]
    text = re.sub('"', lambda m: _quote_token(chunk, m.start()), chunk)
    text = _ALWAYS_SPLIT.sub(lambda m: f" {m.group()} ", text)
    text = "".join(f" {_BRACKETS[c]} " if c in _BRACKETS else c for c in text)
    text = _COMMA_OR_COLON_OUTSIDE_NUMBER.sub(lambda m: f" {m.group()} ", text)
    before_dollar = text
    # "$5" -> "$ 5"; glued to a preceding word ("US$5") the "$" stays on it: "us$ 5".
    text = re.sub(r"\$", lambda m: "$ " if m.start() > 0 and before_dollar[m.start() - 1].isalpha() else " $ ",
                  before_dollar)
    text = _DIGIT_APOSTROPHE_DIGIT.sub(" ' ", text)
    text = _N_BETWEEN_APOSTROPHES.sub(lambda m: f" {m.group()} ", text)
    return text.split()


def _is_abbreviation(token: str, following: str | None) -> bool:
    """Whether the final period of ``token`` belongs to it (original case)."""
    word = token[:-1]
    if _DOTTED_LETTERS.fullmatch(word) or re.fullmatch(r"[A-Za-z]", word):
        return True
    if word.lower() in ABBREVIATIONS:
        return True
    return word.lower() in ABBREVIATIONS_BEFORE_NUMBER and following is not None and following[:1].isdigit()


def _split_core(token: str) -> list[str]:
    """Clitics and the fixed multi-token words."""
    low = token.lower()
    if low in _SPLIT_AT_3:
        return [token[:3], token[3:]]
    if low == "y'all":
        return [token[:2], token[2:]]
    if low.endswith("n't") and len(token) > 3:
        return [token[:-3], token[-3:]]
    if low.endswith(_CLITICS_2) and len(token) > 2:
        return [token[:-2], token[-2:]]
    if low.endswith(_CLITICS_3) and len(token) > 3:
        return [token[:-3], token[-3:]]
    return [token]


def _peel(token: str, following: str | None) -> list[str]:
    """Split leading/trailing punctuation off one boundary-delimited piece, then its clitics."""
    if token in _ATOMIC or set(token) <= {"'", "`"} or _URL_OR_EMAIL.fullmatch(token):
        return [token]
    lead: list[str] = []
    while len(token) > 1:
        run = _BANG_OR_QUESTION_RUN_START.match(token)
        low = token.lower()
        if run and run.end() < len(token):
            lead.append(run.group())
            token = token[run.end():]
        elif token[0] == "'":
            if low in _QUOTE_WORDS or low in _CLITICS_2 + _CLITICS_3 or low == "n't" or token[1].isdigit():
                break
            if low in ("'tis", "'twas"):
                lead.append(token[:2])
                token = token[2:]
                break
            lead.append("`")
            token = token[1:]
        elif token[0] == "-" and not (token[1].isdigit() or token[1] in ".-"):
            lead.append("-")
            token = token[1:]
        else:
            break
    trail: list[str] = []
    while len(token) > 1:
        run = _BANG_OR_QUESTION_RUN_END.search(token)
        if run and run.start() > 0:
            trail.insert(0, run.group())
            token = token[: run.start()]
        elif token.endswith(".") and set(token) != {"."} and not _is_abbreviation(token, following):
            trail.insert(0, ".")
            token = token[:-1]
        elif token.endswith("'") and token.lower() not in _QUOTE_WORDS and token.lower() != "y'":
            trail.insert(0, "'")
            token = token[:-1]
        elif token.endswith("-"):
            trail.insert(0, "-")
            token = token[:-1]
        else:
            break
    return lead + _split_core(token) + trail


def ptb_tokenize(text: str) -> list[str]:
    """PTB tokens of one caption, lowercased, punctuation tokens included (the Java tokenizer's
    ``-preserveLines -lowerCase`` output for that line)."""
    for char, replacement in _CHAR_MAP.items():
        text = text.replace(char, replacement)
    pieces = [piece for chunk in text.split() for piece in _split_chunk(chunk)]
    tokens: list[str] = []
    for index, piece in enumerate(pieces):
        following = pieces[index + 1] if index + 1 < len(pieces) else None
        tokens.extend(_peel(piece, following))
    return [token.lower() for token in tokens]


def ptb_tokenize_caption(text: str) -> str:
    """coco-caption's tokenised form of one caption: :func:`ptb_tokenize`, drop every token that
    is exactly one of :data:`PTB_PUNCTUATION` (case-sensitive, so the lowercased bracket escapes
    stay), join with single spaces. E.g. ``It's a well-known (old) café, isn't it?`` →
    ``it 's a well-known -lrb- old -rrb- café is n't it``."""
    return " ".join(token for token in ptb_tokenize(text) if token not in PTB_PUNCTUATION)
