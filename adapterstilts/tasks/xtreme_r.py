"""The XTREME-R tasks (Ruder et al., EMNLP 2021) that XTREME does not already register.

XTREME-R reuses XNLI, MLQA and TyDiQA-GoldP (``tasks/xtreme.py``) and adds:

- ``xcopa``: XCOPA (Ponti et al. 2020), multiple choice between two alternatives, 11 languages, Hub
  ``cambridgeltl/xcopa`` config ``<lang>`` (columns premise, choice1, choice2, question, label, idx,
  changed; splits validation / test). English training data: COPA train (SuperGLUE), which the
  official ``scripts/train_xcopa.sh`` trains on *after* a first SIQA stage (``--task siqa`` then
  ``--task xcopa --train_lang en``; ``third_party/xcopa_data`` reads ``download/xcopa/train-en.jsonl``
  = SuperGLUE ``COPA/train.jsonl``). In X-STILTs terms SIQA is an intermediate task. COPA comes from
  ``aps/super_glue`` config ``copa`` (the Hub id of SuperGLUE: unverified, the older id is
  ``super_glue``). The first segment is ``"{premise} What was the {question}?"`` and each choice the
  second, as ``third_party/run_xcopa.py`` builds them.
- ``xquad_ro``: XQuAD with Romanian (12 languages, as XTREME-R's ``evaluate.py`` lists them). Romanian
  comes from ``google/xquad`` config ``xquad.ro`` (validation, 1190 rows; ``google/xtreme`` has no
  XQuAD.ro); the other 11 as the ``xquad`` task. A separate task so XTREME's XQuAD average is unchanged.
- ``tatoeba_r``: Tatoeba over XTREME-R's 41 languages (XTREME's 36 + az lt pl uk ro), scored from a
  SQuAD-trained encoder in XTREME-R (``scripts/run_tatoeba.sh`` points ``MODEL`` at a SQuAD v1.1
  fine-tuned XLM-R Large, ``--specific_layer 13``, mean pooling, cosine): evaluate it from a ``squad``
  run. A separate task so XTREME's Tatoeba average is unchanged. ``google/xtreme`` has ``tatoeba.<iso3>``
  configs for 35 of them; Telugu and the five new languages (``tatoeba.tel/aze/lit/pol/ukr/ron``) are
  read from ``--data DIR`` in the same layout (whether the Hub has them: unverified; the text is in
  facebookresearch/LASER ``data/tatoeba/v1/tatoeba.<iso3>-eng.{<iso3>,eng}``).
- ``mewslix``: Mewsli-X entity retrieval (mAP@20 = MRR@20), 11 mention languages against one English
  candidate set; trained as a dual encoder on English Wikipedia mention/entity pairs. Not on the Hub
  (unverified: none found): ``--data DIR`` in the layout XTREME's ``download_mewslix`` writes.
  The public test split has its labels removed (``utils_preprocess.py --task mewslix``), so the
  evaluation split is ``validation`` (WikiNews dev).
- ``lareqa``: LAReQA answer retrieval on XQuAD-R (mAP@20; each question has 11 relevant answer
  sentences, one per language, in a pool of all languages' sentences); trained on SQuAD v1.1 train.
  The Hub copy ``google-research-datasets/xquad_r`` drops ``sentence_breaks``, which define the
  candidates, so ``--data DIR`` holds ``lareqa/xquad-r/<lang>.json`` as ``download_lareqa`` writes it.

- ``udpos_r``: UD-POS over XTREME-R's 38 languages (XTREME's 33 + lt pl uk wo ro). XTREME-R takes the five
  new languages from UD v2.7 (``scripts/download_data.sh`` ``download_treebank xtreme-r``) and, as for
  XTREME, joins *every* treebank of a language per split (``utils_preprocess.udpos_preprocess``: all
  ``<lang>_*-ud-{train,dev,test}`` files, in sorted file-name order). Here they come from the Hub's
  ``universal-dependencies/universal_dependencies`` (UD v2.7, one config per treebank, a loading script
  read through its Parquet conversion: that the conversion exists is unverified), treebanks as
  ``UD_R_TREEBANKS`` lists them. Its ``upos`` ClassLabel order differs from ``google/xtreme`` udpos
  (NOUN PUNCT ADP ... with ``_``): tags are mapped by *name* onto XTREME's order. Rows of the Hub's
  conllu parse whose ``upos`` is ``_`` or whose ``head`` is ``None`` (multiword-token ranges and empty
  nodes) are dropped, so words are UD's syntactic words; XTREME instead converts with
  ``conllu_to_conll.py --replace_subtokens_with_fused_forms`` (the fused form, tagged with its
  span head's POS), so Polish and Romanian clitic contractions are tokenised differently (not matched).
  The Hub loader points ``lt_hse``'s dev and test at its *train* file, so only its train split is used
  (Lithuanian dev/test are ALKSNIS alone; XTREME adds HSE's 55 + 55 sentences: not matched). For the
  exact data, ``--data DIR`` with the same ``universal-dependencies__universal_dependencies/<treebank>/``
  files built from UD v2.7.
- ``panx_r``: PAN-X over XTREME-R's 48 languages (XTREME's 40 + qu pl uk az lt pa gu ro). The 40 come
  from ``google/xtreme`` ``PAN-X.<lang>`` like ``panx``; the 8 new ones from ``unimelb-nlp/wikiann``
  config ``<lang>`` (Parquet; columns tokens, ner_tags [ClassLabel O B-PER I-PER B-ORG I-ORG B-LOC
  I-LOC, PAN-X's order], langs, spans), the Rahimi et al. (2019) splits that XTREME's PAN-X uses too
  (byte-identity with XTREME's ``AmazonPhotos.zip`` copy: unverified).

Local layouts are the official ones, read through the package's ``<dataset>/<config>/<split>`` rule:
``mewslix/candidate_set_entities.jsonl``, ``mewslix/wikipedia_pairs-{train,dev}.jsonl``,
``mewslix/wikinews_mentions/{dev,test}-<lang>.jsonl`` and ``lareqa/xquad-r/<lang>.json``.
"""
from __future__ import annotations

import re

from adapterstilts.errors import UserError
from adapterstilts.formats.dual_encoder import rows_to_dataset
from adapterstilts.languages import config_names
from adapterstilts.tasks.base import DataRequirement, Source, register_task
from adapterstilts.tasks.intermediate import no_split, project
from adapterstilts.tasks.xtreme import PANX, SQUAD_TRAIN, UDPOS, UPOS, XQuAD, Tatoeba, _Target

# ------------------------------------------------------------------------------------------- XCOPA
XCOPA_LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")  # evaluate.py XTREME_R_TASK2LANGS
COPA = ("aps/super_glue", "copa")


@register_task
class XCOPA(_Target):
    name = "xcopa"
    format = "multiple_choice"
    metric = "accuracy"
    description = "XCOPA causal commonsense, 2 choices, 11 languages (train: English COPA; XTREME-R: after SIQA)"
    languages = XCOPA_LANGUAGES
    max_length = 128  # scripts/train_xcopa.sh MAXL

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if language == "en":
            if split == "test":
                raise no_split(self, split, ("validation",), "COPA's test labels are hidden; English is for training")
            return [Source(*COPA, split, tag="copa")]
        if split == "train":
            raise self._no_train(language, "COPA")
        return [Source("cambridgeltl/xcopa", language, split)]

    def canonicalize(self, dataset, source: Source):
        def row(r: dict) -> dict:
            label = int(r["label"])
            return {"id": str(r.get("idx", "")), "question": f"{r['premise']} What was the {r['question']}?",
                    "choices": [r["choice1"], r["choice2"]], "label": label if label in (0, 1) else -1}

        return project(dataset, row, self.format)


# ------------------------------------------------------------------------------------- XQuAD + ro
@register_task
class XQuADRo(XQuAD):
    name = "xquad_ro"
    description = "XQuAD extractive QA, 12 languages with Romanian as XTREME-R (train: SQuAD v1.1)"
    languages = tuple(sorted(XQuAD.languages + ("ro",)))

    def sources(self, split: str, language: str) -> list[Source]:
        if language == "ro" and split != "train":
            self._start(split, language)
            if split == "test":
                raise no_split(self, split, ("validation",), "XQuAD is a single evaluation set")
            return [Source("google/xquad", "xquad.ro", "validation")]
        return super().sources(split, language)


# ------------------------------------------------------------------------------ UD-POS (38), PAN-X (48)
UD27 = "universal-dependencies/universal_dependencies"
# universal-dependencies/universal_dependencies upos ClassLabel order (UD v2.7 loader); "_" marks the
# multiword-token range rows of its conllu parse
UD27_UPOS = ("NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET", "CCONJ", "PROPN", "PRON", "X", "_",
             "ADV", "INTJ", "VERB", "AUX")
_ALL = ("train", "validation", "test")
# XTREME-R's UD v2.7 languages: every treebank of the language (download_treebank xtreme-r), with the
# splits the Hub loader really has for it (lt_hse: train only, its dev/test there are its train file)
UD_R_TREEBANKS = {
    "lt": (("lt_alksnis", _ALL), ("lt_hse", ("train",))),
    "pl": (("pl_lfg", _ALL), ("pl_pdb", _ALL), ("pl_pud", ("test",))),
    "ro": (("ro_nonstandard", _ALL), ("ro_rrt", _ALL), ("ro_simonero", _ALL)),
    "uk": (("uk_iu", _ALL),),
    "wo": (("wo_wtb", _ALL),),
}
PANX_R_NEW = ("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")  # evaluate.py XTREME_R_TASK2LANGS['panx'] beyond XTREME's


def ud27_row(row: dict, where: str) -> dict:
    """One ``universal_dependencies`` row -> tokens and XTREME's UPOS ids, mapped by tag name; range rows
    (upos ``_``) and empty nodes (head ``None``) dropped."""
    tokens, tags = [], []
    heads = row.get("head") or ["0"] * len(row["tokens"])
    for token, tag, head in zip(row["tokens"], row["upos"], heads):
        name = UD27_UPOS[tag] if isinstance(tag, int) and 0 <= tag < len(UD27_UPOS) else str(tag)
        if name == "_" or str(head) == "None":
            continue
        if name not in UPOS:
            raise UserError(f"{where}: upos {tag!r} is not a UPOS tag ({', '.join(UPOS)}); check the data file")
        tokens.append(token)
        tags.append(UPOS.index(name))
    return {"tokens": tokens, "tags": tags}


@register_task
class UDPOSR(UDPOS):
    name = "udpos_r"
    description = "UD-POS tagging, XTREME-R's 38 languages (lt pl uk wo ro from UD v2.7; train: UD English)"
    languages = tuple(sorted(UDPOS.languages + tuple(UD_R_TREEBANKS)))

    def sources(self, split: str, language: str) -> list[Source]:
        if language not in UD_R_TREEBANKS:
            return super().sources(split, language)
        self._start(split, language)
        parts = [Source(UD27, treebank, split, tag="ud27") for treebank, splits in UD_R_TREEBANKS[language]
                 if split in splits]
        if not parts:
            raise no_split(self, split, tuple(s for s in _ALL if any(s in sp for _, sp in UD_R_TREEBANKS[language])))
        return parts

    def canonicalize(self, dataset, source: Source):
        if source.tag != "ud27":
            return super().canonicalize(dataset, source)
        where = source.describe()
        return project(dataset, lambda r: ud27_row(r, where), self.format)


@register_task
class PANXR(PANX):
    name = "panx_r"
    description = "PAN-X (WikiANN) NER, XTREME-R's 48 languages (8 new ones from unimelb-nlp/wikiann; train: English)"
    languages = tuple(PANX.languages) + PANX_R_NEW

    def sources(self, split: str, language: str) -> list[Source]:
        if language not in PANX_R_NEW:
            return super().sources(split, language)
        self._start(split, language)
        return [Source("unimelb-nlp/wikiann", language, split)]


# ------------------------------------------------------------------------------------- Tatoeba (41)
TATOEBA_R_LANGUAGES = tuple("ar he vi id jv tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th "
                            "sw zh kk tr et fi hu az lt pl uk ro".split())  # evaluate.py XTREME_R_TASK2LANGS['tatoeba']
# Tatoeba's ISO 639-3 file codes for the languages google/xtreme has no config for (LASER data/tatoeba/v1)
TATOEBA_LOCAL = {"te": "tel", "az": "aze", "lt": "lit", "pl": "pol", "uk": "ukr", "ro": "ron"}
TATOEBA_R_CONFIG = {**config_names("tatoeba"), **TATOEBA_LOCAL}


@register_task
class TatoebaR(Tatoeba):
    name = "tatoeba_r"
    description = "Tatoeba x->en retrieval, XTREME-R's 41 languages (no training; XTREME-R scores a SQuAD-trained encoder)"
    languages = tuple(sorted(TATOEBA_R_LANGUAGES))

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        self._no_training(split, language)
        if split == "test":
            raise no_split(self, split, ("validation",), "Tatoeba is a single evaluation set")
        return [Source("google/xtreme", f"tatoeba.{TATOEBA_R_CONFIG[language]}", "validation")]


# ------------------------------------------------------------------------------------------ Mewsli-X
MEWSLIX_LANGUAGES = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")  # utils_mewslix.MENTION_LANGUAGES
_MARKER_L, _MARKER_R = "{", "}"
_MARKER_RE = re.compile(rf"{re.escape(_MARKER_L)}(.*?){re.escape(_MARKER_R)}")


def _normalise(text: str) -> str:
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def mewslix_entity_text(entity: dict) -> str:
    """utils_mewslix.preprocess_entity_description: the description's sentences joined by spaces."""
    description = entity["description"]
    return _normalise(" ".join(description[s["start"]:s["end"]] for s in entity["sentence_spans"]))


def mewslix_query_text(context: dict, mention: dict) -> str:
    """utils_mewslix.preprocess_mention: the mention's sentence with the mention in { } markers (existing
    markers escaped to parentheses), the mention text prepended: ``"Smith: ... { Smith } ..."``."""
    span = mention["mention_span"]
    sentence = next((s for s in context["sentence_spans"] if s["start"] <= span["start"] < s["end"]
                     and s["start"] < span["end"] <= s["end"]), None)
    if sentence is None:
        raise UserError(f"Mewsli-X mention {mention['example_id']!r} crosses a sentence boundary or has no sentence; "
                        "check the data file")
    text = context["text"][sentence["start"]:sentence["end"]]
    start, end = span["start"] - sentence["start"], span["end"] - sentence["start"]
    left, right = _MARKER_RE.sub(r"(\1)", text[:start]), _MARKER_RE.sub(r"(\1)", text[end:])
    return _normalise(f"{span['text']}: {left} {_MARKER_L} {span['text']} {_MARKER_R} {right}")


MEWSLIX_DATA = DataRequirement(
    "Mewsli-X is not on the Hugging Face Hub: build it with google-research/xtreme scripts/download_data.sh "
    "(download_mewslix) and pass --data DIR with DIR/mewslix/{candidate_set_entities.jsonl, wikipedia_pairs-train.jsonl, "
    "wikipedia_pairs-dev.jsonl, wikinews_mentions/dev-<lang>.jsonl}")


@register_task
class MewsliX(_Target):
    name = "mewslix"
    format = "dual_encoder"
    metric = "map_at_20"
    description = "Mewsli-X entity retrieval, 11 languages, mAP@20 (train: English Wikipedia mention-entity pairs)"
    languages = MEWSLIX_LANGUAGES
    eval_split = "validation"  # the public test split has no labels
    max_length = 64  # scripts/train_mewslix.sh / run_eval_mewslix.sh MAX_SEQ_LEN (queries and candidates)
    max_query_length = 64
    requires_local_data = MEWSLIX_DATA
    single_gold = True  # one gold entity per mention (``score`` reads the first listed id, as utils_mewslix)

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if split == "train":
            if language != "en":
                raise self._no_train(language, "Wikipedia mention-entity pairs")
            return [Source("mewslix", ".", "wikipedia_pairs-train", tag="pairs")]
        hub = "dev" if split == "validation" else "test"
        return [Source("mewslix", "wikinews_mentions", f"{hub}-{language}", tag="mentions"),
                Source("mewslix", ".", "candidate_set_entities", tag="entities")]

    def selection_sources(self) -> list[Source]:
        return [Source("mewslix", ".", "wikipedia_pairs-dev", tag="pairs")]  # run_retrieval_el.py --predict_file

    def canonicalize(self, dataset, source: Source):
        rows: list[dict] = []
        for r in dataset:
            if source.tag == "pairs":
                cm = r["contextual_mention"]
                rows.append({"role": "pair", "id": cm["mention"]["example_id"],
                             "text": mewslix_query_text(cm["context"], cm["mention"]),
                             "positive": mewslix_entity_text(r["entity"])})
            elif source.tag == "mentions":
                for m in r["mentions"]:
                    gold = (m.get("entity_id") or "").strip()
                    rows.append({"role": "query", "id": m["example_id"], "text": mewslix_query_text(r["context"], m),
                                 "relevant": [gold] if gold else []})
            else:
                rows.append({"role": "candidate", "id": r["entity_id"], "text": mewslix_entity_text(r)})
        return rows_to_dataset(rows)


# -------------------------------------------------------------------------------------------- LAReQA
LAREQA_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")  # XQuAD-R's 11
_SENTENCE_END = re.compile(r"""([.?!][)'" \u201D]*)\s(\s*[\['"(\u201C]?[A-Z0-9])""")
_NO_BREAK = re.compile(r"\b(Mrs?|Ms|Dr|Prof|Fr|Rev|St|Lt|Gen|Col|Capt|Sgt|Gov|Sen|Pres|e\.g|i\.e|vs|cf|Jan|Aug|Oct|Nov|Dec|Mt|Ft)\.\n")


def sentence_breaks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: the main rule of XTREME's ``third_party/processors/sb_sed.py``
    (a break after [.?!] and optional closing quotes, before whitespace and an optional opening quote or
    bracket and an upper-case letter or digit) with its title / abbreviation rejoins; sb_sed's other
    Wikipedia-specific rules are left out (an approximation, used for SQuAD training pairs only: the
    evaluation data carries its own ``sentence_breaks``)."""
    flat = text.replace("\n", " ")
    broken = _NO_BREAK.sub(r"\1. ", _SENTENCE_END.sub(r"\1\n\2", flat))
    spans, start = [], 0
    for piece in broken.split("\n"):
        lead = len(piece) - len(piece.lstrip())
        stripped = piece.strip()
        spans.append((start + lead, start + lead + len(stripped)))
        start += len(piece) + 1
    return spans


LAREQA_DATA = DataRequirement(
    "LAReQA needs XQuAD-R's sentence_breaks, which the Hub copy (google-research-datasets/xquad_r) drops: get "
    "github.com/google-research-datasets/lareqa (as google-research/xtreme download_lareqa does) and pass --data DIR with "
    "DIR/lareqa/xquad-r/<lang>.json, plus DIR/rajpurkar__squad/default/{train,validation}.jsonl for training "
    "(`adapterstilts export-data squad`)")


@register_task
class LAReQA(_Target):
    """Evaluation in language L: L's questions retrieve among the candidate sentences of *all* XQuAD-R
    languages (every sentence of every paragraph, ``<lang>_<paragraph number>_<sentence position>`` as
    the official ``utils_lareqa`` names them; candidate text = sentence + paragraph, newlines removed);
    relevant = the answer sentence of the same question id in every language. The official score is
    the mean AP@20 over all questions of all languages; here each language's questions are averaged and
    the suite averages the languages, the same number when every language keeps all its questions
    (XQuAD-R is 11-way parallel: 1190 questions each)."""

    name = "lareqa"
    format = "dual_encoder"
    metric = "map_at_20"
    description = "LAReQA language-agnostic answer retrieval on XQuAD-R, mAP@20 (train: SQuAD v1.1)"
    languages = LAREQA_LANGUAGES
    eval_split = "validation"
    max_length = 256  # scripts/train_lareqa.sh MAX_ANSWER_LEN
    max_query_length = 96  # MAX_QUERY_LEN
    requires_local_data = LAREQA_DATA

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if split == "train":
            if language != "en":
                raise self._no_train(language, "SQuAD v1.1")
            return [SQUAD_TRAIN]
        if split == "test":
            raise no_split(self, split, ("validation",), "XQuAD-R is a single evaluation set")
        return [Source("lareqa", "xquad-r", lang, tag=("queries+" if lang == language else "") + f"candidates:{lang}")
                for lang in self.languages]

    def selection_sources(self) -> list[Source]:
        return [Source("rajpurkar/squad", None, "validation", tag="squad")]

    def canonicalize(self, dataset, source: Source):
        if source.tag == "squad":
            return rows_to_dataset(_squad_pairs(dataset))
        lang = source.tag.split(":", 1)[1]
        queries = source.tag.startswith("queries+")
        if "data" not in dataset.column_names:
            raise UserError(f"{source.describe()} is not XQuAD-R SQuAD-format JSON (a 'data' list of articles); "
                            "use lareqa/xquad-r/<lang>.json as released")
        rows: list[dict] = []
        paragraph_no = 0
        for record in dataset:
            for article in record["data"]:
                for paragraph in article["paragraphs"]:
                    paragraph_no += 1
                    context = paragraph["context"]
                    breaks = [(int(s), int(e)) for s, e in paragraph["sentence_breaks"]]
                    answers_of: dict[int, list[str]] = {}
                    for qa in paragraph["qas"]:
                        start = int(qa["answers"][0]["answer_start"])
                        pos = next((n for n, (s, e) in enumerate(breaks) if s <= start < e), None)
                        if pos is None:
                            continue  # utils_lareqa skips answers outside every sentence
                        answers_of.setdefault(pos, []).append(str(qa["id"]))
                        if queries:
                            rows.append({"role": "query", "id": f"{qa['id']}_{lang}", "text": qa["question"],
                                         "relevant": [str(qa["id"])]})
                    for pos, (s, e) in enumerate(breaks):
                        rows.append({"role": "candidate", "id": f"{lang}_{paragraph_no}_{pos}",
                                     "text": (context[s:e] + context).replace("\n", ""), "relevant": answers_of.get(pos, [])})
        return rows_to_dataset(rows)


def _squad_pairs(dataset) -> list[dict]:
    """SQuAD rows -> (question, answer sentence + paragraph) pairs, as run_retrieval_qa.py trains;
    questions whose answer lies outside every inferred sentence are skipped, as there."""
    rows = []
    for r in dataset:
        starts = list(r["answers"]["answer_start"])
        if not starts:
            continue
        start, context = int(starts[0]), r["context"]
        sentence = next((context[s:e] for s, e in sentence_breaks(context) if s <= start < e), None)
        if sentence:
            rows.append({"role": "pair", "id": str(r["id"]), "text": r["question"],
                         "positive": (sentence + context).replace("\n", "")})
    return rows
