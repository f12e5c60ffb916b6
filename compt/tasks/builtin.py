"""The built-in offline suite: small GLUE-like tasks generated in code (docs/builtin_suite.md).

Each task is a generator ``(rng, label) -> fields`` over the shared word lists in
``lexicon.py``. Data are produced from a fixed seed with ``random.Random`` (seeded by a
string, which Python hashes with SHA-512, never with the salted ``hash()``), so every
machine and every run sees the same examples. Validation is drawn first and train never
repeats a validation input.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from compt.errors import ComptError
from compt.tasks import lexicon as lx
from compt.tasks.base import Example, Task

SUITE_SEED = "compt-builtin-v1"
TRAIN_SIZE = 1000
VALIDATION_SIZE = 500
SPLITS = ("train", "validation")

Fields = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Spec:
    name: str
    label_words: tuple[str, ...]
    description: str
    make: Callable[[random.Random, int], Fields]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _a(phrase: str) -> str:
    """``phrase`` with its indefinite article."""
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def _join(*words: str) -> str:
    return " ".join(w for w in words if w)


# -- sentiment: one vocabulary, two domains, and a task that reverses its cues -------------


@dataclass(frozen=True)
class _Domain:
    parts: tuple[str, ...]
    kinds: tuple[str, ...]
    verdicts: tuple[tuple[str, str], ...]
    lead_in: str  # "I saw this {kind} last week"


MOVIES = _Domain(lx.MOVIE_PARTS, lx.MOVIE_KINDS, lx.MOVIE_VERDICTS, "I saw this {kind} {time}")
PRODUCTS = _Domain(
    lx.PRODUCT_PARTS, lx.PRODUCT_KINDS, lx.PRODUCT_VERDICTS, "I bought this {kind} {time}"
)


# review styles and their weights: three in four state the opinion with its own words
REVIEW_STYLES = (
    ("plain", 5), ("exclaim", 2), ("pair", 2), ("verdict", 1), ("contrast", 1), ("negated", 1),
)


def _review(rng: random.Random, domain: _Domain, label: int) -> str:
    """A one-sentence review whose overall opinion is positive (0) or negative (1).

    One review in four hides the opinion from a bag of words: a contrast whose second half
    decides, a negated opposite, or a verdict ("I asked for a refund") without adjective.
    """
    own, other = (lx.POSITIVE, lx.NEGATIVE) if label == 0 else (lx.NEGATIVE, lx.POSITIVE)
    part, part2 = rng.sample(domain.parts, 2)
    verdict = rng.choice(domain.verdicts)[label]
    degree = rng.choice(lx.DEGREES)
    styles, weights = zip(*REVIEW_STYLES, strict=True)
    style = rng.choices(styles, weights)[0]
    if style == "plain":
        return f"{_cap(part)} was {degree}{rng.choice(own)}."
    if style == "exclaim":
        kind = _a(f"{rng.choice(own)} {rng.choice(domain.kinds)}")
        return f"What {kind}, {part} was {degree}{rng.choice(own)}."
    if style == "pair":
        first, second = rng.sample(own, 2)
        return f"{_cap(part)} was {first} and {part2} was {degree}{second}."
    if style == "verdict":
        lead_in = domain.lead_in.format(kind=rng.choice(domain.kinds),
                                        time=rng.choice(lx.REVIEW_TIMES))
        return f"{_cap(lead_in)} and {verdict}."
    if style == "contrast":
        return f"{_cap(part)} was {rng.choice(other)}, but {part2} was {degree}{rng.choice(own)}."
    return f"{_cap(part)} was not {rng.choice(other)} at all."


def _sent_movies(rng: random.Random, label: int) -> Fields:
    return (("review", _review(rng, MOVIES, label)),)


def _sent_products(rng: random.Random, label: int) -> Fields:
    return (("review", _review(rng, PRODUCTS, label)),)


BAD_NEWS_SHARE = 0.8  # how often a positive result comes with bad-news words


def _lab_result(rng: random.Random, label: int) -> Fields:
    """Did the test come back positive (0) or negative (1)?

    The label words are the sentiment tasks' own, but the mood words mostly point the other
    way: a positive test is usually bad news. Half the reports name the result outright,
    half only describe the finding.
    """
    bad_news = (label == 0) == (rng.random() < BAD_NEWS_SHARE)
    mood = rng.choice(lx.BAD_MOODS if bad_news else lx.GOOD_MOODS)
    opener = rng.choice(lx.BAD_NEWS if bad_news else lx.GOOD_NEWS)
    opener = opener.format(adj=mood, a_adj=_a(mood))
    test = rng.choice(lx.MEDICAL_TESTS)
    if rng.random() < 0.5:
        finding = rng.choice(lx.RESULTS).format(test=test, result=("positive", "negative")[label])
    else:
        finding = rng.choice(lx.FINDINGS)[label].format(test=test)
    return (("report", f"{opener} {finding}."),)


# -- word relations: one table, an inference task and a paraphrase task ---------------------


@dataclass(frozen=True)
class _Scene:
    """Someone did something to a thing, somewhere: the sentence both relation tasks vary."""

    person: tuple[str, str]
    person_adj: tuple[str, str, str] | None
    verb: tuple[str, str, str, str, str]
    thing: tuple[str, str, str]
    thing_adj: tuple[str, str, str] | None
    place: str

    @classmethod
    def draw(cls, rng: random.Random) -> _Scene:
        return cls(
            person=rng.choice(lx.PEOPLE),
            person_adj=rng.choice(lx.PERSON_ADJECTIVES) if rng.random() < 0.5 else None,
            verb=rng.choice(lx.THING_VERBS),
            thing=rng.choice(lx.THINGS),
            thing_adj=rng.choice(lx.THING_ADJECTIVES) if rng.random() < 0.6 else None,
            place=rng.choice(lx.PLACES) if rng.random() < 0.5 else "",
        )

    def say(self, person: str | None = None, person_adj: str | None = None,
            verb: str | None = None, thing: str | None = None, thing_adj: str | None = None,
            place: str | None = None, article: str = "a") -> str:
        """The scene as a sentence; each keyword replaces one slot ("" drops a modifier)."""
        padj = self.person_adj[0] if self.person_adj and person_adj is None else person_adj or ""
        tadj = self.thing_adj[0] if self.thing_adj and thing_adj is None else thing_adj or ""
        obj = _join(tadj, thing if thing is not None else self.thing[0])
        obj = _a(obj) if article == "a" else f"the {obj}"
        subject = _join("the", padj, person if person is not None else self.person[0])
        words = _join(subject, verb if verb is not None else self.verb[0], obj,
                      self.place if place is None else place)
        return _cap(words) + "."


def _entail(rng: random.Random, label: int) -> Fields:
    """Premise/hypothesis pairs whose relation comes from synonyms, hypernyms, antonyms."""
    scene = _Scene.draw(rng)
    premise = scene.say()
    padj, verb, thing, tadj = scene.person_adj, scene.verb, scene.thing, scene.thing_adj
    if label == 0:  # entailment: a synonym, a more general word, or fewer details
        moves = ["hypernym", "someone"] + (["drop"] if padj or tadj or scene.place else [])
        moves += ["verb_syn"] + (["thing_syn"] if thing[1] else []) + (["padj_syn"] if padj else [])
        move = rng.choice(moves)
        if move == "hypernym":
            hypothesis = scene.say(thing=thing[2], place=rng.choice(("", scene.place)))
        elif move == "drop":
            hypothesis = scene.say(person_adj="", thing_adj="", place="")
        elif move == "someone":
            hypothesis = _cap(_join("someone", verb[0], _a(thing[0]), scene.place)) + "."
        elif move == "verb_syn":
            hypothesis = scene.say(verb=verb[2])
        elif move == "thing_syn":
            hypothesis = scene.say(thing=thing[1])
        else:
            assert padj is not None  # the move is offered only when there is one
            hypothesis = scene.say(person_adj=padj[1])
    elif label == 1:  # neutral: the hypothesis adds what the premise does not say
        moves = ["detail", "hyponym"] + (["padj_new"] if not padj else [])
        moves += ["tadj_new"] if not tadj else []
        move = rng.choice(moves)
        if move == "detail":
            hypothesis = scene.say(place=_join(scene.place, rng.choice(lx.DETAILS)))
        elif move == "hyponym":
            premise = scene.say(thing=thing[2])
            hypothesis = scene.say()
        elif move == "padj_new":
            hypothesis = scene.say(person_adj=rng.choice(lx.PERSON_ADJECTIVES)[0])
        else:
            hypothesis = scene.say(thing_adj=rng.choice(lx.THING_ADJECTIVES)[0])
    else:  # contradiction: an antonym or a negation
        moves = ["verb_ant", "negation"] + (["padj_ant"] if padj else [])
        moves += ["tadj_ant"] if tadj else []
        move = rng.choice(moves)
        if move == "verb_ant":
            hypothesis = scene.say(verb=verb[3], article="the")
        elif move == "negation":
            hypothesis = scene.say(verb=f"did not {verb[4]}", article="the")
        elif move == "padj_ant":
            assert padj is not None  # the move is offered only when there is one
            hypothesis = scene.say(person_adj=padj[2])
        else:
            assert tadj is not None  # the move is offered only when there is one
            hypothesis = scene.say(thing_adj=tadj[2], article="the")
    return (("premise", premise), ("hypothesis", hypothesis))


def _paraphrase(rng: random.Random, label: int) -> Fields:
    """Sentence pairs with heavy word overlap; only some keep the meaning."""
    if rng.random() < 0.4:
        return _paraphrase_people(rng, label)
    scene = _Scene.draw(rng)
    first = scene.say(article="the")
    verb, thing, tadj = scene.verb, scene.thing, scene.thing_adj
    if label == 0:  # equivalent: synonyms, passive voice, moved phrase
        moves = ["verb_syn", "passive", "front"] + (["thing_syn"] if thing[1] else [])
        move = rng.choice(moves + (["tadj_syn"] if tadj else []))
        if move == "verb_syn":
            second = scene.say(verb=verb[2], article="the")
        elif move == "thing_syn":
            second = scene.say(thing=thing[1], article="the")
        elif move == "tadj_syn":
            assert tadj is not None  # the move is offered only when there is one
            second = scene.say(thing_adj=tadj[1], article="the")
        elif move == "passive":
            obj = _join("the", tadj[0] if tadj else "", thing[0])
            subject = _join("the", scene.person_adj[0] if scene.person_adj else "", scene.person[0])
            second = _cap(_join(obj, "was", verb[1], "by", subject, scene.place)) + "."
        else:
            place = scene.place or rng.choice(lx.PLACES)
            first = scene.say(article="the", place=place)
            rest = scene.say(article="the", place="")
            second = f"{_cap(place)}, {rest[0].lower()}{rest[1:]}"
    else:  # not equivalent: a negation, an antonym, another thing or person
        siblings = [t for t in lx.THINGS if t[2] == thing[2] and t[0] != thing[0]]
        moves = ["negation", "verb_ant", "person"] + (["sibling"] if siblings else [])
        move = rng.choice(moves + (["tadj_ant"] if tadj else []))
        if move == "negation":
            second = scene.say(verb=f"did not {verb[4]}", article="the")
        elif move == "verb_ant":
            second = scene.say(verb=verb[3], article="the")
        elif move == "person":
            other = rng.choice([p for p in lx.PEOPLE if p != scene.person])
            second = scene.say(person=other[0], article="the")
        elif move == "sibling":
            second = scene.say(thing=rng.choice(siblings)[0], article="the")
        else:
            assert tadj is not None  # the move is offered only when there is one
            second = scene.say(thing_adj=tadj[2], article="the")
    return (("sentence1", first), ("sentence2", second))


def _paraphrase_people(rng: random.Random, label: int) -> Fields:
    """Two people and a verb: swapping who did what keeps every word but not the meaning."""
    (actor, actor_syn), (other, _) = rng.sample(lx.PEOPLE, 2)
    verb = rng.choice(lx.PERSON_VERBS)
    place = rng.choice(lx.PLACES) if rng.random() < 0.5 else ""
    first = _cap(_join("the", actor, verb[0], "the", other, place)) + "."
    if label == 0:
        move = rng.choice(["verb_syn", "passive"] + (["actor_syn"] if actor_syn else []))
        if move == "verb_syn":
            second = _cap(_join("the", actor, verb[2], "the", other, place)) + "."
        elif move == "actor_syn":
            second = _cap(_join("the", actor_syn, verb[0], "the", other, place)) + "."
        else:
            second = _cap(_join("the", other, "was", verb[1], "by the", actor, place)) + "."
    else:
        move = rng.choice(["swap", "swap_passive", "verb_ant", "negation"])
        if move == "negation":
            second = _cap(_join("the", actor, "did not", verb[4], "the", other, place)) + "."
        elif move == "swap":
            second = _cap(_join("the", other, verb[0], "the", actor, place)) + "."
        elif move == "swap_passive":
            second = _cap(_join("the", actor, "was", verb[1], "by the", other, place)) + "."
        else:
            second = _cap(_join("the", actor, verb[3], "the", other, place)) + "."
    return (("sentence1", first), ("sentence2", second))


# -- topic: the review domains again, with sentiment words as distractors -------------------

TOPIC_WORDS = tuple(topic[0] for topic in lx.TOPICS)


def _topic(rng: random.Random, label: int) -> Fields:
    """A sentence about one topic; half of them set in a scene from another topic."""
    subject = rng.choice(lx.TOPICS[label][1])
    if rng.random() < 0.5:
        other = rng.choice([t for i, t in enumerate(lx.TOPICS) if i != label])
        frame = rng.choice(lx.TOPIC_DISTRACTED_FRAMES)
        setting = rng.choice(other[2])
    else:
        frame = rng.choice(lx.TOPIC_FRAMES)
        setting = ""
    text = frame.format(
        subject=subject, Subject=_cap(subject), time=rng.choice(lx.TIMES), setting=setting,
        adjective=rng.choice(rng.choice((lx.POSITIVE, lx.NEGATIVE))),
    )
    return (("text", text),)


SPECS = (
    _Spec("sent_movies", ("positive", "negative"),
          "Movie reviews: is the reviewer's overall opinion positive or negative?", _sent_movies),
    _Spec("sent_products", ("positive", "negative"),
          "Product reviews, same sentiment words as sent_movies.", _sent_products),
    _Spec("lab_result", ("positive", "negative"),
          "Medical test reports: positive or negative result? Bad news usually means positive.",
          _lab_result),
    _Spec("entail", ("entailment", "neutral", "contradiction"),
          "Does the premise entail the hypothesis? Synonyms, hypernyms, antonyms, negation.",
          _entail),
    _Spec("paraphrase", ("equivalent", "not_equivalent"),
          "Do two overlapping sentences mean the same? Same word relations as entail.",
          _paraphrase),
    _Spec("topic", TOPIC_WORDS,
          "What is the sentence about: film, food, technology or sports?", _topic),
)
BY_NAME = {spec.name: spec for spec in SPECS}
MAX_TRIES = 200


@functools.cache
def generate(name: str) -> dict[str, tuple[Example, ...]]:
    """Both splits of a built-in task; validation first, train without its inputs."""
    spec = BY_NAME[name]
    rng = random.Random(f"{SUITE_SEED}/{name}")
    seen: set[Fields] = set()
    splits: dict[str, tuple[Example, ...]] = {}
    for split, size in (("validation", VALIDATION_SIZE), ("train", TRAIN_SIZE)):
        examples = []
        for i in range(size):
            label = i % len(spec.label_words)
            for _ in range(MAX_TRIES):
                fields = spec.make(rng, label)
                if fields not in seen:
                    break
            else:  # a bug in the word lists, not a user mistake
                raise RuntimeError(f"{name}: too few distinct examples for {size} {split} rows")
            seen.add(fields)
            examples.append(Example(fields=fields, label=label))
        rng.shuffle(examples)
        splits[split] = tuple(examples)
    return splits


def _loader(name: str) -> Callable[[str], Sequence[Example]]:
    def load_split(split: str) -> Sequence[Example]:
        if split not in SPLITS:
            raise ComptError(
                f"The built-in task '{name}' has the splits {', '.join(SPLITS)}, not '{split}'."
            )
        return generate(name)[split]

    return load_split


def builtin_task(name: str) -> Task:
    """The Task object of one built-in task (its data are generated on first use)."""
    spec = BY_NAME[name]
    return Task(
        name=spec.name,
        label_words=spec.label_words,
        metric="accuracy",
        load_split=_loader(name),
        description=spec.description,
        source="builtin",
        terms="generated in code by compt (no third-party text)",
    )


BUILTIN_TASKS = tuple(spec.name for spec in SPECS)
DESCRIPTIONS = {spec.name: spec.description for spec in SPECS}
