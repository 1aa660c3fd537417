"""``python -m posttrainbench.cli``."""

from posttrainbench.cli import main

main()
