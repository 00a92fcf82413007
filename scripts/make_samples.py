"""Write the bundled samples under adapterstilts/samples/ (deterministic; rerun after any change).

Each file is ``<dataset id, / as __>/<config or default>/<split>.jsonl`` in the schema ``datasets``
gives for the Hub dataset exported with ``Dataset.to_json(lines=True)``: ClassLabel columns as ints,
string labels as strings (XNLI ``gold_label``, PAWS-X ``label``, HellaSwag ``label``, CommonsenseQA
``answerKey``), answers as {"text": [...], "answer_start": [...]}, tags as ClassLabel ids. The text is
written for these samples (short, templated, several scripts); classification and multiple-choice
rows carry a lexical cue correlated with the label so a tiny model can beat chance in a demo.

    .venv/bin/python scripts/make_samples.py
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from adapterstilts.tasks.intermediate import CCG_SUPERTAGS  # noqa: E402
from adapterstilts.tasks.xtreme import PANX_TAGS, UPOS  # noqa: E402

OUT = ROOT / "adapterstilts" / "samples"
WRITTEN: list[Path] = []


def write(dataset: str, config: str | None, split: str, rows: list[dict]) -> None:
    path = OUT / dataset.replace("/", "__") / (config or "default") / f"{split}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    WRITTEN.append(path)


def hexid(*parts, n: int = 24) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:n]


def an(word: str) -> str:
    return f"{'an' if word[0].lower() in 'aeiou' else 'a'} {word}"


def place(correct: str, others: list[str], position: int) -> list[str]:
    choices = list(others)
    choices.insert(position, correct)
    return choices


# ----------------------------------------------------------------------------------------- NLI
# (subject, verb phrase, place) per language; hi verb phrases are (object, verb) for the negation.
SCENES = {
    "en": [("A man", "is reading a newspaper", "on a bench in the park"), ("A boy", "is playing football", "in the street"),
           ("A cook", "is cutting vegetables", "in the kitchen"), ("A farmer", "is driving a tractor", "across the field"),
           ("A student", "is writing a letter", "in the library"), ("A worker", "is repairing a bicycle", "in front of the shop"),
           ("A child", "is drinking milk", "at the table"), ("A young man", "is playing the guitar", "on the stage"),
           ("A woman", "is painting a picture", "by the window"), ("A girl", "is feeding the ducks", "at the pond"),
           ("An old man", "is walking his dog", "along the beach"), ("A nurse", "is checking a patient's temperature", "in the hospital"),
           ("A teacher", "is explaining a lesson", "in the classroom"), ("A musician", "is tuning a violin", "behind the stage"),
           ("A driver", "is washing a truck", "in the parking lot"), ("A baker", "is selling fresh bread", "at the market")],
    "de": [("Ein Mann", "liest eine Zeitung", "auf einer Bank im Park"), ("Ein Junge", "spielt Fußball", "auf der Straße"),
           ("Ein Koch", "schneidet Gemüse", "in der Küche"), ("Ein Bauer", "fährt einen Traktor", "über das Feld"),
           ("Ein Student", "schreibt einen Brief", "in der Bibliothek"), ("Ein Arbeiter", "repariert ein Fahrrad", "vor dem Laden"),
           ("Ein Kind", "trinkt Milch", "am Tisch"), ("Ein junger Mann", "spielt Gitarre", "auf der Bühne")],
    "zh": [("一个男人", "看报纸", "在公园的长椅上"), ("一个男孩", "踢足球", "在街上"), ("一位厨师", "切菜", "在厨房里"),
           ("一个农民", "开拖拉机", "在田野里"), ("一个学生", "写信", "在图书馆里"), ("一个工人", "修自行车", "在商店门前"),
           ("一个孩子", "喝牛奶", "在桌子旁"), ("一个年轻人", "弹吉他", "在舞台上")],
    "ar": [("رجل", "يقرأ صحيفة", "على مقعد في الحديقة"), ("صبي", "يلعب كرة القدم", "في الشارع"), ("طباخ", "يقطع الخضار", "في المطبخ"),
           ("مزارع", "يقود جرارا", "في الحقل"), ("طالب", "يكتب رسالة", "في المكتبة"), ("عامل", "يصلح دراجة", "أمام المتجر"),
           ("طفل", "يشرب الحليب", "على الطاولة"), ("شاب", "يعزف على الغيتار", "على المسرح")],
    "hi": [("एक आदमी", ("अख़बार", "पढ़ रहा है"), "पार्क की बेंच पर"), ("एक लड़का", ("फ़ुटबॉल", "खेल रहा है"), "सड़क पर"),
           ("एक रसोइया", ("सब्ज़ियाँ", "काट रहा है"), "रसोई में"), ("एक किसान", ("ट्रैक्टर", "चला रहा है"), "खेत में"),
           ("एक छात्र", ("चिट्ठी", "लिख रहा है"), "पुस्तकालय में"), ("एक मज़दूर", ("साइकिल", "ठीक कर रहा है"), "दुकान के सामने"),
           ("एक बच्चा", ("दूध", "पी रहा है"), "मेज़ पर"), ("एक नौजवान", ("गिटार", "बजा रहा है"), "मंच पर")],
    "ru": [("Мужчина", "читает газету", "на скамейке в парке"), ("Мальчик", "играет в футбол", "на улице"),
           ("Повар", "режет овощи", "на кухне"), ("Фермер", "ведёт трактор", "по полю"), ("Студент", "пишет письмо", "в библиотеке"),
           ("Рабочий", "чинит велосипед", "перед магазином"), ("Ребёнок", "пьёт молоко", "за столом"),
           ("Молодой человек", "играет на гитаре", "на сцене")],
}
NEUTRAL_EN = ["to pass the time", "because it is a sunny day", "for the first time", "before going home"]


def nli_pair(lang: str, scene: tuple, label: int, k: int = 0) -> tuple[str, str]:
    """Premise and hypothesis; cue words: "Someone"-type = entailment, "Nobody"-type = contradiction."""
    s, vp, pl = scene
    if lang == "hi":
        obj, verb = vp
        premise = f"{s} {pl} {obj} {verb}।"
        return premise, [f"कोई {obj} {verb}।", f"{s} समय बिताने के लिए {obj} {verb}।", f"कोई भी {obj} नहीं {verb}।"][label]
    premise = {"en": f"{s} {vp} {pl}.", "de": f"{s} {vp} {pl}.", "zh": f"{s}{pl}{vp}。", "ar": f"{s} {vp} {pl}.",
               "ru": f"{s} {vp} {pl}."}[lang]
    hyps = {
        "en": [f"Someone {vp}.", f"{s} {vp} {NEUTRAL_EN[k % 4]}.", f"Nobody {vp}."],
        "de": [f"Jemand {vp}.", f"{s} {vp}, um sich die Zeit zu vertreiben.", f"Niemand {vp}."],
        "zh": [f"有人在{vp}。", f"{s}{vp}是为了打发时间。", f"没有人在{vp}。"],
        "ar": [f"شخص ما {vp}.", f"{s} {vp} لتمضية الوقت.", f"لا أحد {vp}."],
        "ru": [f"Кто-то {vp}.", f"{s} {vp}, чтобы скоротать время.", f"Никто не {vp}."],
    }[lang]
    return premise, hyps[label]


def make_nli() -> None:
    en = SCENES["en"]
    mnli = []
    for i in range(48):
        premise, hypothesis = nli_pair("en", en[i % 16], i % 3, i // 16)
        mnli.append({"premise": premise, "hypothesis": hypothesis, "label": i % 3, "idx": i if i < 32 else i - 32})
    write("nyu-mll/glue", "mnli", "train", mnli[:32])
    write("nyu-mll/glue", "mnli", "validation_matched", mnli[32:])

    snli = []
    for i in range(24):
        premise, hypothesis = nli_pair("en", en[(i * 5) % 16], (i + 1) % 3, i + 1)
        snli.append({"premise": premise[:-1] + " while other people watch.", "hypothesis": hypothesis, "label": -1 if i % 6 == 5 else (i + 1) % 3})
    write("stanfordnlp/snli", None, "train", snli)

    xnli = {"validation": [], "test": []}
    for split, langs, count, shift in (("validation", ("en", "de", "zh"), 6, 1), ("test", ("en", "de", "ar", "zh", "hi", "ru"), 8, 0)):
        for lang in langs:
            for i in range(count):
                premise, hypothesis = nli_pair(lang, SCENES[lang][i], (i + shift) % 3)
                gold = ("entailment", "neutral", "contradiction")[(i + shift) % 3]
                xnli[split].append({"language": lang, "sentence1": premise, "sentence2": hypothesis, "gold_label": gold})
    for split, rows in xnli.items():
        write("google/xtreme", "XNLI", split, rows)


PEOPLE = [("Elena Marsh", "British", "architect", "designed three railway stations"),
          ("Tariq Haddad", "Jordanian", "violinist", "recorded twelve albums"),
          ("Ingrid Solberg", "Norwegian", "biologist", "studied Arctic seabirds"),
          ("Marcus Reyes", "Chilean", "novelist", "wrote a trilogy about the Andes"),
          ("Yuki Morimoto", "Japanese", "engineer", "built early solar cars"),
          ("Amara Okafor", "Nigerian", "journalist", "reported on elections across West Africa"),
          ("Pavel Novak", "Czech", "photographer", "documented life in mining towns"),
          ("Lucia Bianchi", "Italian", "chef", "opened restaurants in Rome and Turin"),
          ("Owen Price", "Welsh", "rugby player", "captained his club for six seasons"),
          ("Sanne de Vries", "Dutch", "painter", "painted large harbour scenes"),
          ("Rahul Mehta", "Indian", "economist", "advised the central bank"),
          ("Clara Jensen", "Danish", "cyclist", "won two national titles")]


def make_anli() -> None:
    rows = []
    for i in range(48):
        name, nat, job, deed = PEOPLE[i % 12]
        year, label = 1940 + (i * 7) % 50, (i + i // 12) % 3
        premise = f"{name} (born {year}) is {an(nat)} {job} who {deed}. {name.split()[0]} has lived abroad for many years."
        hypothesis = [f"{name} works as {an(job)}.", f"{name} is the most famous {job} in the country.",
                      f"{name} has never worked as {an(job)}."][label]
        reason = ["The context names the profession.", "The context says nothing about fame.",
                  "The context says the opposite."][label] if i % 4 else ""
        u = hexid("anli", i, n=32)
        rows.append({"uid": f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}",
                     "premise": premise, "hypothesis": hypothesis, "label": label, "reason": reason})
    for r in range(3):
        write("facebook/anli", None, f"train_r{r + 1}", rows[r * 10:(r + 1) * 10])
        write("facebook/anli", None, f"dev_r{r + 1}", rows[30 + r * 6:36 + r * 6])


TOPICS = ["Python", "Spanish", "the guitar", "chess", "cooking", "swimming", "photography", "statistics", "drawing",
          "touch typing", "German", "yoga", "the piano", "knitting", "public speaking", "algebra"]


def make_qqp() -> None:
    rows = []
    for i in range(48):
        topic, other = TOPICS[i % 16], TOPICS[(i * 5 + 3) % 16]
        label = (i + i // 16) % 2
        q1 = [f"How can I learn {topic} quickly?", f"What are good books for beginners in {topic}?"][i % 2]
        q2 = ([f"Why do so many people find {other} boring?", f"Is {other} worth learning after the age of forty?"][i % 2]
              if label == 0 else [f"What is the fastest way to learn {topic}?", f"Which books would you recommend to a beginner in {topic}?"][i % 2])
        rows.append({"question1": q1, "question2": q2, "label": label, "idx": i if i < 32 else i - 32})
    write("nyu-mll/glue", "qqp", "train", rows[:32])
    write("nyu-mll/glue", "qqp", "validation", rows[32:])


# ------------------------------------------------------------------------------------------ QA
FIELDS = ("org", "kind", "city", "year", "founder", "product")
EN_RECORDS = [dict(zip(FIELDS, r)) for r in [
    ("Northwind Press", "publishing house", "Edinburgh", "1921", "Margaret Hale", "illustrated travel guides"),
    ("Blue Harbor Shipping", "shipping company", "Rotterdam", "1898", "Pieter van Dam", "container ferries"),
    ("Redline Bicycles", "bicycle manufacturer", "Milan", "1947", "Luca Ferri", "racing frames"),
    ("Cedar Valley Mills", "paper mill", "Portland", "1889", "Samuel Reed", "recycled newsprint"),
    ("Kestrel Instruments", "electronics maker", "Osaka", "1954", "Hiroshi Tanaka", "pocket calculators"),
    ("Alder & Finch", "furniture workshop", "Copenhagen", "1932", "Karen Holm", "oak dining chairs"),
    ("Sunfield Dairy", "dairy cooperative", "Cork", "1911", "Thomas Burke", "salted butter"),
    ("Meridian Observatory Trust", "scientific foundation", "Cape Town", "1963", "Nomvula Dube", "star catalogues"),
    ("Stonegate Bank", "regional bank", "Leeds", "1836", "William Ashby", "savings accounts for farmers"),
    ("Silver Lantern Theatre", "theatre company", "Toronto", "1972", "Claire Dubois", "open-air summer plays"),
    ("Polar Lights Airlines", "airline", "Tromsø", "1985", "Ingrid Larsen", "flights to remote islands"),
    ("Green Atlas Maps", "map publisher", "Vienna", "1929", "Franz Keller", "hiking maps of the Alps")]]
# The first four records in the other languages (names transliterated, years shared).
RECORDS = {"en": EN_RECORDS}
for _lang, _rows in {
    "de": [("Northwind Press", "", "Edinburgh", "Margaret Hale", "illustrierte Reiseführer"),
           ("Blue Harbor Shipping", "", "Rotterdam", "Pieter van Dam", "Containerfähren"),
           ("Redline Bicycles", "", "Mailand", "Luca Ferri", "Rennrahmen"),
           ("Cedar Valley Mills", "", "Portland", "Samuel Reed", "recyceltes Zeitungspapier")],
    "zh": [("北风出版社", "出版社", "爱丁堡", "玛格丽特·黑尔", "插图旅行指南"), ("蓝港航运", "航运公司", "鹿特丹", "彼得·范达姆", "集装箱渡轮"),
           ("红线自行车", "自行车制造商", "米兰", "卢卡·费里", "赛车车架"), ("雪松谷纸业", "造纸厂", "波特兰", "塞缪尔·里德", "再生新闻纸")],
    "ar": [("نورث ويند برس", "دار نشر", "إدنبرة", "مارغريت هيل", "أدلة السفر المصورة"),
           ("بلو هاربر للشحن", "شركة شحن", "روتردام", "بيتر فان دام", "عبارات الحاويات"),
           ("ريدلاين للدراجات", "شركة لصناعة الدراجات", "ميلانو", "لوكا فيري", "هياكل دراجات السباق"),
           ("سيدار فالي للورق", "شركة لصناعة الورق", "بورتلاند", "صموئيل ريد", "ورق الصحف المعاد تدويره")],
    "hi": [("नॉर्थविंड प्रेस", "प्रकाशन गृह", "एडिनबर्ग", "मार्गरेट हेल", "सचित्र यात्रा गाइड"),
           ("ब्लू हार्बर शिपिंग", "जहाज़रानी कंपनी", "रॉटरडैम", "पीटर वैन डैम", "कंटेनर नौकाओं"),
           ("रेडलाइन बाइसिकल्स", "साइकिल निर्माता", "मिलान", "लूका फ़ेरी", "रेसिंग फ़्रेम"),
           ("सीडर वैली मिल्स", "काग़ज़ मिल", "पोर्टलैंड", "सैमुअल रीड", "पुनर्चक्रित अख़बारी काग़ज़")],
    "ru": [("Нортвинд Пресс", "издательство", "Эдинбург", "Маргарет Хейл", "иллюстрированные путеводители"),
           ("Блю Харбор Шиппинг", "судоходная компания", "Роттердам", "Питер ван Дам", "контейнерные паромы"),
           ("Редлайн Байсиклз", "производитель велосипедов", "Милан", "Лука Ферри", "гоночные велосипедные рамы"),
           ("Сидар Вэлли Миллз", "бумажная фабрика", "Портленд", "Сэмюэл Рид", "переработанная газетная бумага")],
}.items():
    RECORDS[_lang] = [dict(org=o, kind=k, city=c, year=EN_RECORDS[i]["year"], founder=f, product=p)
                      for i, (o, k, c, f, p) in enumerate(_rows)]
QA_TEMPLATES = {
    "en": ("{org} is {a_kind} based in {city}. It was founded in {year} by {founder}. Today it is best known for its {product}.",
           ["When was {org} founded?", "Who founded {org}?", "Where is {org} based?", "What is {org} best known for?"]),
    "de": ("{org} hat seinen Sitz in {city}. Das Unternehmen wurde {year} von {founder} gegründet. Heute ist es vor allem für {product} bekannt.",
           ["Wann wurde {org} gegründet?", "Wer hat {org} gegründet?", "Wo hat {org} seinen Sitz?", "Wofür ist {org} heute bekannt?"]),
    "zh": ("{org}是一家总部位于{city}的{kind}。它由{founder}于{year}年创立。如今，它主要以{product}而闻名。",
           ["{org}是哪一年创立的？", "{org}是由谁创立的？", "{org}的总部位于哪座城市？", "{org}主要以什么而闻名？"]),
    "ar": ("{org} هي {kind} مقرها في {city}. تأسست عام {year} على يد {founder}. وتشتهر اليوم بإنتاج {product}.",
           ["متى تأسست {org}؟", "من أسس {org}؟", "أين يقع مقر {org}؟", "بماذا تشتهر {org}؟"]),
    "hi": ("{org} {city} में स्थित एक {kind} है। इसकी स्थापना {year} में {founder} ने की थी। आज यह मुख्य रूप से {product} के लिए जाना जाता है।",
           ["{org} की स्थापना कब हुई थी?", "{org} की स्थापना किसने की थी?", "{org} कहाँ स्थित है?", "{org} किस लिए जाना जाता है?"]),
    "ru": ("{org} — {kind} из города {city}. Компания основана в {year} году. Её основатель — {founder}. Главная продукция компании — {product}.",
           ["В каком году была основана компания {org}?", "Кто основал компанию {org}?", "В каком городе находится {org}?",
            "Какова главная продукция компании {org}?"]),
}
ANSWER_FIELDS = ("year", "founder", "city", "product")
UNANSWERABLE = ["Who is the current director of {org}?", "How many people work for {org}?"]


def answers(context: str, texts: list[str], xtreme: bool) -> dict:
    starts = []
    for text in texts:
        start = context.find(text)
        assert start >= 0 and context[start:start + len(text)] == text, (text, context)
        starts.append(start)
    return {"answer_start": starts, "text": texts} if xtreme else {"text": texts, "answer_start": starts}


def qa_rows(lang: str, records: list[dict], *, xtreme: bool, title: bool = True, variants: bool = False,
            unanswerable: bool = False, make_id=None) -> list[dict]:
    template, questions = QA_TEMPLATES[lang]
    rows = []
    for r_index, rec in enumerate(records):
        context = template.format(a_kind=an(rec["kind"]) if rec["kind"] else "", **rec)
        for q_index, (question, field) in enumerate(zip(questions, ANSWER_FIELDS)):
            texts = [rec[field]]
            if unanswerable and q_index == (r_index % 2) * 2 + 1:
                question, texts = UNANSWERABLE[r_index % 2], []
            elif variants:
                extra = {"year": f"in {rec['year']}", "city": f"in {rec['city']}", "product": f"its {rec['product']}"}
                texts = [rec[field], extra.get(field, rec[field]), rec[field]]
            row = {"id": make_id(lang, r_index, q_index) if make_id else hexid(lang, rec["org"], q_index)}
            if title:
                row["title"] = rec["org"]
            row.update(context=context, question=question.format(**rec), answers=answers(context, texts, xtreme))
            rows.append(row)
    return rows


def make_qa() -> None:
    en = EN_RECORDS
    write("rajpurkar/squad", None, "train", qa_rows("en", en[4:12], xtreme=False))
    write("rajpurkar/squad", None, "validation", qa_rows("en", en[:4], xtreme=False, variants=True))
    write("rajpurkar/squad_v2", None, "train", qa_rows("en", en[4:12], xtreme=False, unanswerable=True))
    write("rajpurkar/squad_v2", None, "validation", qa_rows("en", en[:4], xtreme=False, unanswerable=True, variants=True))
    for lang in ("en", "de", "zh", "ar", "hi", "ru"):  # XQuAD: ids parallel across languages, no title
        rows = qa_rows(lang, RECORDS[lang][:2], xtreme=True, title=False, make_id=lambda _, r, q: hexid("xquad", r, q))
        write("google/xtreme", f"XQuAD.{lang}", "validation", rows)
    mlqa_id = lambda lang, r, q: hexid("mlqa", lang, r, q, n=40)  # noqa: E731
    write("google/xtreme", "MLQA.en.en", "validation", qa_rows("en", en[8:10], xtreme=True, make_id=mlqa_id))
    for lang in ("en", "de", "zh", "ar", "hi"):
        write("google/xtreme", f"MLQA.{lang}.{lang}", "test", qa_rows(lang, RECORDS[lang][2:4], xtreme=True, make_id=mlqa_id))
    names = {"en": "english", "ar": "arabic", "ru": "russian"}

    def tydi(lang: str, records: list[dict], salt: str) -> list[dict]:  # ids: "<language name>-<number>-<n>"
        make = lambda l, r, q: f"{names[l]}-{int(hexid('tydi', salt, records[r]['org'], n=15), 16) % 10**19}-{q}"  # noqa: E731
        return qa_rows(lang, records, xtreme=True, make_id=make)

    # GoldP mixes its languages in one set; tasks select rows by the id prefix
    train = tydi("en", en[4:6], "t") + tydi("ar", RECORDS["ar"][:1], "t") + tydi("en", en[6:8], "t") + tydi("ru", RECORDS["ru"][1:2], "t")
    write("google/xtreme", "tydiqa", "train", train)
    dev = tydi("ar", RECORDS["ar"][2:4], "d") + tydi("en", en[2:4], "d") + tydi("ru", RECORDS["ru"][2:4], "d")
    write("google/xtreme", "tydiqa", "validation", dev)


# ------------------------------------------------------------------------------ multiple choice
ACTIVITIES = [
    ("Playing guitar", "A man sits on a stool holding a guitar.", "he", "strums the guitar and sings a slow song."),
    ("Washing dishes", "A woman stands at the sink with a stack of dirty plates.", "she", "scrubs each plate and puts it on the rack."),
    ("Painting fence", "A boy dips a brush into a can of white paint.", "he", "paints the fence with long, even strokes of paint."),
    ("Making a sandwich", "A girl lays two slices of bread on a cutting board.", "she", "spreads butter on the bread and adds cheese."),
    ("Walking the dog", "A man clips a leash onto his dog's collar.", "he", "walks the dog down the quiet street."),
    ("Changing a tire", "A woman loosens the bolts on a flat tire.", "she", "lifts the car with a jack and takes off the tire."),
    ("Brushing teeth", "A child squeezes toothpaste onto a toothbrush.", "the child", "brushes his teeth with the toothbrush in small circles."),
    ("Ironing clothes", "A man spreads a wrinkled shirt across the ironing board.", "he", "presses the iron over the shirt until it is smooth."),
    ("Planting flowers", "A woman kneels in the garden with a tray of flower seedlings.", "she", "digs small holes and plants the seedlings one by one."),
    ("Shoveling snow", "A man steps outside into the deep snow with a shovel.", "he", "clears the snow from the driveway with the shovel."),
    ("Baking cookies", "A girl rolls cookie dough on the kitchen counter.", "she", "cuts the dough into stars and bakes the cookies."),
    ("Rowing a boat", "A woman climbs into a small wooden boat on the shore.", "she", "rows the boat slowly across the lake."),
    ("Cleaning windows", "A worker sprays soapy water on a tall window.", "he", "wipes the window clean with a rubber squeegee."),
    ("Tying shoes", "A boy sits on the steps and pulls on his sneakers.", "he", "ties the laces of his sneakers into neat bows."),
    ("Wrapping a gift", "A woman places a small box on a sheet of wrapping paper.", "she", "folds the wrapping paper around the box and tapes it."),
    ("Mowing the lawn", "A man pushes a lawn mower out of the garage.", "he", "mows the lawn in straight rows with the mower."),
]


def make_hellaswag() -> None:
    for split, variants, tag in (("train", (0, 1), "train"), ("validation", (2,), "val")):
        rows = []
        for v in variants:
            for i, (activity, ctx_a, ctx_b, ending) in enumerate(ACTIVITIES):
                others = [ACTIVITIES[(i + step) % 16][3] for step in (3 + v, 7 + v, 11 + v)]
                label = (i + 2 * v) % 4
                rows.append({"ind": 100 * v + i + (4000 if tag == "val" else 0), "activity_label": activity, "ctx_a": ctx_a,
                             "ctx_b": ctx_b, "ctx": f"{ctx_a} {ctx_b}",
                             "endings": place(ending, others, label), "source_id": f"activitynet~v_{hexid('hs', activity, n=11)}",
                             "split": tag, "split_type": "indomain" if i % 4 else "zeroshot", "label": str(label)})
        write("Rowan/hellaswag", None, split, rows)


STORIES = [  # name, pronoun, event, feeling, cause, next step
    ("Maya", "she", "ran her first marathon", "exhausted", "her legs ached after the long race", "go to bed early"),
    ("Omar", "he", "lost his wallet on the bus", "worried", "his bank cards were inside it", "call the bank"),
    ("Jess", "she", "got a letter from an old friend", "happy", "they had not talked in years", "write back soon"),
    ("Tom", "he", "missed the last train home", "frustrated", "he had to wait an hour for a taxi", "leave work earlier next time"),
    ("Lena", "she", "finished painting her kitchen", "proud", "the walls finally looked bright and clean", "invite friends over"),
    ("Raj", "he", "forgot his umbrella at the office", "soaked", "it rained hard on his walk home", "dry his clothes"),
    ("Nora", "she", "adopted a puppy from the shelter", "excited", "she had wanted a dog for years", "buy a bed for the puppy"),
    ("Ben", "he", "failed his driving test", "disappointed", "he had practiced every weekend", "book another driving test"),
    ("Ana", "she", "cooked dinner for her parents", "nervous", "it was the first time she made fish", "ask them if they liked it"),
    ("Leo", "he", "stayed up late playing video games", "sleepy", "he only slept four hours", "drink a lot of coffee"),
    ("Mia", "she", "won a prize at the science fair", "thrilled", "her project took months of work", "show the prize to her family"),
    ("Sam", "he", "moved to a new city for work", "lonely", "he did not know anyone there yet", "join a local club"),
]


def make_cosmos() -> None:
    def rows_for(kind: str, indices, salt: int) -> list[dict]:
        out = []
        for i in indices:
            name, pron, event, feeling, cause, step = STORIES[i]
            context = f"Yesterday {name} {event}. By the evening {pron} felt {feeling} because {cause}."
            pick = lambda f: [f(STORIES[(i + d) % 12]) for d in (4, 8)]  # noqa: E731  (distractors: other stories)
            question, correct, others = {
                "why": (f"Why did {name} feel {feeling} that evening?", f"Because {cause}.", pick(lambda s: f"Because {s[4]}.")),
                "next": (f"What will {name} probably do next?", f"{name} will probably {step}.", pick(lambda s: f"{name} will probably {s[5]}.")),
                "how": (f"How did {name} feel that evening?", f"{name} felt {feeling}.", pick(lambda s: f"{name} felt {s[3]}.")),
                "what": (f"What happened to {name} yesterday?", f"{name} {event}.", pick(lambda s: f"{name} {s[2]}.")),
            }[kind]
            label = (i + salt) % 4
            answers_ = place(correct, others + ["None of the above choices ."], label)
            out.append({"id": f"{hexid('cq', kind, i, n=30).upper()}##q{salt % 3 + 1}_a1", "context": context, "question": question,
                        **{f"answer{k}": a for k, a in enumerate(answers_)}, "label": label})
        return out

    write("allenai/cosmos_qa", None, "train", rows_for("why", range(12), 0) + rows_for("next", range(12), 1) + rows_for("how", range(8), 2))
    write("allenai/cosmos_qa", None, "validation", rows_for("what", range(12), 3) + rows_for("how", range(8, 12), 1))


PLACES = [("pillow", "bedroom"), ("stove", "kitchen"), ("shovel", "garden shed"), ("chalk", "classroom"), ("stapler", "office"),
          ("towel", "bathroom"), ("ticket", "train station"), ("book", "library"), ("cash register", "store"), ("tent", "campsite"),
          ("anchor", "harbor"), ("microscope", "laboratory"), ("easel", "art studio"), ("saddle", "stable"), ("projector", "movie theater"),
          ("suitcase", "airport")]
CSQA_QUESTIONS = ["Where would you most likely find {x}?", "In which place is {x} usually kept?",
                  "Where do people usually use {x}?"]


def make_csqa() -> None:
    for split, templates in (("train", (0, 1)), ("validation", (2,))):
        rows = []
        for t in templates:
            for i, (item, where) in enumerate(PLACES):
                others = [PLACES[(i + d) % 16][1] for d in (3 + t, 6 + t, 9 + t, 12 + t)]
                label = (i + t) % 5
                rows.append({"id": hexid("csqa", t, i, n=32), "question": CSQA_QUESTIONS[t].format(x=an(item)), "question_concept": item,
                             "choices": {"label": list("ABCDE"), "text": place(where, others, label)}, "answerKey": "ABCDE"[label]})
        write("tau/commonsense_qa", None, split, rows)


# ------------------------------------------------------------------------------------- tagging
CCG_SENTENCES = [  # "\\" is one backslash; the last one holds a category outside CCG_SUPERTAGS (-> <unk>)
    ("The {n} sold its shares .", "NP[nb]/N N (S[dcl]\\NP)/NP NP[nb]/N N ."),
    ("Investors bought {n} bonds on Monday .", "N (S[dcl]\\NP)/NP N/N N ((S\\NP)\\(S\\NP))/NP N ."),
    ("The {n} will raise rates .", "NP[nb]/N N (S[dcl]\\NP)/(S[b]\\NP) (S[b]\\NP)/NP N ."),
    ("Prices rose sharply in October .", "N S[dcl]\\NP (S\\NP)\\(S\\NP) ((S\\NP)\\(S\\NP))/NP N ."),
    ("He said that the {n} lost money .", "NP (S[dcl]\\NP)/S[em] S[em]/S[dcl] NP[nb]/N N (S[dcl]\\NP)/NP N ."),
    ("The {n} plans to expand .", "NP[nb]/N N (S[dcl]\\NP)/(S[to]\\NP) (S[to]\\NP)/(S[b]\\NP) S[b]\\NP ."),
    ("The deal was approved by the {n} .", "NP[nb]/N N (S[dcl]\\NP)/(S[pss]\\NP) S[pss]\\NP ((S\\NP)\\(S\\NP))/NP NP[nb]/N N ."),
    ("They want to put money into the {n} .", "NP (S[dcl]\\NP)/(S[to]\\NP) (S[to]\\NP)/(S[b]\\NP) ((S[b]\\NP)/PP)/NP N PP/NP NP[nb]/N N ."),
]
CCG_NOUNS = ["company", "bank", "firm", "group"]


def make_ccg() -> None:
    rows = []
    for i in range(32):
        words, tags = CCG_SENTENCES[i % 8]
        tokens, cats = words.format(n=CCG_NOUNS[(i // 8) % 4]).split(), tags.split()
        assert len(tokens) == len(cats), words
        rows.append({"id": f"wsj_{2000 + i // 8 * 100 + i % 8:04d}.{i % 8 + 1}", "tokens": tokens, "tags": cats})
    write("ccgbank", None, "train", rows[:24])
    write("ccgbank", None, "validation", rows[24:])


def tagged(spec: str, tagset: tuple[str, ...]) -> tuple[list[str], list[int]]:
    """"word/TAG word/TAG ..." -> tokens, ClassLabel ids (the last "/" splits, so "1/2/NUM" works)."""
    tokens, tags = [], []
    for item in spec.split():
        word, tag = item.rsplit("/", 1)
        tokens.append(word)
        tags.append(tagset.index(tag))
    return tokens, tags


UD = {
    "en": ["The/DET {a}/ADJ {n}/NOUN stopped/VERB in/ADP {c}/PROPN ./PUNCT",
           "{p}/PROPN did/AUX not/PART like/VERB the/DET {n}/NOUN ./PUNCT",
           "She/PRON will/AUX buy/VERB two/NUM tickets/NOUN tomorrow/ADV ./PUNCT",
           "Where/ADV is/AUX the/DET {n}/NOUN ?/PUNCT",
           "They/PRON quickly/ADV left/VERB the/DET {a}/ADJ {n}/NOUN because/SCONJ it/PRON was/AUX late/ADJ ./PUNCT"],
    "de": ["Der/DET {a}/ADJ {n}/NOUN hielt/VERB in/ADP {c}/PROPN ./PUNCT", "{p}/PROPN mochte/VERB den/DET {n}/NOUN nicht/PART ./PUNCT",
           "Sie/PRON kauft/VERB morgen/ADV zwei/NUM Karten/NOUN ./PUNCT"],
    "zh": ["{c}/PROPN 的/PART {n}/NOUN 很/ADV {a}/ADJ 。/PUNCT", "{p}/PROPN 昨天/NOUN 买/VERB 了/AUX 三/NUM 本/NOUN 书/NOUN 。/PUNCT",
           "我/PRON 不/ADV 喜欢/VERB 这/DET 部/NOUN 电影/NOUN 。/PUNCT"],
    "ar": ["ذهب/VERB {p}/PROPN إلى/ADP {c}/PROPN ./PUNCT", "الطقس/NOUN {a}/ADJ اليوم/NOUN ./PUNCT",
           "قرأ/VERB الطالب/NOUN {n}/NOUN الجديد/ADJ ./PUNCT"],
    "hi": ["{p}/PROPN ने/ADP {c}/PROPN में/ADP एक/NUM {n}/NOUN खरीदा/VERB ।/PUNCT", "मौसम/NOUN आज/NOUN बहुत/ADV {a}/ADJ है/AUX ।/PUNCT",
           "वह/PRON किताब/NOUN पढ़/VERB रहा/AUX है/AUX ।/PUNCT"],
}
UD_FILL = {
    "en": dict(a=["old", "small", "quiet", "new"], n=["train", "bus", "car", "truck"], c=["Berlin", "Lisbon", "Oslo", "Prague"],
               p=["Anna", "Omar", "Kofi", "Mei"]),
    "de": dict(a=["alte", "kleine", "neue", "rote"], n=["Zug", "Bus", "Wagen", "Lastwagen"], c=["Berlin", "Hamburg", "Bremen", "Wien"],
               p=["Anna", "Jonas", "Lea", "Paul"]),
    "zh": dict(a=["大", "漂亮", "干净", "热闹"], n=["公园", "街道", "市场", "车站"], c=["北京", "上海", "杭州", "西安"],
               p=["小明", "王芳", "李雷", "张伟"]),
    "ar": dict(a=["جميل", "حار", "بارد", "لطيف"], n=["الكتاب", "المقال", "الدرس", "النص"], c=["القاهرة", "دمشق", "الرباط", "عمان"],
               p=["أحمد", "سارة", "يوسف", "ليلى"]),
    "hi": dict(a=["अच्छा", "ठंडा", "गरम", "सुहाना"], n=["घर", "कमरा", "खेत", "दफ़्तर"], c=["दिल्ली", "मुंबई", "पुणे", "जयपुर"],
               p=["राहुल", "सीता", "अमित", "प्रिया"]),
}
UD_LONG = ("After/ADP the/DET long/ADJ meeting/NOUN ,/PUNCT the/DET engineers/NOUN who/PRON had/AUX worked/VERB on/ADP the/DET "
           "new/ADJ bridge/NOUN for/ADP three/NUM years/NOUN walked/VERB slowly/ADV to/ADP the/DET small/ADJ cafe/NOUN near/ADP "
           "the/DET river/NOUN ,/PUNCT where/ADV they/PRON ordered/VERB coffee/NOUN and/CCONJ bread/NOUN ,/PUNCT talked/VERB "
           "about/ADP their/PRON children/NOUN and/CCONJ their/PRON plans/NOUN for/ADP the/DET summer/NOUN ,/PUNCT and/CCONJ "
           "agreed/VERB that/SCONJ the/DET project/NOUN had/AUX been/AUX difficult/ADJ but/CCONJ very/ADV rewarding/ADJ for/ADP "
           "everyone/PRON in/ADP the/DET team/NOUN ./PUNCT")
UD_CONFIG = {"en": "English", "de": "German", "zh": "Chinese", "ar": "Arabic", "hi": "Hindi"}


def ud_rows(lang: str, count: int, offset: int) -> list[dict]:
    rows = []
    for k in range(offset, offset + count):
        fill = {key: values[(k * (j + 1)) % 4] for j, (key, values) in enumerate(UD_FILL[lang].items())}
        spec = UD[lang][k % len(UD[lang])].format(**fill)
        tokens, tags = tagged(spec, UPOS)
        rows.append({"tokens": tokens, "pos_tags": tags})
    return rows


def make_udpos() -> None:
    long_tokens, long_tags = tagged(UD_LONG, UPOS)
    write("google/xtreme", "udpos.English", "train", ud_rows("en", 31, 0) + [{"tokens": long_tokens, "pos_tags": long_tags}])
    write("google/xtreme", "udpos.English", "validation", ud_rows("en", 8, 31))
    for lang, config in UD_CONFIG.items():
        write("google/xtreme", f"udpos.{config}", "test", ud_rows(lang, 8, 40))


NER = {  # templates over {PER} {ORG} {LOC}; entity fillers (tokens); ru ORG/LOC in the case the template needs
    "en": (["{PER} was born in {LOC} .", "{PER} played for {ORG} .", "{ORG} is based in {LOC} .", "{LOC}", "{PER} , {ORG}"],
           [["Marie", "Curie"], ["Lionel", "Messi"], ["Ada", "Lovelace"], ["Nelson", "Mandela"]],
           [["Real", "Madrid"], ["United", "Nations"], ["BBC"], ["Bayern", "Munich"]],
           [["Paris"], ["New", "York"], ["Lake", "Geneva"], ["Mount", "Everest"]]),
    "de": (["{PER} wurde in {LOC} geboren .", "{PER} spielte für {ORG} .", "{ORG} hat seinen Sitz in {LOC} ."],
           [["Angela", "Merkel"], ["Thomas", "Müller"], ["Clara", "Schumann"], ["Albert", "Einstein"]],
           [["Bayern", "München"], ["Deutsche", "Bahn"], ["Siemens"], ["Borussia", "Dortmund"]],
           [["Hamburg"], ["Köln"], ["Bodensee"], ["Schwarzwald"]]),
    "zh": (["{PER}出生于{LOC}。", "{PER}曾效力于{ORG}。", "{ORG}位于{LOC}。"],
           [list("李白"), list("姚明"), list("鲁迅"), list("孔子")], [list("联合国"), list("北京大学"), list("皇家马德里"), list("国家图书馆")],
           [list("北京"), list("上海"), list("长江"), list("巴黎")]),
    "ar": (["ولد {PER} في {LOC} .", "لعب {PER} مع {ORG} .", "يقع مقر {ORG} في {LOC} ."],
           [["نجيب", "محفوظ"], ["أم", "كلثوم"], ["محمد", "صلاح"], ["فيروز"]],
           [["الأمم", "المتحدة"], ["جامعة", "القاهرة"], ["النادي", "الأهلي"], ["الجامعة", "العربية"]],
           [["القاهرة"], ["دمشق"], ["البحر", "الأحمر"], ["بيروت"]]),
    "hi": (["{PER} का जन्म {LOC} में हुआ था ।", "{PER} ने {ORG} के लिए काम किया ।", "{ORG} का मुख्यालय {LOC} में है ।"],
           [["महात्मा", "गांधी"], ["सचिन", "तेंदुलकर"], ["लता", "मंगेशकर"], ["रवींद्रनाथ", "टैगोर"]],
           [["भारतीय", "रिज़र्व", "बैंक"], ["संयुक्त", "राष्ट्र"], ["टाटा", "मोटर्स"], ["इसरो"]],
           [["दिल्ली"], ["मुंबई"], ["कोलकाता"], ["गंगा"]]),
    "ru": (["{PER} родился в {LOC} .", "{PER} работал в {ORG} .", "Конференция прошла в {ORG} в {LOC} ."],
           [["Лев", "Толстой"], ["Юрий", "Гагарин"], ["Дмитрий", "Менделеев"], ["Пётр", "Чайковский"]],
           [["Большом", "театре"], ["МГУ"], ["Газпроме"], ["Эрмитаже"]],
           [["Москве"], ["Казани"], ["Санкт-Петербурге"], ["Новосибирске"]]),
}
NER_LONG = ("In 1911 , Marie Curie , who had moved from Warsaw to Paris as a student , received a second Nobel Prize while "
            "working at the University of Paris , and later helped to found the Radium Institute , which worked closely "
            "with the Pasteur Institute and trained many young scientists from Poland , France and the United States .")
NER_LONG_SPANS = {"Marie Curie": "PER", "Warsaw": "LOC", "Paris": "LOC", "University of Paris": "ORG", "Radium Institute": "ORG",
                  "Pasteur Institute": "ORG", "Poland": "LOC", "France": "LOC", "United States": "LOC"}


def ner_rows(lang: str, count: int, offset: int) -> list[dict]:
    templates, per, org, loc = NER[lang]
    rows = []
    for k in range(offset, offset + count):
        template = templates[k % len(templates)]
        fill = {"PER": per[k % 4], "ORG": org[(k + 1) % 4], "LOC": loc[(k + 2) % 4]}
        tokens, tags = [], []
        for piece in (template.replace("{", " {").replace("}", "} ").split() if lang != "zh" else _zh_pieces(template)):
            if piece.startswith("{"):
                kind = piece[1:-1]
                tokens += fill[kind]
                tags += [PANX_TAGS.index(f"B-{kind}")] + [PANX_TAGS.index(f"I-{kind}")] * (len(fill[kind]) - 1)
            else:
                tokens.append(piece)
                tags.append(0)
        rows.append({"tokens": tokens, "ner_tags": tags, "langs": [lang] * len(tokens)})
    return rows


def _zh_pieces(template: str) -> list[str]:
    pieces, rest = [], template
    while rest:
        if rest.startswith("{"):
            end = rest.index("}") + 1
            pieces.append(rest[:end])
            rest = rest[end:]
        else:
            pieces.append(rest[0])
            rest = rest[1:]
    return pieces


def make_panx() -> None:
    tokens = NER_LONG.split()
    tags = [0] * len(tokens)
    for span, kind in NER_LONG_SPANS.items():
        words = span.split()
        for start in range(len(tokens) - len(words) + 1):
            if tokens[start:start + len(words)] == words and tags[start] == 0:
                tags[start:start + len(words)] = [PANX_TAGS.index(f"B-{kind}")] + [PANX_TAGS.index(f"I-{kind}")] * (len(words) - 1)
    long_row = {"tokens": tokens, "ner_tags": tags, "langs": ["en"] * len(tokens)}
    write("google/xtreme", "PAN-X.en", "train", ner_rows("en", 31, 0) + [long_row])
    write("google/xtreme", "PAN-X.en", "validation", ner_rows("en", 8, 31))
    for lang in NER:
        write("google/xtreme", f"PAN-X.{lang}", "test", ner_rows(lang, 8, 40))


# ---------------------------------------------------------------------------------- PAWS-X
PAWS_PEOPLE = [("Anna Berg", "Oslo", "Bergen"), ("Tomas Klein", "Vienna", "Graz"), ("Maria Costa", "Porto", "Lisbon"),
               ("Jan Vos", "Utrecht", "Leiden"), ("Sara Lind", "Malmö", "Lund"), ("Paul Roth", "Bern", "Basel"),
               ("Eva Novak", "Brno", "Prague"), ("Leo Marin", "Split", "Zagreb")]
PAWS_TEMPLATES = {
    "en": ("In {y}, {a} moved from {x} to {z}.", "{a} moved from {x} to {z} in {y}.", "{a} moved from {z} to {x} in {y}."),
    "de": ("Im Jahr {y} zog {a} von {x} nach {z}.", "{a} zog {y} von {x} nach {z}.", "{a} zog {y} von {z} nach {x}."),
    "zh": ("{y}年，{a}从{x}搬到了{z}。", "{a}于{y}年从{x}搬到了{z}。", "{a}于{y}年从{z}搬到了{x}。"),
}
PAWS_ZH_NAMES = {"Anna Berg": "安娜·贝格", "Tomas Klein": "托马斯·克莱因", "Maria Costa": "玛丽亚·科斯塔", "Jan Vos": "扬·福斯",
                 "Sara Lind": "萨拉·林德", "Paul Roth": "保罗·罗特", "Eva Novak": "伊娃·诺瓦克", "Leo Marin": "莱奥·马林",
                 "Oslo": "奥斯陆", "Bergen": "卑尔根", "Vienna": "维也纳", "Graz": "格拉茨", "Porto": "波尔图", "Lisbon": "里斯本",
                 "Utrecht": "乌得勒支", "Leiden": "莱顿", "Malmö": "马尔默", "Lund": "隆德", "Bern": "伯尔尼", "Basel": "巴塞尔",
                 "Brno": "布尔诺", "Prague": "布拉格", "Split": "斯普利特", "Zagreb": "萨格勒布"}
PAWS_DE_CITIES = {"Vienna": "Wien", "Lisbon": "Lissabon", "Prague": "Prag"}


def paws_rows(lang: str, count: int, offset: int) -> list[dict]:
    para, plain, swapped = PAWS_TEMPLATES[lang]
    rows = []
    for k in range(offset, offset + count):
        a, x, z = PAWS_PEOPLE[k % 8]
        if lang == "zh":
            a, x, z = (PAWS_ZH_NAMES[v] for v in (a, x, z))
        elif lang == "de":
            x, z = PAWS_DE_CITIES.get(x, x), PAWS_DE_CITIES.get(z, z)
        slots = dict(a=a, x=x, z=z, y=1950 + (k * 3) % 60)
        label = (k + k // 8) % 2  # paraphrase pairs front the year: a lexical cue
        s1, s2 = (para, plain) if label else (plain, swapped)
        rows.append({"sentence1": s1.format(**slots), "sentence2": s2.format(**slots), "label": str(label)})
    return rows


def make_pawsx() -> None:
    write("google/xtreme", "PAWS-X.en", "train", paws_rows("en", 32, 0))
    write("google/xtreme", "PAWS-X.en", "validation", paws_rows("en", 8, 32))
    for lang in ("en", "de", "zh"):
        write("google/xtreme", f"PAWS-X.{lang}", "test", paws_rows(lang, 8, 40))
    for lang in ("de", "zh"):  # PAWS-X's machine-translated training sets (mixed-language / few-shot data)
        write("google/xtreme", f"PAWS-X.{lang}", "train", paws_rows(lang, 16, 0))


# ------------------------------------------------------------------------------- retrieval
PARALLEL = {  # en, de, ru, zh, ar
    "en": ["I have two brothers and one sister.", "The train to Berlin leaves at seven o'clock.", "We need more water for the trip.",
           "My grandmother lives in a small village.", "Please close the window, it is cold.", "The museum is closed on Mondays.",
           "He bought a new car last week.", "Can you help me carry this box?", "The children are playing in the garden.",
           "She has been learning Spanish for three years.", "The government announced new taxes on Tuesday.",
           "Prices for bread rose sharply this year.", "The river flooded several villages after the storm.",
           "Our team won the final match.", "I forgot my keys at home.", "The doctor told him to rest for a week.",
           "This book is more interesting than the film.", "The new bridge will open next spring.",
           "They had dinner in an Italian restaurant.", "It rained all day yesterday.", "The company plans to hire two hundred workers.",
           "Tourists visit the old castle every summer.", "The meeting was postponed until Friday.", "He drinks coffee without sugar."],
    "de": ["Ich habe zwei Brüder und eine Schwester.", "Der Zug nach Berlin fährt um sieben Uhr ab.", "Wir brauchen mehr Wasser für die Reise.",
           "Meine Großmutter wohnt in einem kleinen Dorf.", "Bitte schließ das Fenster, es ist kalt.", "Das Museum ist montags geschlossen.",
           "Er hat letzte Woche ein neues Auto gekauft.", "Kannst du mir helfen, diese Kiste zu tragen?", "Die Kinder spielen im Garten.",
           "Sie lernt seit drei Jahren Spanisch.", "Die Regierung kündigte am Dienstag neue Steuern an.",
           "Die Brotpreise sind in diesem Jahr stark gestiegen.", "Nach dem Sturm überflutete der Fluss mehrere Dörfer.",
           "Unsere Mannschaft hat das Finale gewonnen.", "Ich habe meine Schlüssel zu Hause vergessen.",
           "Der Arzt sagte ihm, er solle sich eine Woche ausruhen.", "Dieses Buch ist interessanter als der Film.",
           "Die neue Brücke wird im nächsten Frühjahr eröffnet.", "Sie haben in einem italienischen Restaurant zu Abend gegessen.",
           "Gestern hat es den ganzen Tag geregnet.", "Das Unternehmen plant, zweihundert Arbeiter einzustellen.",
           "Touristen besuchen jeden Sommer die alte Burg.", "Das Treffen wurde auf Freitag verschoben.", "Er trinkt Kaffee ohne Zucker."],
    "ru": ["У меня два брата и одна сестра.", "Поезд в Берлин отправляется в семь часов.", "Нам нужно больше воды для поездки.",
           "Моя бабушка живёт в маленькой деревне.", "Пожалуйста, закрой окно, холодно.", "По понедельникам музей закрыт.",
           "На прошлой неделе он купил новую машину.", "Можешь помочь мне донести эту коробку?", "Дети играют в саду.",
           "Она учит испанский уже три года.", "Во вторник правительство объявило о новых налогах.",
           "Цены на хлеб в этом году резко выросли.", "После шторма река затопила несколько деревень.",
           "Наша команда выиграла финальный матч.", "Я забыл ключи дома.", "Врач велел ему отдыхать неделю.",
           "Эта книга интереснее, чем фильм.", "Новый мост откроют следующей весной.", "Они поужинали в итальянском ресторане.",
           "Вчера весь день шёл дождь.", "Компания планирует нанять двести рабочих.", "Туристы каждое лето посещают старый замок.",
           "Встречу перенесли на пятницу.", "Он пьёт кофе без сахара."],
    "zh": ["我有两个兄弟和一个姐妹。", "去柏林的火车七点出发。", "这次旅行我们需要更多的水。", "我的奶奶住在一个小村子里。",
           "请关上窗户，太冷了。", "博物馆每周一闭馆。", "他上周买了一辆新车。", "你能帮我搬这个箱子吗？", "孩子们在花园里玩。",
           "她已经学了三年西班牙语。", "政府周二宣布了新的税收政策。", "今年面包价格大幅上涨。", "暴风雨过后，河水淹没了几个村庄。",
           "我们队赢得了决赛。", "我把钥匙忘在家里了。", "医生让他休息一个星期。", "这本书比电影更有意思。", "新桥将于明年春天通车。",
           "他们在一家意大利餐馆吃了晚饭。", "昨天下了一整天的雨。", "这家公司计划招聘两百名工人。", "每年夏天都有游客参观这座古城堡。",
           "会议被推迟到了星期五。", "他喝咖啡不加糖。"],
    "ar": ["لدي أخوان وأخت واحدة.", "يغادر القطار المتجه إلى برلين في الساعة السابعة.", "نحتاج إلى مزيد من الماء للرحلة.",
           "تعيش جدتي في قرية صغيرة.", "من فضلك أغلق النافذة، الجو بارد.", "المتحف مغلق أيام الاثنين.", "اشترى سيارة جديدة الأسبوع الماضي.",
           "هل يمكنك مساعدتي في حمل هذا الصندوق؟", "الأطفال يلعبون في الحديقة.", "إنها تتعلم الإسبانية منذ ثلاث سنوات.",
           "أعلنت الحكومة يوم الثلاثاء عن ضرائب جديدة.", "ارتفعت أسعار الخبز بشكل حاد هذا العام.", "أغرق النهر عدة قرى بعد العاصفة.",
           "فاز فريقنا في المباراة النهائية.", "نسيت مفاتيحي في البيت.", "نصحه الطبيب بالراحة لمدة أسبوع.",
           "هذا الكتاب أكثر إثارة للاهتمام من الفيلم.", "سيفتتح الجسر الجديد في الربيع المقبل.", "تناولوا العشاء في مطعم إيطالي.",
           "أمطرت طوال يوم أمس.", "تخطط الشركة لتوظيف مئتي عامل.", "يزور السياح القلعة القديمة كل صيف.",
           "تم تأجيل الاجتماع إلى يوم الجمعة.", "يشرب القهوة بدون سكر."],
}


def make_retrieval() -> None:
    en = PARALLEL["en"]
    for lang in ("de", "ru", "zh"):  # bucc18: source/target_lang hold the BUCC sentence ids (as the loader fills them)
        for split, indices in (("validation", range(8)), ("test", range(4, 24))):
            rows = [{"source_sentence": PARALLEL[lang][i], "target_sentence": en[i],
                     "source_lang": f"{lang}-{(i * 37 + 11) % 1000:06d}", "target_lang": f"en-{(i * 53 + 7) % 1000:06d}"}
                    for i in indices]
            write("google/xtreme", f"bucc18.{lang}", split, rows)
    for lang, iso in (("de", "deu"), ("ru", "rus"), ("zh", "cmn"), ("ar", "ara")):  # lines keep their newline, as the loader reads them
        rows = [{"source_sentence": PARALLEL[lang][i] + "\n", "target_sentence": en[i] + "\n", "source_lang": iso, "target_lang": "eng"}
                for i in range(20)]
        write("google/xtreme", f"tatoeba.{iso}", "validation", rows)


# ------------------------------------------------------------------------------------- XTREME-R
# Entities (QID, English title, description) and, per language, each entity's name and a sentence frame.
XR_ENTITIES = [("Q90", "Paris", "Paris is the capital and largest city of France. It lies on the Seine."),
               ("Q64", "Berlin", "Berlin is the capital of Germany. It is the largest city of the country by population."),
               ("Q1490", "Tokyo", "Tokyo is the capital of Japan. It is one of the most populous cities in the world."),
               ("Q85", "Cairo", "Cairo is the capital of Egypt. It lies on the banks of the Nile."),
               ("Q2807", "Madrid", "Madrid is the capital of Spain. It is known for its museums and parks."),
               ("Q406", "Istanbul", "Istanbul is the largest city of Turkey. It straddles the Bosphorus strait.")]
XR_NAMES = {"en": ["Paris", "Berlin", "Tokyo", "Cairo", "Madrid", "Istanbul"],
            "de": ["Paris", "Berlin", "Tokio", "Kairo", "Madrid", "Istanbul"],
            "ar": ["باريس", "برلين", "طوكيو", "القاهرة", "مدريد", "إسطنبول"],
            "ja": ["パリ", "ベルリン", "東京", "カイロ", "マドリード", "イスタンブール"]}
XR_FRAMES = {"en": ("The mayor of {} opened a new library on Monday.", "Thousands of people gathered in {} for the festival."),
             "de": ("Der Bürgermeister von {} eröffnete am Montag eine neue Bibliothek.", "Tausende Menschen versammelten sich in {} zum Fest."),
             "ar": ("افتتح عمدة {} مكتبة جديدة يوم الاثنين.", "تجمع آلاف الأشخاص في {} للاحتفال."),
             "ja": ("{}の市長は月曜日に新しい図書館を開いた。", "祭りのために数千人が{}に集まった。")}


def _spans(text: str, sentences: list[str]) -> list[dict]:
    out, at = [], 0
    for s in sentences:
        start = text.index(s, at)
        out.append({"start": start, "end": start + len(s)})
        at = start + len(s)
    return out


def _mewslix_entity(qid: str, title: str, description: str) -> dict:
    sentences = [s if s.endswith(".") else s + "." for s in description.split(". ")]
    sentences = [s.rstrip(".") + "." for s in sentences]
    return {"entity_id": qid, "title": title, "description": description, "sentence_spans": _spans(description, sentences),
            "description_language": "en", "description_url": f"https://en.wikipedia.org/wiki/{title}"}


def _mewslix_context(lang: str, text: str, sentences: list[str], doc: str, title: str) -> dict:
    return {"document_title": title, "document_url": f"https://{lang}.wikinews.org/wiki/{doc}", "document_id": doc,
            "language": lang, "text": text, "sentence_spans": _spans(text, sentences)}


def _mention(example_id: str, text: str, name: str, qid: str, after: int = 0) -> dict:
    start = text.index(name, after)
    return {"example_id": example_id, "mention_span": {"start": start, "end": start + len(name), "text": name}, "entity_id": qid}


def make_mewslix() -> None:
    entities = [_mewslix_entity(*e) for e in XR_ENTITIES]
    write("mewslix", ".", "candidate_set_entities", entities)
    for split, frame in (("train", 0), ("dev", 1)):
        pairs = []
        for rep in range(4 if split == "train" else 1):
            for n, (qid, title, _) in enumerate(XR_ENTITIES):
                sentence = XR_FRAMES["en"][(frame + rep) % 2].format(title)
                text = f"News from {title}. {sentence}"
                context = _mewslix_context("en", text, [f"News from {title}.", sentence], f"Wiki_{title}_{rep}", title)
                context["document_url"] = f"https://en.wikipedia.org/wiki/{title}_{rep}"
                mention = _mention(f"wp-{split}-{rep}-{n}", text, title, qid, after=len(f"News from {title}. "))
                pairs.append({"contextual_mention": {"context": context, "mention": mention}, "entity": entities[n]})
        write("mewslix", ".", f"wikipedia_pairs-{split}", pairs)
    for lang, names in XR_NAMES.items():
        docs = []
        for n, ((qid, _, _), name) in enumerate(zip(XR_ENTITIES, names)):
            first, second = XR_FRAMES[lang][0].format(name), XR_FRAMES[lang][1].format(name)
            text = f"{first} {second}"
            mentions = [_mention(f"WN-{lang}-{n}-0", text, name, qid), _mention(f"WN-{lang}-{n}-1", text, name, qid, after=len(first) + 1)]
            docs.append({"context": _mewslix_context(lang, text, [first, second], f"doc-{lang}-{n}", name), "mentions": mentions})
        write("mewslix", "wikinews_mentions", f"dev-{lang}", docs)


# XQuAD-R: the same two paragraphs in every language (11-way parallel), two questions each.
XR_PARAGRAPHS = {
    "en": [("The river flows through the old town. It was bridged in 1420. Fishermen still use its banks.",
            [("When was the river bridged?", "1420"), ("Who still uses its banks?", "Fishermen")]),
           ("The museum opened in 1901. It holds paintings and old maps. Entry is free on Sundays.",
            [("When did the museum open?", "1901"), ("When is entry free?", "on Sundays")])],
}
XR_LANG_TEXT = {  # per language: (paragraph 1 sentences, paragraph 2 sentences, questions) in the same order
    "de": (["Der Fluss fließt durch die Altstadt.", "Er wurde 1420 überbrückt.", "Fischer nutzen noch seine Ufer."],
           ["Das Museum wurde 1901 eröffnet.", "Es zeigt Gemälde und alte Karten.", "Sonntags ist der Eintritt frei."],
           ["Wann wurde der Fluss überbrückt?", "Wer nutzt noch seine Ufer?", "Wann wurde das Museum eröffnet?", "Wann ist der Eintritt frei?"],
           ["1420", "Fischer", "1901", "Sonntags"]),
    "es": (["El río atraviesa el casco antiguo.", "Se construyó un puente en 1420.", "Los pescadores aún usan sus orillas."],
           ["El museo abrió en 1901.", "Guarda pinturas y mapas antiguos.", "La entrada es gratis los domingos."],
           ["¿Cuándo se construyó el puente?", "¿Quién usa aún sus orillas?", "¿Cuándo abrió el museo?", "¿Cuándo es gratis la entrada?"],
           ["1420", "Los pescadores", "1901", "los domingos"]),
    "ar": (["يمر النهر عبر البلدة القديمة.", "بني عليه جسر عام 1420.", "لا يزال الصيادون يستخدمون ضفافه."],
           ["افتتح المتحف عام 1901.", "يضم لوحات وخرائط قديمة.", "الدخول مجاني أيام الأحد."],
           ["متى بني الجسر على النهر؟", "من لا يزال يستخدم ضفافه؟", "متى افتتح المتحف؟", "متى يكون الدخول مجانيا؟"],
           ["1420", "الصيادون", "1901", "أيام الأحد"]),
    "zh": (["这条河流经老城。", "1420年河上建了桥。", "渔民仍在使用河岸。"],
           ["博物馆于1901年开放。", "馆内有绘画和古地图。", "星期日免费入场。"],
           ["河上的桥是哪一年建的？", "谁仍在使用河岸？", "博物馆哪一年开放？", "什么时候免费入场？"],
           ["1420", "渔民", "1901", "星期日"]),
    "ru": (["Река течёт через старый город.", "Мост построили в 1420 году.", "Рыбаки до сих пор пользуются её берегами."],
           ["Музей открылся в 1901 году.", "В нём хранятся картины и старые карты.", "По воскресеньям вход бесплатный."],
           ["Когда построили мост?", "Кто пользуется берегами?", "Когда открылся музей?", "Когда вход бесплатный?"],
           ["1420", "Рыбаки", "1901", "По воскресеньям"]),
}


def _lareqa_langs() -> dict:
    en_p = [p.split(". ") for p, _ in XR_PARAGRAPHS["en"]]
    en_sent = [[s if s.endswith(".") else s + "." for s in p] for p in en_p]
    en_q = [q for _, qs in XR_PARAGRAPHS["en"] for q, _ in qs]
    en_a = [a for _, qs in XR_PARAGRAPHS["en"] for _, a in qs]
    table = {"en": (en_sent[0], en_sent[1], en_q, en_a), **XR_LANG_TEXT}
    for lang in ("el", "hi", "th", "tr", "vi"):  # the remaining XQuAD-R languages: the English text, tagged (sample filler)
        table[lang] = (en_sent[0], en_sent[1], [f"({lang}) {q}" for q in en_q], en_a)
    return table


# ------------------------------------------------------------------- translate-train (tasks/translated.py)
def squad_document(rows: list[dict]) -> dict:
    """Flat SQuAD rows -> a SQuAD v1.1 JSON document (articles by title, one paragraph per context)."""
    articles: dict[str, dict] = {}
    for row in rows:
        article = articles.setdefault(row["title"], {"title": row["title"], "paragraphs": []})
        if not article["paragraphs"] or article["paragraphs"][-1]["context"] != row["context"]:
            article["paragraphs"].append({"context": row["context"], "qas": []})
        answers = [{"text": t, "answer_start": s} for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"])]
        article["paragraphs"][-1]["qas"].append({"id": row["id"], "question": row["question"], "answers": answers})
    return {"data": list(articles.values()), "version": "1.1"}


def write_document(folder: str, name: str, document: dict) -> None:
    path = OUT / folder / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def make_translated() -> None:
    """MNLI's machine translations (facebook/xnli <lang> train) and XTREME's SQuAD translate-train files
    (squad/translate-train/squad.translate.train.en-<lang>.json, beside squad/{train,dev}-v1.1.json)."""
    for lang in ("de", "zh", "ar", "ru"):
        rows = []
        for i in range(12):
            premise, hypothesis = nli_pair(lang, SCENES[lang][i % 8], i % 3)
            rows.append({"premise": premise, "hypothesis": hypothesis, "label": i % 3})
        write("facebook/xnli", lang, "train", rows)
    squad_id = lambda offset: (lambda _, r, q: hexid("squad-translate", r + offset, q))  # noqa: E731
    write_document("squad", "train-v1.1", squad_document(qa_rows("en", EN_RECORDS[4:12], xtreme=False, make_id=squad_id(4))))
    write_document("squad", "dev-v1.1", squad_document(qa_rows("en", EN_RECORDS[:4], xtreme=False, make_id=squad_id(0))))
    for lang in ("de", "zh", "ar", "ru"):  # the first four records, translated (ids as the English originals)
        document = squad_document(qa_rows(lang, RECORDS[lang][:4], xtreme=False, make_id=squad_id(0)))
        if lang == "de":  # a translation that lost its answer span: answer_start -1 (the reader skips it)
            document["data"][-1]["paragraphs"][-1]["qas"][-1]["answers"][0]["answer_start"] = -1
        write_document("squad/translate-train", f"squad.translate.train.en-{lang}", document)


def make_lareqa() -> None:
    """lareqa/xquad-r/<lang>.json in the released SQuAD-format layout (with sentence_breaks)."""
    qids = ["5725b33f6a3fe71400b8952d", "5725b33f6a3fe71400b8952e", "5725b56dec44d21400f3d6a3", "5725b56dec44d21400f3d6a4"]
    for lang, (p1, p2, questions, answers) in sorted(_lareqa_langs().items()):
        paragraphs = []
        for k, sentences in enumerate((p1, p2)):
            sep = "" if lang == "zh" else " "
            context = sep.join(sentences)
            spans = _spans(context, sentences)
            qas = []
            for j in (2 * k, 2 * k + 1):
                start = context.index(answers[j])
                qas.append({"id": qids[j], "question": questions[j], "answers": [{"text": answers[j], "answer_start": start}]})
            paragraphs.append({"context": context, "sentence_breaks": [[s["start"], s["end"]] for s in spans], "qas": qas})
        path = OUT / "lareqa" / "xquad-r" / f"{lang}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"data": [{"title": "Old_town", "paragraphs": paragraphs}], "version": "1.1"},
                                   ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


# COPA / XCOPA: (premise, cause-or-effect, choice1, choice2, label) per language; the correct choice is the calmer one.
XR_COPA = {
    "en": [("The man turned on the faucet.", "effect", "Water flowed from the spout.", "The toilet filled with water.", 0),
           ("The girl found a bug in her cereal.", "effect", "She poured milk in the bowl.", "She lost her appetite.", 1),
           ("The woman retired.", "cause", "She received her pension.", "She paid off her mortgage.", 0),
           ("I wanted to conserve energy.", "effect", "I swept the floor.", "I shut off the light.", 1)],
    "zh": [("男人打开了水龙头。", "effect", "水从龙头里流出来。", "马桶里灌满了水。", 0),
           ("女孩在麦片里发现了一只虫子。", "effect", "她往碗里倒了牛奶。", "她没有了胃口。", 1),
           ("那个女人退休了。", "cause", "她领到了退休金。", "她还清了房贷。", 0),
           ("我想节约能源。", "effect", "我扫了地。", "我关了灯。", 1)],
    "th": [("ผู้ชายเปิดก๊อกน้ำ", "effect", "น้ำไหลออกจากก๊อก", "ชักโครกเต็มไปด้วยน้ำ", 0),
           ("เด็กผู้หญิงพบแมลงในซีเรียล", "effect", "เธอเทนมลงในชาม", "เธอหมดความอยากอาหาร", 1),
           ("ผู้หญิงคนนั้นเกษียณ", "cause", "เธอได้รับเงินบำนาญ", "เธอผ่อนบ้านหมดแล้ว", 0),
           ("ฉันอยากประหยัดพลังงาน", "effect", "ฉันกวาดพื้น", "ฉันปิดไฟ", 1)],
    "tr": [("Adam musluğu açtı.", "effect", "Musluktan su aktı.", "Tuvalet suyla doldu.", 0),
           ("Kız mısır gevreğinde bir böcek buldu.", "effect", "Kaseye süt döktü.", "İştahı kaçtı.", 1),
           ("Kadın emekli oldu.", "cause", "Emekli maaşını aldı.", "Ev kredisini ödedi.", 0),
           ("Enerji tasarrufu yapmak istedim.", "effect", "Yeri süpürdüm.", "Işığı kapattım.", 1)],
    "id": [("Pria itu menyalakan keran.", "effect", "Air mengalir dari keran.", "Toilet terisi air.", 0),
           ("Gadis itu menemukan serangga di serealnya.", "effect", "Dia menuangkan susu ke mangkuk.", "Dia kehilangan nafsu makan.", 1),
           ("Wanita itu pensiun.", "cause", "Dia menerima uang pensiun.", "Dia melunasi hipoteknya.", 0),
           ("Saya ingin menghemat energi.", "effect", "Saya menyapu lantai.", "Saya mematikan lampu.", 1)],
}


def make_xcopa() -> None:
    def rows(lang: str, start: int, count: int, changed: bool) -> list[dict]:
        items = XR_COPA[lang]
        out = []
        for n in range(count):
            premise, question, c1, c2, label = items[(start + n) % len(items)]
            if (start + n) // len(items) % 2:  # swap the choices on every other pass, so both labels occur per position
                c1, c2, label = c2, c1, 1 - label
            row = {"premise": premise, "choice1": c1, "choice2": c2, "question": question, "label": label, "idx": start + n}
            if changed:
                row["changed"] = False
            out.append(row)
        return out

    write("aps/super_glue", "copa", "train", rows("en", 0, 16, False))
    write("aps/super_glue", "copa", "validation", rows("en", 16, 8, False))
    for lang in ("zh", "th", "tr", "id"):
        write("cambridgeltl/xcopa", lang, "validation", rows(lang, 0, 4, True))
        write("cambridgeltl/xcopa", lang, "test", rows(lang, 4, 8, True))


def make_xquad_ro() -> None:
    context = ("Râul traversează orașul vechi. Podul a fost construit în 1420. Pescarii folosesc încă malurile lui. "
               "Muzeul a fost deschis în 1901.")
    qas = [("Când a fost construit podul?", "1420"), ("Cine folosește încă malurile?", "Pescarii"),
           ("Când a fost deschis muzeul?", "1901"), ("Ce traversează orașul vechi?", "Râul")]
    rows = [{"id": hexid("xquad.ro", q), "context": context, "question": q,
             "answers": {"text": [a], "answer_start": [context.index(a)]}} for q, a in qas]
    write("google/xquad", "xquad.ro", "validation", rows)


# UD v2.7 (universal-dependencies/universal_dependencies): the Hub loader's conllu parse, one row per
# sentence with every conllu line, multiword-token ranges included (upos "_", head None). Spec:
# "word/TAG" or a range "fused=part/TAG+part/TAG"; every word hangs off the first VERB (else the first word).
UD27_UPOS = ("NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET", "CCONJ", "PROPN", "PRON", "X", "_",
             "ADV", "INTJ", "VERB", "AUX")
UD27_DEPREL = {"NOUN": "obj", "PROPN": "nsubj", "PRON": "nsubj", "ADV": "advmod", "PUNCT": "punct", "AUX": "aux",
               "ADP": "case", "ADJ": "amod", "DET": "det", "PART": "advmod", "VERB": "root"}
UD27 = {  # treebank -> sentences
    "uk_iu": ["Марія/PROPN читає/VERB нову/ADJ книгу/NOUN ./PUNCT", "Ми/PRON живемо/VERB у/ADP Києві/PROPN ./PUNCT",
              "Учора/ADV йшов/VERB сильний/ADJ дощ/NOUN ./PUNCT", "Він/PRON не/PART знає/VERB відповіді/NOUN ./PUNCT",
              "Олег/PROPN купив/VERB свіжий/ADJ хліб/NOUN ./PUNCT", "Діти/NOUN грають/VERB у/ADP парку/NOUN ./PUNCT"],
    "pl_lfg": ["Anna/PROPN czyta/VERB nową/ADJ książkę/NOUN ./PUNCT",
               "Wczoraj/ADV kupiłem=kupił/VERB+em/AUX chleb/NOUN ./PUNCT",
               "Piotr/PROPN pisze/VERB długi/ADJ list/NOUN ./PUNCT", "Ona/PRON lubi/VERB zimną/ADJ wodę/NOUN ./PUNCT"],
    "pl_pdb": ["Mieszkamy/VERB w/ADP Krakowie/PROPN ./PUNCT", "On/PRON nie/PART zna/VERB odpowiedzi/NOUN ./PUNCT",
               "Pociąg/NOUN przyjechał/VERB wcześnie/ADV ./PUNCT", "Byłeś=Był/AUX+eś/AUX tam/ADV wczoraj/ADV ?/PUNCT"],
    "pl_pud": ["Gdzieś=Gdzie/ADV+ś/AUX widziała/VERB ten/DET dom/NOUN ?/PUNCT", "Dzieci/NOUN bawią/VERB się/PRON w/ADP parku/NOUN ./PUNCT",
               "Rząd/NOUN ogłosił/VERB nowe/ADJ przepisy/NOUN ./PUNCT", "Muzeum/NOUN otwarto/VERB w/ADP maju/NOUN ./PUNCT"],
    "lt_alksnis": ["Marija/PROPN skaito/VERB naują/ADJ knygą/NOUN ./PUNCT", "Mes/PRON gyvename/VERB Vilniuje/PROPN ./PUNCT",
                   "Vakar/ADV lijo/VERB stiprus/ADJ lietus/NOUN ./PUNCT", "Jis/PRON nežino/VERB atsakymo/NOUN ./PUNCT",
                   "Vaikai/NOUN žaidžia/VERB parke/NOUN ./PUNCT"],
}


def ud27_row(treebank: str, n: int, spec: str) -> dict:
    words = []  # (form, upos, range_of) with range rows first, as conllu lists them
    for item in spec.split():
        if "=" in item:
            fused, parts = item.split("=", 1)
            pieces = [part.rsplit("/", 1) for part in parts.split("+")]
            words.append((fused, "_", len(pieces)))
            words.extend((form, tag, 0) for form, tag in pieces)
        else:
            form, tag = item.rsplit("/", 1)
            words.append((form, tag, 0))
    syntactic = [w for w in words if w[1] != "_"]
    root = next((i for i, w in enumerate(syntactic, 1) if w[1] == "VERB"), 1)  # the first VERB, else the first word
    heads, number = [], 0
    for form, tag, span in words:
        if tag == "_":
            heads.append(None)
        else:
            number += 1
            heads.append(0 if number == root else root)
    text = " ".join(w[0] for w in words if w[1] == "_" or not any(  # the sentence text: fused forms, not parts
        prev[1] == "_" and 0 < words.index(w) - k <= prev[2] for k, prev in enumerate(words)))
    return {"idx": f"{treebank}-s{n}", "text": text, "tokens": [w[0] for w in words],
            "lemmas": ["_" if w[1] == "_" else w[0].lower() for w in words],  # conllu keeps a "_" lemma as "_"
            "upos": [UD27_UPOS.index(w[1]) for w in words],
            "xpos": [None if w[1] == "_" else f"{treebank[:2]}:{w[1].lower()}" for w in words],  # "_" -> None in conllu
            "feats": ["None"] * len(words), "head": [str(h) for h in heads],
            "deprel": ["None" if w[1] == "_" else ("root" if h == 0 else UD27_DEPREL.get(w[1], "dep")) for w, h in zip(words, heads)],
            "deps": ["None"] * len(words), "misc": ["None"] * len(words)}


def make_ud27() -> None:
    for treebank, specs in UD27.items():
        write("universal-dependencies/universal_dependencies", treebank, "test",
              [ud27_row(treebank, n, spec) for n, spec in enumerate(specs, 1)])


# unimelb-nlp/wikiann: tokens, ner_tags (PAN-X's ClassLabel order), langs, spans ("PER: Name", as its loader
# lists the entities); the XTREME-R PAN-X languages Google's PAN-X configs lack
WIKIANN = {
    "uk": (["{PER} народився в {LOC} .", "{PER} працював у {ORG} .", "{ORG} розташований у {LOC} ."],
           [["Тарас", "Шевченко"], ["Леся", "Українка"], ["Іван", "Франко"], ["Сергій", "Корольов"]],
           [["Київський", "університет"], ["Укрзалізниця"], ["Національний", "банк"], ["Нафтогаз"]],
           [["Києві"], ["Львові"], ["Одесі"], ["Харкові"]]),
    "pl": (["{PER} urodził się w {LOC} .", "{PER} pracował w {ORG} .", "{ORG} ma siedzibę w {LOC} ."],
           [["Fryderyk", "Chopin"], ["Maria", "Skłodowska"], ["Adam", "Mickiewicz"], ["Jan", "Matejko"]],
           [["Uniwersytecie", "Jagiellońskim"], ["PKP"], ["Orlenie"], ["Polskim", "Radiu"]],
           [["Warszawie"], ["Krakowie"], ["Gdańsku"], ["Poznaniu"]]),
    "lt": (["{PER} gimė {LOC} .", "{PER} dirbo {ORG} .", "{ORG} būstinė yra {LOC} ."],
           [["Jonas", "Basanavičius"], ["Vydūnas"], ["Salomėja", "Nėris"], ["Maironis"]],
           [["Vilniaus", "universitete"], ["Lietuvos", "banke"], ["Lietuvos", "geležinkeliuose"], ["Seime"]],
           [["Vilniuje"], ["Kaune"], ["Klaipėdoje"], ["Šiauliuose"]]),
}


def wikiann_rows(lang: str, count: int) -> list[dict]:
    templates, per, org, loc = WIKIANN[lang]
    rows = []
    for k in range(count):
        fill = {"PER": per[k % 4], "ORG": org[(k + 1) % 4], "LOC": loc[(k + 2) % 4]}
        tokens, tags, spans = [], [], []
        for piece in templates[k % len(templates)].replace("{", " {").replace("}", "} ").split():
            if piece.startswith("{"):
                kind = piece[1:-1]
                tokens += fill[kind]
                tags += [PANX_TAGS.index(f"B-{kind}")] + [PANX_TAGS.index(f"I-{kind}")] * (len(fill[kind]) - 1)
                spans.append(f"{kind}: {' '.join(fill[kind])}")
            else:
                tokens.append(piece)
                tags.append(0)
        rows.append({"tokens": tokens, "ner_tags": tags, "langs": [lang] * len(tokens), "spans": spans})
    return rows


def make_wikiann() -> None:
    for lang in WIKIANN:
        write("unimelb-nlp/wikiann", lang, "test", wikiann_rows(lang, 6))


# Social IQa (allenai/social_i_qa): context, question, answerA/B/C, label "1".."3" (a string); the right
# answer is the considerate one, a cue a tiny model can pick up
SIQA_PEOPLE = ["Jordan", "Casey", "Riley", "Skylar", "Taylor", "Quinn", "Avery", "Cameron"]
SIQA_EVENTS = [("helped {p} carry the heavy boxes", "How would {p} feel as a result?", "grateful and relieved",
                ["bored with the boxes", "angry at the weather"]),
               ("forgot {p}'s birthday party", "What will {p} want to do next?", "talk kindly about it later",
                ["buy a new car", "move to another city"]),
               ("lent {p} an umbrella in the rain", "Why did they do this?", "to keep {p} dry and warm",
                ["to sell the umbrella", "to start a long trip"]),
               ("cooked dinner for {p} after work", "What does {p} need to do before this?", "come home hungry and tired",
                ["learn to fly a plane", "paint the whole house"])]


def make_siqa() -> None:
    def rows(start: int, count: int) -> list[dict]:
        out = []
        for n in range(start, start + count):
            actor, other = SIQA_PEOPLE[n % 8], SIQA_PEOPLE[(n + 3) % 8]
            event, question, right, wrong = SIQA_EVENTS[n % 4]
            label = n % 3
            answers = place(right.format(p=other), [w.format(p=other) for w in wrong], label)
            out.append({"context": f"{actor} {event.format(p=other)}.", "question": question.format(p=other),
                        "answerA": answers[0], "answerB": answers[1], "answerC": answers[2], "label": str(label + 1)})
        return out

    write("allenai/social_i_qa", None, "train", rows(0, 24))
    write("allenai/social_i_qa", None, "validation", rows(24, 8))


def make_xtreme_r() -> None:
    make_xcopa()
    make_xquad_ro()
    make_mewslix()
    make_lareqa()
    make_ud27()
    make_wikiann()
    make_siqa()


# ------------------------------------------------------------------------------------ XGLUE
# microsoft/xglue, in the loading script's schema: ClassLabel columns as ids, one English "train"
# split, "validation.<lang>" / "test.<lang>" per language. Each task's evaluation languages here
# include a non-Latin script where XGLUE has one (NER, PAWS-X, QADSM and QAM are Latin-only).
XGLUE_NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
XGLUE_NER = {  # templates over {PER} {ORG} {LOC} {MISC}; fillers
    "en": ["{PER} was born in {LOC} .", "{PER} played for {ORG} .", "{ORG} signed the {MISC} deal in {LOC} .",
           "{PER} speaks {MISC} ."],
    "de": ["{PER} wurde in {LOC} geboren .", "{PER} spielte für {ORG} .", "{ORG} unterschrieb in {LOC} den {MISC} Vertrag ."],
    "es": ["{PER} nació en {LOC} .", "{PER} jugó en el {ORG} .", "{ORG} firmó el acuerdo {MISC} en {LOC} ."],
    "nl": ["{PER} werd geboren in {LOC} .", "{PER} speelde voor {ORG} .", "{ORG} tekende in {LOC} het {MISC} akkoord ."],
}
XGLUE_NER_FILL = {
    "PER": [["Marie", "Curie"], ["Johan", "Cruijff"], ["Ada", "Lovelace"], ["Pablo", "Neruda"]],
    "ORG": [["Real", "Madrid"], ["Ajax"], ["Siemens"], ["Verenigde", "Naties"]],
    "LOC": [["Paris"], ["Amsterdam"], ["Sevilla"], ["Hamburg"]],
    "MISC": [["Europese"], ["Olympic"], ["Deutsche"], ["Spanish"]],
}
XGLUE_NC = {  # category -> a title cue per language (en, de, ru)
    "foodanddrink": ("recipe", "Rezept", "рецепт"), "sports": ("match", "Spiel", "матч"), "travel": ("trip", "Reise", "поездка"),
    "finance": ("stocks", "Aktien", "акции"), "lifestyle": ("home", "Wohnen", "дом"), "news": ("government", "Regierung", "правительство"),
    "entertainment": ("film", "Film", "фильм"), "health": ("doctor", "Arzt", "врач"), "video": ("watch", "Video", "видео"),
    "autos": ("car", "Auto", "машина"),
}
XGLUE_NC_TEXT = {
    "en": ("{cue}: what you need to know this week", "A short article about the {cue}, written for our readers in {city}."),
    "de": ("{cue}: was Sie diese Woche wissen müssen", "Ein kurzer Artikel über {cue}, geschrieben für unsere Leser in {city}."),
    "ru": ("{cue}: что нужно знать на этой неделе", "Короткая статья про {cue} для наших читателей в городе {city}."),
}
XGLUE_CITIES = ["Berlin", "Madrid", "Moskau", "Lyon", "Oslo"]
XGLUE_PAWS_ES = ("En {y}, {a} se mudó de {x} a {z}.", "{a} se mudó de {x} a {z} en {y}.", "{a} se mudó de {z} a {x} en {y}.")
XGLUE_ADS = {  # (query, relevant ad title, relevant description, unrelated ad title, unrelated description) per language
    "en": [("cheap flights rome", "Flights to Rome", "Book cheap flights to Rome today.", "Garden Chairs", "Wooden chairs for your garden."),
           ("running shoes", "Running Shoes Sale", "Light running shoes for every runner.", "Car Insurance", "Compare car insurance quotes."),
           ("pizza delivery", "Pizza Delivered Fast", "Hot pizza delivered in 30 minutes.", "Hotel Rooms Paris", "Rooms near the Eiffel Tower."),
           ("laptop deals", "Laptop Deals", "Save on new laptops this week.", "Dog Food", "Healthy food for your dog.")],
    "de": [("günstige flüge rom", "Flüge nach Rom", "Günstige Flüge nach Rom buchen.", "Gartenstühle", "Holzstühle für Ihren Garten."),
           ("laufschuhe", "Laufschuhe im Angebot", "Leichte Laufschuhe für alle Läufer.", "Kfz-Versicherung", "Versicherungen vergleichen.")],
    "fr": [("vols pas chers rome", "Vols pour Rome", "Réservez un vol pas cher pour Rome.", "Chaises de jardin", "Chaises en bois."),
           ("chaussures de course", "Chaussures de course", "Des chaussures légères pour courir.", "Assurance auto", "Comparez les offres.")],
}
XGLUE_QAM = {  # (question, answer passage, unrelated passage) per language
    "en": [("how tall is mount everest", "Mount Everest is 8,849 metres high.", "The Nile flows into the Mediterranean Sea."),
           ("who wrote hamlet", "Hamlet was written by William Shakespeare.", "Paris is the capital of France."),
           ("when did the berlin wall fall", "The Berlin Wall fell in November 1989.", "Bananas grow in warm climates."),
           ("what is the boiling point of water", "Water boils at 100 degrees Celsius at sea level.", "The violin has four strings.")],
    "de": [("wie hoch ist der mount everest", "Der Mount Everest ist 8.849 Meter hoch.", "Der Nil fließt ins Mittelmeer."),
           ("wer schrieb hamlet", "Hamlet wurde von William Shakespeare geschrieben.", "Paris ist die Hauptstadt Frankreichs.")],
    "fr": [("quelle est la hauteur de l'everest", "L'Everest culmine à 8 849 mètres.", "Le Nil se jette dans la Méditerranée."),
           ("qui a écrit hamlet", "Hamlet a été écrit par William Shakespeare.", "Paris est la capitale de la France.")],
}
XGLUE_WPR = {  # query -> pages (title, snippet, relevance 0..4), best first; written rows rotate the order
    "en": [("weather berlin", [("Berlin weather forecast", "Hourly weather forecast for Berlin.", 4),
                               ("Germany weather", "Weather maps for all of Germany.", 2),
                               ("Berlin hotels", "Find a hotel in Berlin.", 1), ("Cake recipes", "Easy cake recipes.", 0)]),
           ("python tutorial", [("Python tutorial for beginners", "Learn Python step by step.", 4),
                                ("Python documentation", "The official Python docs.", 3),
                                ("Snakes of the world", "Facts about pythons and other snakes.", 1),
                                ("Cheap flights", "Compare flight prices.", 0)]),
           ("bake bread", [("How to bake bread", "A simple bread recipe with flour and yeast.", 4),
                           ("Bread flour", "Buy bread flour online.", 2), ("Bakery near me", "Find a bakery.", 1),
                           ("Car repair", "Fix your car brakes.", 0)])],
    "de": [("wetter berlin", [("Wetter Berlin", "Stündliche Wettervorhersage für Berlin.", 4),
                              ("Wetter Deutschland", "Wetterkarten für Deutschland.", 2),
                              ("Hotels in Berlin", "Finden Sie ein Hotel in Berlin.", 1), ("Kuchenrezepte", "Einfache Kuchen.", 0)]),
           ("brot backen", [("Brot backen", "Ein einfaches Brotrezept mit Mehl und Hefe.", 4),
                            ("Brotmehl", "Brotmehl online kaufen.", 2), ("Bäckerei", "Eine Bäckerei in der Nähe.", 1),
                            ("Autoreparatur", "Bremsen selbst reparieren.", 0)])],
    "zh": [("北京天气", [("北京天气预报", "北京逐小时天气预报。", 4), ("中国天气", "全国天气地图。", 2),
                        ("北京酒店", "预订北京的酒店。", 1), ("蛋糕食谱", "简单的蛋糕做法。", 0)]),
           ("烤面包", [("如何烤面包", "用面粉和酵母做面包的简单方法。", 4), ("面包粉", "网上购买面包粉。", 2),
                      ("附近的面包店", "查找面包店。", 1), ("汽车维修", "自己修理刹车。", 0)])],
}


def _xglue_ner_rows(lang: str, count: int, offset: int) -> list[dict]:
    rows = []
    for k in range(offset, offset + count):
        template = XGLUE_NER[lang][k % len(XGLUE_NER[lang])]
        words, tags = [], []
        for piece in template.replace("{", " {").replace("}", "} ").split():
            if piece.startswith("{"):
                kind = piece[1:-1]
                filler = XGLUE_NER_FILL[kind][(k + len(kind)) % 4]
                words += filler
                tags += [XGLUE_NER_TAGS.index(f"B-{kind}")] + [XGLUE_NER_TAGS.index(f"I-{kind}")] * (len(filler) - 1)
            else:
                words.append(piece)
                tags.append(0)
        rows.append({"words": words, "ner": tags})
    return rows


def _xglue_nc_rows(lang: str, count: int, offset: int) -> list[dict]:
    column = {"en": 0, "de": 1, "ru": 2}[lang]
    names = list(XGLUE_NC)
    title, body = XGLUE_NC_TEXT[lang]
    rows = []
    for k in range(offset, offset + count):
        category = k % len(names)
        cue = XGLUE_NC[names[category]][column]
        slots = dict(cue=cue, city=XGLUE_CITIES[k % 5])
        rows.append({"news_title": title.format(**slots), "news_body": body.format(**slots), "news_category": category})
    return rows


def _xglue_paws_rows(lang: str, count: int, offset: int) -> list[dict]:
    if lang != "es":  # the XTREME PAWS-X templates, with XGLUE's ClassLabel ids (different=0, same=1)
        return [{**r, "label": int(r["label"])} for r in paws_rows(lang, count, offset)]
    para, plain, swapped = XGLUE_PAWS_ES
    rows = []
    for k in range(offset, offset + count):
        a, x, z = PAWS_PEOPLE[k % 8]
        slots = dict(a=a, x=x, z=z, y=1950 + (k * 3) % 60)
        label = (k + k // 8) % 2
        s1, s2 = (para, plain) if label else (plain, swapped)
        rows.append({"sentence1": s1.format(**slots), "sentence2": s2.format(**slots), "label": label})
    return rows


def _xglue_pair_rows(items: list[tuple], count: int, offset: int, relevant, unrelated) -> list[dict]:
    """Alternate a relevant (label 1) and an unrelated (label 0) row per item."""
    rows = []
    for k in range(offset, offset + count):
        item = items[(k // 2) % len(items)]
        rows.append(relevant(item) if k % 2 == 0 else unrelated(item))
    return rows


def _xglue_ads(lang: str, count: int, offset: int) -> list[dict]:
    return _xglue_pair_rows(XGLUE_ADS[lang], count, offset,
                            lambda i: {"query": i[0], "ad_title": i[1], "ad_description": i[2], "relevance_label": 1},
                            lambda i: {"query": i[0], "ad_title": i[3], "ad_description": i[4], "relevance_label": 0})


def _xglue_qam(lang: str, count: int, offset: int) -> list[dict]:
    return _xglue_pair_rows(XGLUE_QAM[lang], count, offset, lambda i: {"question": i[0], "answer": i[1], "label": 1},
                            lambda i: {"question": i[0], "answer": i[2], "label": 0})


def _xglue_wpr(lang: str, queries: list[int], rotate: int = 0) -> list[dict]:
    """The pages of each query, adjacent (XGLUE's scorer groups rows by runs of the same query)."""
    rows = []
    for q in queries:
        query, pages = XGLUE_WPR[lang][q]
        shift = (q + rotate) % len(pages)
        for title, snippet, relevance in pages[shift:] + pages[:shift]:
            rows.append({"query": query, "web_page_title": title, "web_page_snippet": snippet, "relavance_label": relevance})
    return rows


def make_xglue() -> None:
    x = "microsoft/xglue"
    write(x, "ner", "train", _xglue_ner_rows("en", 24, 0))
    write(x, "ner", "validation.en", _xglue_ner_rows("en", 6, 24))
    for lang in ("en", "de", "es", "nl"):
        write(x, "ner", f"test.{lang}", _xglue_ner_rows(lang, 6, 30))
    write(x, "pos", "train", [{"words": r["tokens"], "pos": r["pos_tags"]} for r in ud_rows("en", 24, 0)])
    write(x, "pos", "validation.en", [{"words": r["tokens"], "pos": r["pos_tags"]} for r in ud_rows("en", 6, 24)])
    for lang in ("en", "de", "zh", "ar", "hi"):
        write(x, "pos", f"test.{lang}", [{"words": r["tokens"], "pos": r["pos_tags"]} for r in ud_rows(lang, 6, 30)])
    write(x, "nc", "train", _xglue_nc_rows("en", 30, 0))
    write(x, "nc", "validation.en", _xglue_nc_rows("en", 10, 30))
    for lang in ("en", "de", "ru"):
        write(x, "nc", f"test.{lang}", _xglue_nc_rows(lang, 10, 40))
    write(x, "paws-x", "train", _xglue_paws_rows("en", 24, 0))
    write(x, "paws-x", "validation.en", _xglue_paws_rows("en", 6, 24))
    for lang in ("en", "de", "es"):
        write(x, "paws-x", f"test.{lang}", _xglue_paws_rows(lang, 6, 40))
    write(x, "qadsm", "train", _xglue_ads("en", 16, 0))
    write(x, "qadsm", "validation.en", _xglue_ads("en", 6, 2))
    for lang in ("en", "de", "fr"):
        write(x, "qadsm", f"test.{lang}", _xglue_ads(lang, 4, 0))
    write(x, "qam", "train", _xglue_qam("en", 16, 0))
    write(x, "qam", "validation.en", _xglue_qam("en", 6, 2))
    for lang in ("en", "de", "fr"):
        write(x, "qam", f"test.{lang}", _xglue_qam(lang, 4, 0))
    write(x, "wpr", "train", _xglue_wpr("en", [0, 1, 2, 0, 1, 2], rotate=1)[:20] + _xglue_wpr("en", [0], rotate=3))
    write(x, "wpr", "validation.en", _xglue_wpr("en", [1, 2], rotate=2))
    for lang in ("en", "de", "zh"):
        write(x, "wpr", f"test.{lang}", _xglue_wpr(lang, [0, 1], rotate=1))
    for path in WRITTEN:  # ids within their ClassLabel ranges, one tag per word
        if "microsoft__xglue" in str(path):
            for row in (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()):
                for column, size in (("ner", 9), ("pos", 17)):
                    if column in row:
                        assert len(row[column]) == len(row["words"]) and all(0 <= t < size for t in row[column]), path
                for column, size in (("news_category", 10), ("label", 2), ("relevance_label", 2), ("relavance_label", 5)):
                    if column in row:
                        assert type(row[column]) is int and 0 <= row[column] < size, (path, row)


# ------------------------------------------------------------------------------------- checks
def check() -> None:
    """Schema sanity over everything written: label ranges, BIO validity, token/tag alignment."""
    for path in WRITTEN:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert rows, path
        for row in rows:
            if "ner_tags" in row or "pos_tags" in row:
                tags = row.get("ner_tags", row.get("pos_tags"))
                assert len(tags) == len(row["tokens"]) and all(0 <= t < (7 if "ner_tags" in row else 17) for t in tags), path
                names = [PANX_TAGS[t] for t in tags] if "ner_tags" in row else []
                for prev, cur in zip(["O"] + names, names):
                    assert not cur.startswith("I-") or prev[2:] == cur[2:], (path, names)
            if "answers" in row:
                for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"]):
                    assert row["context"][start:start + len(text)] == text, (path, row["id"])
            if "ccgbank" in str(path):
                assert len(row["tags"]) == len(row["tokens"])
    assert len(set(CCG_SUPERTAGS)) == len(CCG_SUPERTAGS)


def main() -> None:
    for old in OUT.rglob("*.jsonl"):
        old.unlink()
    for folder in sorted((p for p in OUT.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    for make in (make_nli, make_anli, make_qqp, make_qa, make_hellaswag, make_cosmos, make_csqa, make_ccg, make_udpos,
                 make_panx, make_pawsx, make_retrieval, make_xtreme_r, make_xglue, make_translated):
        make()
    check()
    print(f"wrote {len(WRITTEN)} files under {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
