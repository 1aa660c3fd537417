"""Recorded-format streams of each agent CLI, built here (shapes as the CLIs print them).

Each stream has newer and older event shapes of its CLI and one event no parser knows;
``${PLANTED}`` marks where a secret from the environment is echoed.
"""

from __future__ import annotations

import json
from typing import Any

PLANTED = "${PLANTED}"


def _lines(events: list[dict[str, Any] | str]) -> list[str]:
    return [e if isinstance(e, str) else json.dumps(e) for e in events]


CLAUDE_CODE = _lines(
    [
        {
            "type": "system",
            "subtype": "init",
            "session_id": "sess-claude-1",
            "model": "claude-sonnet-4-5",
            "claude_code_version": "2.1.328",
            "tools": ["Bash", "Read", "Write"],
            "cwd": "/ws",
        },
        {
            "type": "assistant",
            "session_id": "sess-claude-1",
            "message": {
                "id": "msg_1",
                "model": "claude-sonnet-4-5",
                "role": "assistant",
                "content": [{"type": "thinking", "thinking": "Check the time first."}],
                "usage": {
                    "input_tokens": 10,
                    "cache_creation_input_tokens": 200,
                    "cache_read_input_tokens": 1000,
                    "output_tokens": 30,
                },
            },
        },
        {
            "type": "assistant",
            "session_id": "sess-claude-1",
            "message": {
                "id": "msg_1",
                "model": "claude-sonnet-4-5",
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "Bash",
                        "input": {"command": "bash task/timer.sh", "description": "time left"},
                    }
                ],
                "usage": {
                    "input_tokens": 10,
                    "cache_creation_input_tokens": 200,
                    "cache_read_input_tokens": 1000,
                    "output_tokens": 30,
                },
            },
        },
        {
            "type": "user",
            "session_id": "sess-claude-1",
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "Remaining time: 0:05"}],
                        "is_error": False,
                    }
                ],
            },
        },
        {
            "type": "assistant",
            "session_id": "sess-claude-1",
            "message": {
                "id": "msg_2",
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "Bash",
                        "input": {"command": f"echo {PLANTED} && cp -r /models/base final_model"},
                    }
                ],
                "usage": {"input_tokens": 5, "output_tokens": 40},
            },
        },
        {
            "type": "user",
            "session_id": "sess-claude-1",
            "message": {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": PLANTED},
                ],
            },
        },
        {"type": "system", "subtype": "compact_boundary", "session_id": "sess-claude-1"},
        {"type": "rate_limit_event", "session_id": "sess-claude-1", "retry_after": 3},
        {
            "type": "assistant",
            "session_id": "sess-claude-1",
            "message": {
                "id": "msg_3",
                "role": "assistant",
                "content": [{"type": "text", "text": "Saved final_model."}],
                "usage": {"input_tokens": 5, "output_tokens": 10},
            },
        },
        # Newer result shape (total_cost_usd).
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "num_turns": 3,
            "duration_ms": 5000,
            "result": "Saved final_model.",
            "session_id": "sess-claude-1",
            "total_cost_usd": 0.0123,
            "usage": {
                "input_tokens": 20,
                "cache_creation_input_tokens": 200,
                "cache_read_input_tokens": 1000,
                "output_tokens": 80,
            },
        },
        # Older result shape (cost_usd), as a resumed session of an older release wrote it.
        {
            "type": "result",
            "subtype": "success",
            "cost_usd": 0.001,
            "session_id": "sess-claude-1",
            "result": "",
        },
    ]
)

CODEX = _lines(
    [
        {"type": "thread.started", "thread_id": "0199-thread"},
        {"type": "turn.started"},
        {"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "Plan."}},
        {
            "type": "item.started",
            "item": {
                "id": "item_1",
                "type": "command_execution",
                "command": "bash -lc 'bash task/timer.sh'",
                "aggregated_output": "",
                "exit_code": None,
                "status": "in_progress",
            },
        },
        {
            "type": "item.completed",
            "item": {
                "id": "item_1",
                "type": "command_execution",
                "command": "bash -lc 'bash task/timer.sh'",
                "aggregated_output": f"Remaining time: 0:05 {PLANTED}\n",
                "exit_code": 0,
                "status": "completed",
            },
        },
        {
            "type": "item.completed",
            "item": {
                "id": "item_2",
                "type": "file_change",
                "changes": [{"path": "train.py", "kind": "add"}],
                "status": "completed",
            },
        },
        {
            "type": "item.completed",
            "item": {"id": "item_3", "type": "agent_message", "text": "Done."},
        },
        {
            "type": "turn.completed",
            "usage": {"input_tokens": 1000, "cached_input_tokens": 400, "output_tokens": 100},
        },
        {"type": "some.future_event", "detail": 1},
        # Older (0.2x/0.3x) envelope shape.
        {
            "id": "0",
            "msg": {"type": "session_configured", "session_id": "legacy-1", "model": "gpt-5"},
        },
        {"id": "1", "msg": {"type": "agent_reasoning", "text": "Old reasoning."}},
        {
            "id": "1",
            "msg": {
                "type": "exec_command_begin",
                "call_id": "call_9",
                "command": ["bash", "-lc", "ls"],
                "cwd": "/ws",
            },
        },
        {
            "id": "1",
            "msg": {
                "type": "exec_command_end",
                "call_id": "call_9",
                "stdout": "final_model\n",
                "stderr": "",
                "exit_code": 0,
            },
        },
        {"id": "1", "msg": {"type": "agent_message", "message": "Old done."}},
        {
            "id": "1",
            "msg": {
                "type": "token_count",
                "input_tokens": 50,
                "cached_input_tokens": 0,
                "output_tokens": 5,
            },
        },
        {"id": "1", "msg": {"type": "task_complete", "last_agent_message": "Old done."}},
        "not json at all",
    ]
)

GEMINI_CLI = _lines(
    [
        {"type": "init", "timestamp": "t0", "session_id": "gem-1", "model": "gemini-2.5-pro"},
        {"type": "message", "timestamp": "t1", "role": "user", "content": "Train the model."},
        {
            "type": "message",
            "timestamp": "t2",
            "role": "assistant",
            "content": "Checking ",
            "delta": True,
        },
        {
            "type": "message",
            "timestamp": "t3",
            "role": "assistant",
            "content": "time.",
            "delta": True,
        },
        {
            "type": "tool_use",
            "timestamp": "t4",
            "tool_name": "run_shell_command",
            "tool_id": "run_shell_command-1",
            "parameters": {"command": "bash task/timer.sh"},
        },
        {
            "type": "tool_result",
            "timestamp": "t5",
            "tool_id": "run_shell_command-1",
            "status": "success",
            "output": f"Remaining time: 0:05 {PLANTED}",
        },
        {
            "type": "tool_use",
            "timestamp": "t6",
            "tool_name": "write_file",
            "tool_id": "write_file-2",
            "parameters": {"file_path": "x.py", "content": "print(1)"},
        },
        {
            "type": "tool_result",
            "timestamp": "t7",
            "tool_id": "write_file-2",
            "status": "error",
            "error": {"type": "invalid_tool_params", "message": "denied"},
        },
        {"type": "error", "timestamp": "t8", "severity": "warning", "message": "Loop detected"},
        {"type": "gemini.new_kind", "timestamp": "t9"},
        {
            "type": "result",
            "timestamp": "t10",
            "status": "success",
            "stats": {
                "total_tokens": 1500,
                "input_tokens": 1200,
                "output_tokens": 300,
                "tool_calls": 2,
            },
        },
    ]
)

# Gemini CLI before stream-json: one pretty-printed object with --output-format json.
GEMINI_CLI_LEGACY = json.dumps(
    {
        "response": f"I trained it. {PLANTED}",
        "stats": {
            "models": {
                "gemini-2.5-pro": {
                    "api": {"totalRequests": 3},
                    "tokens": {"prompt": 900, "candidates": 100, "cached": 300, "thoughts": 20},
                }
            }
        },
    },
    indent=2,
).splitlines()

OPENCODE = _lines(
    [
        {
            "type": "step_start",
            "timestamp": 1,
            "sessionID": "ses_1",
            "part": {
                "type": "step-start",
                "id": "prt_1",
                "sessionID": "ses_1",
                "messageID": "msg_1",
            },
        },
        {
            "type": "reasoning",
            "timestamp": 2,
            "sessionID": "ses_1",
            "part": {"type": "reasoning", "text": "Need the timer."},
        },
        {
            "type": "text",
            "timestamp": 3,
            "sessionID": "ses_1",
            "part": {"type": "text", "text": "Checking the time."},
        },
        {
            "type": "tool_use",
            "timestamp": 4,
            "sessionID": "ses_1",
            "part": {
                "type": "tool",
                "callID": "call_a",
                "tool": "bash",
                "state": {
                    "status": "completed",
                    "input": {"command": "bash task/timer.sh"},
                    "output": f"Remaining time: 0:05 {PLANTED}",
                    "metadata": {"exit": 0},
                },
            },
        },
        {
            "type": "step_finish",
            "timestamp": 5,
            "sessionID": "ses_1",
            "part": {
                "type": "step-finish",
                "reason": "tool-calls",
                "cost": 0.004,
                "tokens": {
                    "input": 800,
                    "output": 50,
                    "reasoning": 10,
                    "cache": {"read": 200, "write": 0},
                },
            },
        },
        {
            "type": "error",
            "timestamp": 6,
            "sessionID": "ses_1",
            "error": {"name": "APIError", "data": {"message": "overloaded"}},
        },
        {"type": "permission_asked", "timestamp": 7, "sessionID": "ses_1"},
    ]
)

STREAMS = {
    "claude-code": CLAUDE_CODE,
    "codex": CODEX,
    "gemini-cli": GEMINI_CLI,
    "gemini-cli-legacy": GEMINI_CLI_LEGACY,
    "opencode": OPENCODE,
}
"""Stream name -> stdout lines; the format is the name without ``-legacy``."""
