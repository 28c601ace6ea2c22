"""Classification benchmark: document kinds on real phone scans and generated documents, fields
on generated documents with known values.

    .venv/bin/python bench/classify_bench.py [--samples ../shared/samples/class/phone-scan]
                                             [--per-kind 20] [--out bench/results/classify.md]

Real documents: each image is recognised once with the project's engine (``ocr.run``, default
settings, ``rus+eng``) and the text cached in /tmp/kartoteka-classify-ocr/ (by file checksum),
so reruns take seconds. Kinds are scored
  rules    the rules alone (no verified card yet),
  model    rules + model, leave-one-out: for each real document a model is trained on the other
           real documents plus ``per-kind`` generated documents of every kind (as if clerks had
           verified them), then the held-out document is classified; also the model alone.
Generated documents (tests/classify/documents.py, a different seed for testing than for
training, 30 % with OCR-like damage): rules alone, and rules + model by 5-fold cross-validation.
A document the classifier does not recognise counts as wrong. Macro-F1 averages F1 over the
true kinds (sklearn ``f1_score(average="macro", labels=true kinds)``).
Fields: precision and recall per field type on generated documents: a value found that is not
the printed one (or where none is printed) is a false positive, a printed value not found a
false negative.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from classify.classifier import Classifier  # noqa: E402
from classify.config import ClassifyConfig  # noqa: E402
from classify.learned import train  # noqa: E402
from tests.classify.documents import KINDS, GeneratedDoc, corpus  # noqa: E402

DEFAULT_SAMPLES = REPO.parent / "shared" / "samples" / "class" / "phone-scan"
DEFAULT_OUT = REPO / "bench" / "results" / "classify.md"
CACHE = Path(tempfile.gettempdir()) / "kartoteka-classify-ocr"
LANGS = "rus+eng"
FIELDS = ("date", "number", "amount", "bin", "inn", "email", "phone", "correspondent")
NONE = "(none)"


def ocr_texts(samples: Path) -> list[tuple[str, str, str]]:
    """(label, file name, text) of every image under samples/<label>/, OCR cached by checksum."""
    from bench.sample_text import labelled_texts

    return labelled_texts(samples, CACHE)


def scores(truth: list[str], predicted: list[str]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(truth))
    return float(accuracy_score(truth, predicted)), float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))


def predict(clf: Classifier, text: str) -> str:
    """The kind a card would get; NONE where it would keep the hot folder's kind."""
    cls = clf.classify([text], NONE)
    return cls.kind


def real_documents(clf: Classifier, real: list[tuple[str, str, str]], train_docs: list[GeneratedDoc]) -> dict[str, Any]:
    truth = [label for label, _, _ in real]
    clf.install(None)
    rules = [predict(clf, text) for _, _, text in real]
    combined: list[str] = []
    model_only: list[str] = []
    for i in range(len(real)):
        texts = [d.text for d in train_docs] + [t for j, (_, _, t) in enumerate(real) if j != i]
        labels = [d.kind for d in train_docs] + [lab for j, (lab, _, _) in enumerate(real) if j != i]
        model = train(texts, labels, min_per_kind=1)
        clf.install(model)
        combined.append(predict(clf, real[i][2]))
        proba = model.probabilities(real[i][2])
        model_only.append(max(proba, key=lambda k: proba[k]))
    clf.install(None)
    return {
        "truth": truth,
        "files": [name for _, name, _ in real],
        "rules": rules,
        "combined": combined,
        "model_only": model_only,
        "scores": {name: scores(truth, pred) for name, pred in (("rules", rules), ("rules + model (LOO)", combined), ("model alone (LOO)", model_only))},
    }


def generated_documents(clf: Classifier, per_kind: int) -> dict[str, tuple[float, float]]:
    test = corpus(per_kind, seed=101)
    truth = [d.kind for d in test]
    clf.install(None)
    out = {"rules": scores(truth, [predict(clf, d.text) for d in test])}
    rng = random.Random(5)
    order = list(range(len(test)))
    rng.shuffle(order)
    predicted = [""] * len(test)
    for fold in range(5):
        held = set(order[fold::5])
        model = train([d.text for i, d in enumerate(test) if i not in held], [d.kind for i, d in enumerate(test) if i not in held])
        clf.install(model)
        for i in held:
            predicted[i] = predict(clf, test[i].text)
    clf.install(None)
    out["rules + model (5-fold CV)"] = scores(truth, predicted)
    return out


def field_scores(clf: Classifier, per_kind: int) -> dict[str, tuple[int, int, int]]:
    """Per field: (true positives, false positives, false negatives)."""
    counts: dict[str, Counter[str]] = {f: Counter() for f in FIELDS}
    for doc in corpus(per_kind, seed=202):
        cls = clf.classify([doc.text], "incoming")
        for name in FIELDS:
            found = cls.fields.get(name)
            got: str | None = None
            if found is not None:
                got = str(found.value)
                if name == "amount":
                    got = f"{found.value} {cls.fields['currency'].value}"
            want = doc.expected.get(name)
            if name == "correspondent" and got is not None and want is not None:
                got = want if want.casefold() in got.casefold() else got
            if got is not None and got == want:
                counts[name]["tp"] += 1
            else:
                if got is not None:
                    counts[name]["fp"] += 1
                if want is not None:
                    counts[name]["fn"] += 1
    return {name: (c["tp"], c["fp"], c["fn"]) for name, c in counts.items()}


def report(real: dict[str, Any], generated: dict[str, tuple[float, float]], fields: dict[str, tuple[int, int, int]],
           per_kind: int, samples: Path) -> str:  # fmt: skip
    lines = [
        "# Classification benchmark",
        "",
        f"{dt.date.today()}, `bench/classify_bench.py --per-kind {per_kind}`. Real documents: `{samples.name}` "
        f"({len(real['truth'])} phone photos, {len(set(real['truth']))} kinds), recognised by kartoteka's OCR ({LANGS}).",
        "",
        "## Kind",
        "",
        "| documents | classifier | accuracy | macro-F1 |",
        "|---|---|---|---|",
    ]
    for name, (acc, f1) in real["scores"].items():
        lines.append(f"| real ({len(real['truth'])}) | {name} | {acc:.3f} | {f1:.3f} |")
    for name, (acc, f1) in generated.items():
        lines.append(f"| generated ({per_kind * len(KINDS)}) | {name} | {acc:.3f} | {f1:.3f} |")
    lines += [
        "",
        f"LOO training set: the other {len(real['truth']) - 1} real documents + {per_kind} generated documents per kind "
        f"({per_kind * len(KINDS)}), all kinds. `{NONE}`: not recognised (the card keeps the hot folder's kind and goes to review).",
        "",
        "| file | true kind | rules | rules + model | model alone |",
        "|---|---|---|---|---|",
    ]
    for i, truth in enumerate(real["truth"]):
        marks = [p if p == truth else f"**{p}**" for p in (real["rules"][i], real["combined"][i], real["model_only"][i])]
        lines.append(f"| {real['files'][i]} | {truth} | " + " | ".join(marks) + " |")
    lines += ["", f"## Fields (generated documents, {per_kind * len(KINDS)}, 30 % with OCR-like damage)", "",
              "| field | found right | wrong or spurious | missed | precision | recall |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, (tp, fp, fn) in fields.items():
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        lines.append(f"| {name} | {tp} | {fp} | {fn} | {p:.3f} | {r:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--per-kind", type=int, default=20)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    clf = Classifier(ClassifyConfig(), Path(tempfile.mkdtemp(prefix="kartoteka-bench-models-")))
    real = real_documents(clf, ocr_texts(args.samples), corpus(args.per_kind, seed=11))
    generated = generated_documents(clf, args.per_kind)
    fields = field_scores(clf, args.per_kind)
    text = report(real, generated, fields, args.per_kind, args.samples)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
