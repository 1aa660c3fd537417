"""Arena-Hard writing and HealthBench against fake model and judge servers (scripted verdicts)."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest

from posttrainbench.benchmarks import arenahardwriting, get_benchmark, healthbench
from posttrainbench.benchmarks.data import DatasetUnavailable
from posttrainbench.catalog import ModelFamily
from posttrainbench.errors import UserError
from posttrainbench.evaluation import Endpoint, EvaluationError, Metrics, evaluate_model
from posttrainbench.testing import FakeError, FakeOpenAIServer, FakeRequest

# Verdicts per prompt: (judged with the candidate as B, judged with the candidate as A).
ARENA_VERDICTS = {
    "p1": ("B>>A", "A>>B"),  # strong wins: 1.0
    "p2": ("B>A", "A=B"),  # (1 + 0.5) / 2 = 0.75
    "p3": ("A>>B", "A>B"),  # (0 * 3 + 1 * 1) / 4 = 0.25
    "p4": ("A=B", "B>A"),  # (0.5 + 0) / 2 = 0.25
}
ARENA_BY_HAND = [1.0, 0.75, 0.25, 0.25]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def turns(n: int) -> list[dict[str, str]]:
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": f"turn {i}"} for i in range(n)]


def rubric(text: str, points: int, axis: str = "accuracy") -> dict[str, object]:
    return {"criterion": text, "points": points, "tags": [f"axis:{axis}"]}


@pytest.fixture
def data_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    cache = tmp_path / "data"
    monkeypatch.setenv("PTB_DATA_CACHE", str(cache))
    arena = cache / "url" / "arena-hard-v2.0"
    questions = [
        {"uid": uid, "category": "creative_writing", "prompt": f"Write about {uid}."}
        for uid in ARENA_VERDICTS
    ]
    questions.append({"uid": "c1", "category": "coding", "prompt": "Sort a list."})
    write_jsonl(arena / "question.jsonl", questions)
    write_jsonl(
        arena / "baseline-qwen3-1.7b.jsonl",
        [
            {
                "uid": q["uid"],
                "messages": [
                    {"role": "user", "content": q["prompt"]},
                    {"role": "assistant", "content": {"answer": f"Baseline on {q['uid']}"}},
                ],
            }
            for q in questions
        ],
    )
    easy = [
        (
            "e1",
            [
                rubric("covers dosing [yes]", 5, "completeness"),
                rubric("cites [no]", 3),
                rubric("alarming tone [yes]", -2),
            ],
        ),
        (
            "e2",
            [
                rubric("asks history [yes]", 4, "completeness"),
                rubric("safe [yes]", 6),
                rubric("wrong drug [yes]", -5),
            ],
        ),
        (
            "e3",
            [
                rubric("refers [no]", 2, "completeness"),
                rubric("brief [yes]", 2),
                rubric("jargon [yes]", -1),
            ],
        ),
    ]
    rows = [
        {"prompt_id": pid, "prompt": turns(5), "rubrics": rubrics, "example_tags": ["theme:x"]}
        for pid, rubrics in easy
    ]
    rows.append(  # too short a conversation
        {"prompt_id": "short", "prompt": turns(3), "rubrics": easy[0][1], "example_tags": []}
    )
    rows.append(  # three negative criteria
        {
            "prompt_id": "negative",
            "prompt": turns(5),
            "rubrics": [*easy[0][1], rubric("a [no]", -1), rubric("b [no]", -1)],
            "example_tags": [],
        }
    )
    rows.append(  # no completeness criterion
        {"prompt_id": "nocomp", "prompt": turns(5), "rubrics": [rubric("x [yes]", 1)]}
    )
    write_jsonl(cache / "url" / "healthbench" / "oss_eval.jsonl", rows)
    arenahardwriting.load_items.cache_clear()
    healthbench.load_examples.cache_clear()
    yield cache
    arenahardwriting.load_items.cache_clear()
    healthbench.load_examples.cache_clear()


@pytest.fixture
def judge_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PTB_JUDGE_API_KEY", "judge-key")
    monkeypatch.setenv("PTB_JUDGE_BACKOFF_S", "0")
    monkeypatch.setenv("PTB_JUDGE_MODEL", "fake-judge")
    yield


def candidate(request: FakeRequest) -> str:
    return f"<think>plan</think>Candidate on {request.last_user_text}"


def arena_judge(request: FakeRequest) -> str:
    text = request.last_user_text
    uid = re.search(r"Write about (\w+)\.", text)
    assert uid is not None
    answer_a = text.split("Assistant A's Answer|>", 1)[1]
    candidate_is_a = answer_a.lstrip().startswith("Candidate")
    label = ARENA_VERDICTS[uid.group(1)][1 if candidate_is_a else 0]
    return f"My own answer first... Both are fine. Earlier I thought [[A=B]]. Final: [[{label}]]"


def evaluate(bench: str, model: FakeOpenAIServer, tiny_model: Path, log_dir: Path) -> Metrics:
    return evaluate_model(
        tiny_model,
        get_benchmark(bench),
        ModelFamily.QWEN3,
        log_dir=log_dir,
        provider="openai",
        endpoint=Endpoint(model.base_url, "m"),
    )


def test_arena_score_is_the_weighted_win_rate_by_hand(
    data_cache: Path,
    judge_env: None,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeOpenAIServer(candidate) as model, FakeOpenAIServer(arena_judge) as judge:
        monkeypatch.setenv("PTB_JUDGE_BASE_URL", judge.base_url)
        metrics = evaluate("arenahardwriting", model, tiny_model, tmp_path / "logs")
        judged = judge.chat_requests
    assert metrics.n == 4  # the coding prompt is not part of the benchmark
    assert metrics.accuracy == pytest.approx(statistics.mean(ARENA_BY_HAND))
    assert metrics.stderr == pytest.approx(statistics.stdev(ARENA_BY_HAND) / 2)
    assert metrics.extras["judge_calls"] == 8 and metrics.extras["judge_model"] == "fake-judge"
    assert len(judged) == 8
    for request in judged:
        assert request.body["model"] == "fake-judge"
        assert "<think>" not in request.last_user_text  # reasoning is stripped before judging
        assert request.headers["authorization"] == "Bearer judge-key"


@pytest.mark.parametrize(
    "failure",
    [FakeError(500, "judge overloaded"), "I would rather not say."],
    ids=["server-error", "no-verdict-label"],
)
def test_arena_judge_failures_surface_instead_of_scoring(
    failure: FakeError | str,
    data_cache: Path,
    judge_env: None,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_JUDGE_MAX_ATTEMPTS", "3")
    with FakeOpenAIServer(candidate) as model, FakeOpenAIServer(lambda r: failure) as judge:
        monkeypatch.setenv("PTB_JUDGE_BASE_URL", judge.base_url)
        with pytest.raises(EvaluationError, match="fake-judge failed 3 times"):
            evaluate("arenahardwriting", model, tiny_model, tmp_path / "logs")
        assert len(judge.chat_requests) >= 3  # retried before giving up


def test_a_missing_judge_key_fails_before_generating(
    data_cache: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_JUDGE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer(candidate) as model:
        with pytest.raises(UserError, match="no judge API key"):
            evaluate("healthbench", model, tiny_model, tmp_path / "logs")
        assert model.chat_requests == []


def test_healthbench_easy_subset_and_rubric_score_by_hand(
    data_cache: Path,
    judge_env: None,
    tiny_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flaky = {"left": 1}

    def grader(request: FakeRequest) -> str:
        text = request.last_user_text
        criterion = text.split("# Rubric item", 1)[1]  # upstream's grader template
        if "refers" in criterion and flaky["left"]:
            flaky["left"] -= 1
            return "Sure! The response is okay."  # not JSON: retried, never read as "not met"
        met = "[yes]" in criterion
        return json.dumps({"explanation": "checked", "criteria_met": met})

    with FakeOpenAIServer(candidate) as model, FakeOpenAIServer(grader) as judge:
        monkeypatch.setenv("PTB_JUDGE_BASE_URL", judge.base_url)
        metrics = evaluate("healthbench", model, tiny_model, tmp_path / "logs")
        graded = judge.chat_requests
    by_hand = [(5 - 2) / 8, (4 + 6 - 5) / 10, (2 - 1) / 4]
    assert metrics.n == 3  # short, too-negative and no-completeness conversations left out
    assert metrics.accuracy == pytest.approx(statistics.mean(by_hand))
    assert metrics.stderr == pytest.approx(healthbench.bootstrap_stderr(by_hand))
    assert metrics.stderr is not None and metrics.stderr > 0
    assert len(graded) == 9 + 1 and metrics.extras["judge_retries"] == 1
    assert "Candidate on turn 4" in graded[0].last_user_text  # the model's reply is graded
    # by axis: completeness 5/5, 4/4, 0/2; accuracy (0 - 2)/3, (6 - 5)/6, (2 - 1)/2
    assert metrics.extras["axis:completeness"] == pytest.approx((1 + 1 + 0) / 3)
    assert metrics.extras["axis:accuracy"] == pytest.approx((0 - 2 / 3 + 1 / 6 + 1 / 2) / 3)
    assert metrics.extras["theme:x"] == pytest.approx(metrics.accuracy)


def test_healthbench_formulas() -> None:
    criteria = [healthbench.Criterion("a", 3), healthbench.Criterion("b", -4)]
    assert healthbench.example_score(criteria, [False, True]) == pytest.approx(-4 / 3)
    assert healthbench.clipped_mean([-1.0, 0.5]) == 0.0
    assert healthbench.clipped_mean([1.0, 1.5]) == 1.0
    values = [0.1, 0.9, 0.4, 0.6]
    assert healthbench.bootstrap_stderr(values) == healthbench.bootstrap_stderr(values)
    assert 0 < healthbench.bootstrap_stderr(values) < statistics.pstdev(values)
    with pytest.raises(ValueError):
        healthbench.parse_grade('{"criteria_met": "yes"}')
    assert healthbench.parse_grade('```json\n{"criteria_met": false}\n```') is False


def test_arena_verdict_parsing() -> None:
    assert arenahardwriting.parse_verdict("[[A>B]] hmm, no: [[b>>a]]") == "B>>A"
    with pytest.raises(ValueError):
        arenahardwriting.parse_verdict("A is better")
    strong = arenahardwriting.game_result("A>>B", candidate_is_a=False)
    assert (strong.value, strong.weight) == (0.0, 3)
    assert arenahardwriting.clean_answer("<think>x</think>\n Hi") == "Hi"


@pytest.mark.parametrize("bench", ["arenahardwriting", "healthbench"])
def test_missing_data_is_a_clear_offline_error(
    bench: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_DATA_CACHE", str(tmp_path / "empty"))
    arenahardwriting.load_items.cache_clear()
    healthbench.load_examples.cache_clear()
    with pytest.raises(DatasetUnavailable, match="ptb data fetch"):
        get_benchmark(bench).test_items()


def test_a_cached_file_that_changed_after_fetch_is_refused(
    data_cache: Path, tmp_path: Path
) -> None:
    path = healthbench.DATA.cache_path
    pin = path.with_name(path.name + ".sha256")
    pin.write_text("0" * 64 + "\n")
    with pytest.raises(DatasetUnavailable, match="pinned SHA-256"):
        healthbench.load_examples()


def test_final_evaluation_without_a_judge_key_is_a_harness_error(
    data_cache: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posttrainbench.evaluation import final

    monkeypatch.delenv("PTB_JUDGE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    argv = [
        f"--model-dir={tiny_model}",
        "--benchmark=arenahardwriting",
        "--family=qwen3",
        f"--out={tmp_path / 'out'}",
    ]
    # not "model unusable": the submission is not blamed for the harness's missing key
    assert final.main(argv) == 2
    assert not (tmp_path / "out" / "error.json").exists()


def test_test_texts_for_the_contamination_audit(data_cache: Path) -> None:
    arena = list(get_benchmark("arenahardwriting").iter_test_texts())
    assert "Write about p1." in arena and "Baseline on p1" in arena
    assert "Sort a list." not in arena  # not a creative-writing prompt
    health = list(get_benchmark("healthbench").iter_test_texts())
    assert len(health) == 6 and any("covers dosing" in text for text in health)
