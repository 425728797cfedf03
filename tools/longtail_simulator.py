"""The loss-level long-tail simulator: FL, EFL and its ablations over
seeds on LVIS's frequency law in minutes (docs/longtail/simulator.md).

Run with --help for the arguments; the logic is in
``mmdet_efl.simulation.commands.simulator_main``.
"""
from mmdet_efl.simulation.commands import simulator_main

if __name__ == '__main__':
    simulator_main()
