import json
from pathlib import Path

from posttrainbench.trial.follow import StreamFollower


def test_new_complete_lines_are_echoed_once(tmp_path: Path) -> None:
    stream = tmp_path / "raw.jsonl"
    stream.write_text(json.dumps({"line": "from an earlier attempt"}) + "\n")
    seen: list[str] = []
    with StreamFollower(stream, seen.append, poll_s=0.05):
        with stream.open("a") as handle:
            handle.write(json.dumps({"line": "step 1 loss 2.0"}) + "\n")
            handle.write(json.dumps({"line": "   "}) + "\n")
            handle.write('{"line": "half writ')
    assert seen == ["  agent │ step 1 loss 2.0"]
