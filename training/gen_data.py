"""Synthetic long-document question answering data, deterministic from a seed.

Documents are varied templated prose with facts planted at random depths. Each question's
answer is a short span (name, number, code, city) stated once; distractor facts use
near-identical keys; some questions need two facts planted apart; some answers sit in
the first or last 2 % of the document. Entities are disjoint across train/dev/test and
each question type has one phrasing that only the test split uses.

Usage (writes the evaluation sets and the sample job files):
    python training/gen_data.py --tokenizer models/focus-qa-small/tokenizer.json --out training/out/eval
"""

import argparse
import hashlib
import json
import os
import random
import re

import vocab as V

SPECIALS = ["<|startoftext|>", "<|endoftext|>", "<|mdm_mask|>", "<|eot_id|>",
            "<|start_header_id|>", "<|end_header_id|>"]

# MARK: - entity pools


class Pools:
    """Entity pools of one split."""

    def __init__(self, split):
        self.split = split
        self.first = V.split_pool(V.FIRST_NAMES, split, seed=3)
        self.last = V.split_pool(V.LAST_NAMES, split, seed=5)
        cities = sorted(set(V.CITIES))
        random.Random(9).shuffle(cities)
        n = len(cities)
        self.cities = {"train": cities[: n // 2], "dev": cities[n // 2: 3 * n // 4],
                       "test": cities[3 * n // 4:]}[split]
        self.companies = V.company_names(split)
        self.by_prefix = {}
        for c in self.companies:
            self.by_prefix.setdefault(c[:5], []).append(c)
        self.code_letters = V.CODE_LETTERS[split]
        self.filler_names = V.split_pool(V.FIRST_NAMES, split, seed=3)

    def first_name(self, rng):
        return rng.choice(self.first)

    def last_name(self, rng):
        return rng.choice(self.last)

    def city(self, rng):
        return rng.choice(self.cities)

    def company(self, rng, prefix=None):
        return rng.choice(self.by_prefix.get(prefix) or self.companies if prefix else self.companies)


class RandomPools(Pools):
    """Training entities spelled from random alphabetic pieces of the tokenizer's vocabulary.

    The named pools of the training split cover only the pieces their words tokenize into, so
    many vocabulary ids never occur in training text, and an answer about an unseen entity that
    uses one cannot be copied. Names, cities and companies made here from random pieces (and
    codes from the whole alphabet) make every alphabetic piece occur; as facts they are still
    unrelated to the dev and test entities.
    """

    def __init__(self, tok):
        super().__init__("train")
        starts, inner = [], []
        for piece in tok.get_vocab():
            word = piece[1:] if piece.startswith("\u0120") else piece
            if not word.isascii() or not word.isalpha():
                continue
            if piece.startswith("\u0120"):
                starts.append(word[0].upper() + word[1:])
            elif word.islower():
                inner.append(word)
        self.starts, self.inner = sorted(set(starts)), sorted(set(inner))
        self.code_letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def word(self, rng, low=0, high=2):
        w = rng.choice(self.starts) + "".join(rng.choice(self.inner)
                                             for _ in range(rng.randint(low, high)))
        return w if len(w) >= 3 else w + rng.choice(self.inner)

    def first_name(self, rng):
        return self.word(rng)

    def last_name(self, rng):
        return self.word(rng)

    def city(self, rng):
        return self.word(rng)

    def company(self, rng, prefix=None):
        if prefix:
            return prefix + rng.choice(self.inner) + rng.choice(self.inner)
        return self.word(rng, 1, 3)


# MARK: - filler prose

FILLER = [
    "{N} {verb} the {adj} {noun} near the {place} before {time}.",
    "By {time} the {place} was {adj} and smelled of {weather}.",
    "Nobody at the {place} remembered who had left the {noun} by the door.",
    "{N} said that the {noun} in the {place} looked {adj} in the {season} light.",
    "The {adj} {noun} stayed in the {place} for {smallnum} days.",
    "During the {season}, {N} often walked from the {place} to the {place2}.",
    "A {adj} {noun} hung above the entrance of the {place}.",
    "{N} and {N2} {verb} a {noun} together after {time}.",
    "The path past the {place} was {adj} after the {weather}.",
    "Every {season} the {place} opened its doors a little earlier.",
    "{N} kept a {adj} {noun} on the shelf beside the {noun2}.",
    "There were {smallnum} {nouns} waiting in the {place} that {time}.",
    "The {weather} made the {place} feel {adj} and far away.",
    "{N} wrote a short note about the {noun} and left it at the {place}.",
    "It took {N2} {smallnum} hours to reach the {place} on foot.",
    "The {place2} was quieter than the {place}, at least around {time}.",
    "Someone had {verb} the {noun} so carefully that it looked new.",
    "{N} liked the {adj} {noun} more than the {adj2} one.",
    "In the {season} the {place} filled with visitors carrying {nouns}.",
    "When the {weather} stopped, {N} went back to the {place}.",
    "The old {noun} in the {place} had been {verb} twice that year.",
    "{N} asked {N2} whether the {place} would open before {time}.",
    "Most of the {nouns} near the {place2} were {adj}.",
    "A {adj} light fell across the {place} just after {time}.",
    "{N2} {verb} the {noun} while {N} watched from the {place}.",
    "Nothing unusual happened at the {place} that {season}.",
    "The story of the {adj} {noun} was told again at the {place}.",
    "Later, {N} found a {noun} under a bench in the {place2}.",
    "The {place} and the {place2} were joined by a {adj} lane.",
    "{N} counted {smallnum} {nouns} on the way to the {place}.",
    "After {time}, the {noun} was moved from the {place} to the {place2}.",
    "Visitors to the {place} rarely noticed the {adj} {noun}.",
]

SMALLNUM = "two three four five six seven eight nine ten eleven twelve".split()


def filler_sentence(rng, pools):
    t = rng.choice(FILLER)
    n1, n2 = rng.sample(pools.filler_names, 2)
    p1, p2 = rng.sample(V.FILLER_PLACES, 2)
    a1, a2 = rng.sample(V.ADJECTIVES, 2)
    o1, o2 = rng.sample(V.FILLER_NOUNS, 2)
    s = t.format(N=n1, N2=n2, verb=rng.choice(V.VERBS_PAST), adj=a1, adj2=a2, noun=o1,
                 noun2=o2, nouns=o1 + "s", place=p1, place2=p2, time=rng.choice(V.TIMES),
                 weather=rng.choice(V.WEATHER), season=rng.choice(V.SEASONS),
                 smallnum=rng.choice(SMALLNUM))
    s = re.sub(r"\b([Aa]) ([aeiou])", r"\1n \2", s)
    return s[0].upper() + s[1:]


# MARK: - question phrasings (the last phrasing of every type is used by the test split only)

QUESTIONS = {
    "room": ["What is the access code for room {k}?", "Which access code opens room {k}?",
             "What code is needed to enter room {k}?", "Tell me the access code of room {k}."],
    "born": ["Where was {k} born?", "In which city was {k} born?",
             "What is the birthplace of {k}?", "Name the city where {k} was born."],
    "badge": ["What is the badge number of {k}?", "Which badge number does {k} carry?",
              "What number is on the badge of {k}?", "Give the badge number issued to {k}."],
    "weight": ["How many kilograms does the {k} weigh?",
               "What is the weight in kilograms of the {k}?",
               "How much does the {k} weigh in kilograms?",
               "How heavy, in kilograms, is the {k}?"],
    "ship": ["Where was shipment {k} sent?", "To which city was shipment {k} sent?",
             "What was the destination of shipment {k}?", "Shipment {k} went to which city?"],
    "head": ["Who is the head of the {k} department?", "Who leads the {k} department?",
             "Which person runs the {k} department?", "Name the head of the {k} department."],
    "employer": ["Which company does {k} work for?", "Who employs {k}?",
                 "What is the employer of {k}?", "Name the company that employs {k}."],
    "hq": ["Where is {k} based?", "In which city is {k} based?",
           "Which city is {k} headquartered in?", "Name the city where {k} is based."],
    "twohop": ["Which city is the employer of {k} based in?",
               "In which city is the company that employs {k} based?",
               "Where is the company {k} works for based?",
               "Name the city where the employer of {k} is based."],
}

FACTS = {
    "room": ["The access code for room {k} is {v}.", "Room {k} opens with the access code {v}."],
    "born": ["{k} was born in {v}.", "The birthplace of {k} is {v}."],
    "badge": ["The badge number of {k} is {v}.", "{k} carries badge number {v}."],
    "weight": ["The {k} weighs {v} kilograms.", "Records show that the {k} weighs {v} kilograms."],
    "ship": ["Shipment {k} was sent to {v}.", "The destination of shipment {k} was {v}."],
    "head": ["The head of the {k} department is {v}.", "{v} is the head of the {k} department."],
    "deputy": ["The deputy head of the {k} department is {v}.",
               "{v} is the deputy head of the {k} department."],
    "employer": ["{k} works for {v}.", "{k} is employed by {v}."],
    "hq": ["{k} is based in {v}.", "{k} has its headquarters in {v}."],
}


def _phrasing_patterns():
    out = []
    for qtype, forms in QUESTIONS.items():
        for i, form in enumerate(forms):
            head, tail = form.split("{k}")
            kind = ("two-hop" if qtype == "twohop" else
                    "test-phrasing" if i == len(forms) - 1 else "single-hop")
            out.append((re.compile(re.escape(head) + ".+" + re.escape(tail) + "$"), kind,
                        len(head) + len(tail)))
    return out


PHRASING_PATTERNS = _phrasing_patterns()


def _check_phrasings():
    """Every template, filled with a two-word key, must read back as its own kind."""
    for qtype, forms in QUESTIONS.items():
        for i, form in enumerate(forms):
            want = ("two-hop" if qtype == "twohop" else
                    "test-phrasing" if i == len(forms) - 1 else "single-hop")
            got = question_kind(form.replace("{k}", "Zora Esposito"))
            if got != want:
                raise AssertionError(f"template {form!r} reads as {got}, not {want}")


def question_kind(question):
    """"single-hop" (one fact, a phrasing that training uses), "test-phrasing" (one fact, the
    phrasing only the test split uses) or "two-hop".

    Several templates can match one question: "Where is {k} based?" also matches the two-hop
    "Where is the company X works for based?" with {k} = "the company X works for". The template
    with the most fixed text is the one the question was made from."""
    matches = [(literal, kind) for pattern, kind, literal in PHRASING_PATTERNS
               if pattern.match(question)]
    if not matches:
        raise ValueError(f"question of no known phrasing: {question!r}")
    return max(matches)[1]


_check_phrasings()


def phrasing(rng, qtype, split):
    qs = QUESTIONS[qtype]
    pool = qs if split == "test" else qs[:-1]
    return rng.choice(pool)


# MARK: - fact groups


class DocState:
    """Entities already used in one document (each key and answer is stated once)."""

    def __init__(self, rng, pools):
        self.rng, self.pools = rng, pools
        self.used = set()

    def fresh(self, make):
        for _ in range(200):
            x = make()
            if x not in self.used:
                self.used.add(x)
                return x
        raise RuntimeError("entity pool exhausted")

    def person(self, first=None, last=None):
        r = self.rng
        return self.fresh(lambda: (first or self.pools.first_name(r)) + " "
                          + (last or self.pools.last_name(r)))

    def similar_person(self, p):
        f, l = p.split(" ")
        if self.rng.random() < 0.5:
            return self.person(first=f)
        return self.person(last=l)

    def city(self):
        return self.fresh(lambda: self.pools.city(self.rng))

    def company(self, prefix=None):
        return self.fresh(lambda: self.pools.company(self.rng, prefix))

    def code(self):
        r = self.rng
        return self.fresh(lambda: r.choice(self.pools.code_letters)
                          + r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + "-"
                          + "".join(r.choice("0123456789") for _ in range(4)))

    def similar_code(self, c):
        d = list(c[3:])
        for _ in range(50):
            i, j = self.rng.sample(range(4), 2)
            e = d[:]
            e[i], e[j] = e[j], e[i]
            x = c[:3] + "".join(e)
            if x not in self.used:
                self.used.add(x)
                return x
        return self.code()

    def number(self, lo, hi):
        return self.fresh(lambda: str(self.rng.randint(lo, hi)))

    def room(self):
        return self.fresh(lambda: "".join(self.rng.sample("123456789", 3)))

    def similar_number(self, n):
        for _ in range(50):
            d = list(n)
            self.rng.shuffle(d)
            x = "".join(d)
            if x not in self.used and x[0] != "0":
                self.used.add(x)
                return x
        return self.number(10 ** (len(n) - 1), 10 ** len(n) - 1)


def fact(rng, kind, k, v):
    return rng.choice(FACTS[kind]).format(k=k, v=v)


def make_group(st, qtype, split):
    """One question with its planted facts.

    Returns (question, answer, facts) where facts is a list of (sentence, role) and role
    is "answer", "bridge" (first hop of a two-hop question) or "distractor".
    """
    r = st.rng
    if qtype == "room":
        k, v = st.room(), st.code()
        facts = [(fact(r, "room", k, v), "answer"),
                 (fact(r, "room", st.similar_number(k), st.code()), "distractor")]
    elif qtype == "born":
        k, v = st.person(), st.city()
        facts = [(fact(r, "born", k, v), "answer")]
        if len(st.used) < 200 and r.random() < 0.8:
            facts.append((fact(r, "born", st.similar_person(k), st.city()), "distractor"))
    elif qtype == "badge":
        k, v = st.person(), st.number(10000, 99999)
        facts = [(fact(r, "badge", k, v), "answer"),
                 (fact(r, "badge", st.similar_person(k), st.number(10000, 99999)), "distractor")]
    elif qtype == "weight":
        obj = r.choice(V.OBJECTS)
        loc = st.number(100, 999)
        k, v = f"{obj} in locker {loc}", st.number(12, 480)
        facts = [(fact(r, "weight", k, v), "answer"),
                 (fact(r, "weight", f"{obj} in locker {st.similar_number(loc)}",
                       st.number(12, 480)), "distractor")]
    elif qtype == "ship":
        k, v = st.code(), st.city()
        facts = [(fact(r, "ship", k, v), "answer"),
                 (fact(r, "ship", st.similar_code(k), st.city()), "distractor")]
    elif qtype == "head":
        k = st.fresh(lambda: r.choice(V.DEPARTMENTS))
        v = st.person()
        facts = [(fact(r, "head", k, v), "answer"),
                 (fact(r, "deputy", k, st.similar_person(v)), "distractor")]
    elif qtype in ("employer", "hq", "twohop"):
        p, c, city = st.person(), st.company(), st.city()
        p2, c2, city2 = st.similar_person(p), st.company(prefix=c[:5]), st.city()
        facts = [(fact(r, "employer", p, c), "answer" if qtype == "employer" else "bridge"),
                 (fact(r, "hq", c, city), "answer" if qtype != "employer" else "distractor"),
                 (fact(r, "employer", p2, c2), "distractor"),
                 (fact(r, "hq", c2, city2), "distractor")]
        k, v = {"employer": (p, c), "hq": (c, city), "twohop": (p, city)}[qtype]
    else:
        raise ValueError(qtype)
    q = phrasing(r, qtype, split).format(k=k)
    return q, v, facts


QTYPES = ["room", "born", "badge", "weight", "ship", "head", "employer", "hq", "twohop"]
QWEIGHTS = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.7, 1.6]


# MARK: - documents


def _assemble(rng, fillers, placed, head, tail):
    """Sentences in order: head facts, fillers with facts inserted at indices, tail facts.

    placed: list of (index into fillers, sentence, tag); head/tail: lists of (sentence, tag).
    Returns the text and, per tag, the character spans of its sentences.
    """
    sents = [(s, None) for s in fillers]
    for pos, s, tag in sorted(placed, key=lambda x: x[0], reverse=True):
        sents.insert(min(pos, len(sents)), (s, tag))
    sents = list(head) + sents + list(tail)
    paras, i = [], 0
    while i < len(sents):
        n = rng.randint(3, 8)
        paras.append(sents[i:i + n])
        i += n
    text_parts, tags, cursor = [], {}, 0
    for pi, para in enumerate(paras):
        for si, (s, tag) in enumerate(para):
            if si > 0:
                text_parts.append(" ")
                cursor += 1
            if tag is not None:
                tags.setdefault(tag, []).append((cursor, s))
            text_parts.append(s)
            cursor += len(s)
        if pi < len(paras) - 1:
            text_parts.append("\n\n")
            cursor += 2
    return "".join(text_parts), tags


def make_document(rng, pools, split, target_tokens, n_questions, tok,
                  edge_share=0.2, lo_frac=0.9, qtypes=None):
    """Build one document of at most target_tokens tokens with n_questions questions.

    Returns dict(text, ids, questions=[dict(question, answer, qtype, depth, edge)]);
    depth is the token index of the answer span divided by the document length.
    """
    st = DocState(rng, pools)
    groups = []
    for qi in range(n_questions):
        qtype = (qtypes[qi] if qtypes else rng.choices(QTYPES, QWEIGHTS)[0])
        groups.append(make_group(st, qtype, split) + (qtype,))
    # extra unasked fact groups make long documents denser
    n_extra = max(0, min(12, target_tokens // 1500) - n_questions)
    extra = [make_group(st, rng.choices(QTYPES, QWEIGHTS)[0], split) + (None,)
             for _ in range(n_extra)]
    n_fact_sents = sum(len(g[2]) for g in groups + extra)
    est_filler = max(1, int(target_tokens * 4.1 / 75) - n_fact_sents)
    fillers = [filler_sentence(rng, pools) for _ in range(est_filler)]
    # answers in the first or last 2 %: about one fact sentence (~25 tokens) per side
    # for every 1250 tokens of document
    per_side = max(1, int(0.02 * target_tokens / 25))
    edge_side = []
    n_head = n_tail = 0
    for _ in groups:
        side = None
        if rng.random() < edge_share:
            want = "head" if rng.random() < 0.5 else "tail"
            if want == "head" and n_head < per_side:
                side, n_head = "head", n_head + 1
            elif want == "tail" and n_tail < per_side:
                side, n_tail = "tail", n_tail + 1
        edge_side.append(side)
    body, head, tail = [], [], []
    for gi, (q, a, facts, _) in enumerate(groups + extra):
        is_q = gi < len(groups)
        for s, role in facts:
            tag = (gi, role) if is_q and role in ("answer", "bridge") else None
            if is_q and role == "answer" and edge_side[gi]:
                (head if edge_side[gi] == "head" else tail).append((s, tag))
            else:
                body.append((rng.random(), s, tag))
    rng.shuffle(head)
    rng.shuffle(tail)
    for attempt in range(8):
        nf = len(fillers)
        placed = [(int(f * (nf + 1)), s, tag) for f, s, tag in body]
        # keep the two facts of a two-hop question at least 10 % of the document apart
        for gi in range(len(groups)):
            idx = [i for i, p in enumerate(placed) if p[2] in ((gi, "bridge"), (gi, "answer"))]
            if len(idx) == 2 and abs(placed[idx[0]][0] - placed[idx[1]][0]) < 0.1 * nf:
                a = placed[idx[0]][0]
                nb = (a + nf // 2) % (nf + 1)
                placed[idx[1]] = (nb, placed[idx[1]][1], placed[idx[1]][2])
        text, tags = _assemble(rng, fillers, placed, head, tail)
        enc = tok.encode(text, add_special_tokens=False)
        ntok = len(enc.ids)
        if ntok > target_tokens:
            drop = int((ntok - target_tokens) / ntok * nf) + 2
            fillers = fillers[:max(1, nf - drop)]
            continue
        if ntok < lo_frac * target_tokens and attempt < 6:
            add = int((target_tokens - ntok) / max(ntok, 1) * nf * 0.97)
            fillers += [filler_sentence(rng, pools) for _ in range(max(1, add))]
            continue
        break
    if ntok > target_tokens:
        raise RuntimeError("document too long")
    offsets = enc.offsets
    questions = []
    for gi, (q, a, facts, qtype) in enumerate(groups):
        start, sent = tags[(gi, "answer")][0]
        start += sent.index(a)
        tok_idx = next((i for i, (s, e) in enumerate(offsets) if e > start), len(offsets) - 1)
        questions.append({"question": q, "answer": a, "depth": tok_idx / max(1, ntok),
                          "edge": edge_side[gi] is not None, "qtype": qtype})
    return {"text": text, "ids": enc.ids, "questions": questions}


# MARK: - prompt layout


class PromptCodec:
    """Token layout shared with the Swift engine (segments encoded separately)."""

    def __init__(self, tok):
        self.tok = tok
        self.bos, self.eos, self.mask, self.eot, self.sh, self.eh = [tok.token_to_id(s) for s in SPECIALS]
        enc = lambda s: tok.encode(s, add_special_tokens=False).ids
        self.enc = enc
        self.head = [self.bos, self.sh] + enc("user") + [self.eh] + enc("\n\n")
        self.tail = [self.eot, self.sh] + enc("assistant") + [self.eh] + enc("\n\n")

    def document(self, doc_ids):
        return self.head + list(doc_ids)

    def question(self, q):
        return self.enc("\n\n" + q) + self.tail

    def canvas(self, answer, gen_length=16, space=False):
        """Answer ids + <|eot_id|> + <|endoftext|> padding. space=True encodes " " + answer,
        which gives the same ids as the answer where the document states it after a space."""
        a = self.enc((" " if space else "") + answer) + [self.eot]
        assert len(a) <= gen_length, (answer, len(a))
        return a + [self.eos] * (gen_length - len(a))


# MARK: - evaluation sets


LENGTHS = {"2k": 2048, "4k": 4096, "8k": 8192, "16k": 16384, "32k": 32768}
SEEDS = {"dev": 1000, "test": 2000, "sample": 3000}


def build_eval(tok, split, name, n_docs, n_q, seed):
    codec = PromptCodec(tok)
    target = LENGTHS[name]
    rng = random.Random(seed * 100 + target)
    pools = Pools(split)
    rows = []
    for d in range(n_docs):
        q_budget = 48
        # document tokens so that head + document + question stays within the nominal length
        doc_target = target - len(codec.head) - q_budget - 16
        doc = make_document(rng, pools, split, doc_target, n_q, tok, edge_share=0.2,
                            lo_frac=0.97)
        doc_id = f"{split}-{name}-d{d:02d}"
        for qi, q in enumerate(doc["questions"]):
            ctx = len(codec.head) + len(doc["ids"]) + len(codec.question(q["question"]))
            rows.append({"id": f"{doc_id}-q{qi:02d}", "doc_id": doc_id, "document": doc["text"],
                         "question": q["question"], "answers": [q["answer"]],
                         "kind": question_kind(q["question"]),
                         "context_tokens": ctx, "answer_depth": round(q["depth"], 4),
                         "edge": q["edge"]})
    return rows


def write_jsonl(path, rows):
    """One row a line; a document's text is written on the first row of its doc_id only
    (later rows about it carry the doc_id alone), so each set holds every document once."""
    seen = set()
    with open(path, "w") as f:
        for r in rows:
            if r["doc_id"] in seen:
                r = {k: v for k, v in r.items() if k != "document"}
            seen.add(r["doc_id"])
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def read_jsonl(path):
    """Rows of an evaluation set; a row without "document" takes its doc_id's earlier text."""
    rows, texts = [], {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            r = json.loads(line)
            if "document" in r:
                texts[r["doc_id"]] = r["document"]
            elif r["doc_id"] in texts:
                r["document"] = texts[r["doc_id"]]
            else:
                raise ValueError(f"{path}: line {number}: no document for doc_id {r['doc_id']}")
            rows.append(r)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", default=None, help="directory for sample-document.txt etc.")
    ap.add_argument("--lengths", default="2k,4k,8k,16k,32k")
    ap.add_argument("--test-docs", type=int, default=20,
                    help="test documents per length, 10 questions each (a set with more documents "
                         "starts with the same rows as one with fewer)")
    args = ap.parse_args()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(args.tokenizer)
    os.makedirs(args.out, exist_ok=True)
    digests = {}
    for name in args.lengths.split(","):
        for split, n_docs in (("dev", 3), ("test", args.test_docs)):
            rows = build_eval(tok, split, name, n_docs, 10, SEEDS[split])
            path = os.path.join(args.out, f"{split}-{name}.jsonl")
            write_jsonl(path, rows)
            digests[os.path.basename(path)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
            print(path, len(rows), "rows, context", min(r["context_tokens"] for r in rows),
                  "-", max(r["context_tokens"] for r in rows), flush=True)
    if args.jobs:
        # mostly single-hop questions in trained phrasings, one in the test-only phrasing and
        # one two-hop: the first seed from SEEDS["sample"] whose questions have those kinds
        want = ["single-hop"] * 4 + ["test-phrasing", "two-hop"]
        for attempt in range(1000):
            rng = random.Random(SEEDS["sample"] + attempt)
            doc = make_document(rng, Pools("test"), "test", 3000, 6, tok, edge_share=0.2,
                                lo_frac=0.97, qtypes=["room", "badge", "ship", "head", "born", "twohop"])
            if sorted(question_kind(q["question"]) for q in doc["questions"]) == sorted(want):
                break
        else:
            raise RuntimeError("no sample document with the wanted question kinds")
        with open(os.path.join(args.jobs, "sample-document.txt"), "w") as f:
            f.write(doc["text"])
        with open(os.path.join(args.jobs, "sample-questions.jsonl"), "w") as f:
            for i, q in enumerate(doc["questions"]):
                f.write(json.dumps({"document": "sample-document.txt",
                                    "question": q["question"], "key": f"sample-{i + 1}"}) + "\n")
        with open(os.path.join(args.jobs, "sample-answers.json"), "w") as f:
            json.dump({f"sample-{i + 1}": {"question": q["question"], "answers": [q["answer"]]}
                       for i, q in enumerate(doc["questions"])}, f, indent=2)
            f.write("\n")
    with open(os.path.join(args.out, "digests.json"), "w") as f:
        json.dump(digests, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
