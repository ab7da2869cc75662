"""The synthetic world's vocabulary: verb families whose members look alike in feature space."""

from __future__ import annotations

import re

ACTORS = ("man", "woman", "boy", "girl", "child", "chef", "player", "teenager")
SCENES = ("kitchen", "park", "beach", "office", "street", "garage", "garden", "gym")

# family -> (verbs as (base, third person, -ing form), objects those verbs take)
VERB_FAMILIES: dict[str, tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]] = {
    "throwing": (
        (
            ("kick", "kicks", "kicking"),
            ("throw", "throws", "throwing"),
            ("toss", "tosses", "tossing"),
            ("catch", "catches", "catching"),
        ),
        ("ball", "frisbee", "stick", "bottle"),
    ),
    "cutting": (
        (
            ("cut", "cuts", "cutting"),
            ("chop", "chops", "chopping"),
            ("slice", "slices", "slicing"),
            ("peel", "peels", "peeling"),
        ),
        ("onion", "carrot", "bread", "apple"),
    ),
    "pouring": (
        (
            ("pour", "pours", "pouring"),
            ("fill", "fills", "filling"),
            ("spill", "spills", "spilling"),
            ("stir", "stirs", "stirring"),
        ),
        ("water", "coffee", "juice", "milk"),
    ),
    "opening": (
        (
            ("open", "opens", "opening"),
            ("close", "closes", "closing"),
            ("lock", "locks", "locking"),
            ("push", "pushes", "pushing"),
        ),
        ("door", "window", "box", "drawer"),
    ),
    "cleaning": (
        (
            ("wash", "washes", "washing"),
            ("wipe", "wipes", "wiping"),
            ("scrub", "scrubs", "scrubbing"),
            ("rinse", "rinses", "rinsing"),
        ),
        ("dishes", "table", "car", "floor"),
    ),
    "music": (
        (
            ("play", "plays", "playing"),
            ("strum", "strums", "strumming"),
            ("tune", "tunes", "tuning"),
            ("hold", "holds", "holding"),
        ),
        ("guitar", "piano", "drum", "violin"),
    ),
    "writing": (
        (
            ("read", "reads", "reading"),
            ("write", "writes", "writing"),
            ("draw", "draws", "drawing"),
            ("fold", "folds", "folding"),
        ),
        ("book", "letter", "map", "note"),
    ),
    "eating": (
        (
            ("eat", "eats", "eating"),
            ("bite", "bites", "biting"),
            ("taste", "tastes", "tasting"),
            ("chew", "chews", "chewing"),
        ),
        ("apple", "sandwich", "cake", "pizza"),
    ),
    "carrying": (
        (
            ("lift", "lifts", "lifting"),
            ("carry", "carries", "carrying"),
            ("drop", "drops", "dropping"),
            ("drag", "drags", "dragging"),
        ),
        ("box", "bag", "chair", "bucket"),
    ),
    "talking": (
        (
            ("talk", "talks", "talking"),
            ("speak", "speaks", "speaking"),
            ("shout", "shouts", "shouting"),
            ("whisper", "whispers", "whispering"),
        ),
        ("phone", "camera", "friend", "crowd"),
    ),
}

_STOPWORD_TEXT = (
    "a an and are as at be been but by down for from he her his in into is it its of off "
    "on onto or out over people person she some someone that the their then there these "
    "they this those to up was were which while who with "
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# Every inflected verb form -> (family, base form).
VERB_FORMS: dict[str, tuple[str, str]] = {
    form: (family, forms[0])
    for family, (verbs, _) in VERB_FAMILIES.items()
    for forms in verbs
    for form in forms
}

_WORD = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; a query with no word characters is one token."""
    return _WORD.findall(text.lower()) or [text.strip().lower() or "?"]


def stem(word: str) -> str:
    """Crude English stemming so that "talks", "talking" and "talked" share one vector."""
    if word in VERB_FORMS:
        return VERB_FORMS[word][1]
    for suffix in ("ing", "ed", "es", "s"):
        root = word[: -len(suffix)]
        if word.endswith(suffix) and len(root) >= 3:
            if suffix in ("ing", "ed") and len(root) >= 4 and root[-1] == root[-2]:
                root = root[:-1]
            return VERB_FORMS.get(root, (None, root))[1]
    return word


def sibling_verbs(word: str) -> list[str]:
    """Base forms of the other verbs in the word's family (empty outside the lexicon)."""
    entry = VERB_FORMS.get(word) or VERB_FORMS.get(stem(word))
    if entry is None:
        return []
    family, base = entry
    return [forms[0] for forms in VERB_FAMILIES[family][0] if forms[0] != base]
