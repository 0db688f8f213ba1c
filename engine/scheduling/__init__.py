"""Scheduling (考务编排): institution scope, rooms with seat maps, sittings in batches,
seat assignment, supervisor and rater assignment, admission tickets."""
