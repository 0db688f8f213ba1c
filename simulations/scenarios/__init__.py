"""The built-in scenarios shipped with skillcert."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from simulations.runtime.program import Program

BUILTIN = {
    "electrician-feeder-switching": "electrician_feeder.yaml",
    "chemical-cstr-control": "chemical_cstr.yaml",
    "cnc-lathe-startup": "cnc_lathe_startup.yaml",
}


def builtin_path(scenario_id: str) -> Path:
    """Path of a built-in scenario file by its id."""
    return Path(str(resources.files("simulations.scenarios").joinpath(BUILTIN[scenario_id])))


def load_builtin(scenario_id: str) -> Program:
    from simulations.scenario import load_scenario

    return load_scenario(builtin_path(scenario_id))
