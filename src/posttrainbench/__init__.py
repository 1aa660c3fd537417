"""PostTrainBench: can an LLM agent post-train a base model on its own?

The package runs trials (agent x base model x benchmark x time budget), sandboxes the
agent, audits what it did, evaluates its ``final_model`` with pristine harness code and
aggregates the results into a leaderboard. See DESIGN.md for the architecture.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
