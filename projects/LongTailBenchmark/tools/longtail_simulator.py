"""The loss-level long-tail simulator: FL, EFL and its ablations over
seeds on LVIS's frequency law in minutes (the project's
docs/simulator.md).

Run with --help for the arguments; the logic is in
``longtail_benchmark.simulation.commands.simulator_main``.
"""
import sys
from pathlib import Path

# The project is not installed with the plugin: put its package (the folder
# above this one) on the path, whatever the working directory.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longtail_benchmark.simulation.commands import (  # noqa: E402
    simulator_main)

if __name__ == '__main__':
    simulator_main()
