"""simulations: scenario language, simulator runtime, rubric scoring, built-in scenarios.

A pure rule/numerical package: no database and no web imports.
"""
