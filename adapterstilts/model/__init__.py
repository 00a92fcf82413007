"""The model a run trains or evaluates: the backbone (loading, quantisation, identity) and its
assembly with modules and a task head."""
