"""The emulator's modules import one another without a cycle: the server imports the API modules,
which share only the HTTP types, errors and state (the import-linter contract says the same)."""

from __future__ import annotations

import itertools

import grimp


def test_no_import_cycle_among_the_emulators_modules() -> None:
    graph = grimp.build_graph("crmtui")
    modules = sorted(m for m in graph.modules if m.startswith("crmtui.emulator."))
    cycles = [(a, b) for a, b in itertools.combinations(modules, 2)
              if graph.chain_exists(a, b) and graph.chain_exists(b, a)]
    assert cycles == []
