"""The scenario file format: YAML loading with line numbers, schema and semantic checks."""

from simulations.scenario.compiler import compile_document, load_scenario, load_scenario_text

__all__ = ["compile_document", "load_scenario", "load_scenario_text"]
