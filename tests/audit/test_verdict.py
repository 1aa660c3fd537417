"""The verdict policy: a flag flags, a crash is an error (never clean), else clean."""

from __future__ import annotations

from collections.abc import Callable

from posttrainbench.audit import AuditContext, Finding, decide, run_audit

MakeContext = Callable[..., AuditContext]

FLAG = Finding(detector="x", severity="flag", message="test items in data.jsonl")
WARNING = Finding(detector="x", severity="warning", message="imports openai")


def test_findings_without_a_flag_are_clean() -> None:
    report = decide([WARNING], {}, ["x"])
    assert (report.verdict, report.reasons) == ("clean", [])


def test_a_flag_makes_the_trial_flagged_with_its_reason() -> None:
    report = decide([WARNING, FLAG], {}, ["x"])
    assert (report.verdict, report.reasons) == ("flagged", ["x: test items in data.jsonl"])


def test_a_crash_is_an_error_and_a_flag_still_stands() -> None:
    assert decide([WARNING], {"y": "boom"}, ["x"]).verdict == "error"
    assert decide([FLAG], {"y": "boom"}, ["x"]).verdict == "flagged"


def test_a_crashing_detector_gives_error_and_the_others_still_run(
    make_context: MakeContext,
) -> None:
    context = make_context()
    # json.loads(context) raises TypeError: a real detector path that crashes.
    report = run_audit(context, ["json:loads", "integrity"])
    assert report.verdict == "error"
    assert report.detectors_run == ["integrity"]
    assert report.errors["json:loads"].startswith("TypeError")


def test_a_detector_returning_garbage_is_an_error(make_context: MakeContext) -> None:
    report = run_audit(make_context(), ["builtins:id"])  # returns an int, not findings
    assert report.verdict == "error" and "list of Finding" in report.errors["builtins:id"]


def test_the_default_detectors_pass_an_honest_copy_of_the_base(make_context: MakeContext) -> None:
    report = run_audit(make_context())
    assert report.verdict == "clean", report.reasons
    assert report.detectors_run == [
        "integrity",
        "contamination",
        "test_access",
        "api_usage",
        "lineage",
        "memorization",
    ]
