"""Experiments: recipes (YAML) expanded along study axes into a plan of cells, run by an executor
(local, SLURM), results in a tidy store."""
