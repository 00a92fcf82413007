"""English intermediate-task training (STILTs) with parameter-efficient modules for zero-shot cross-lingual transfer."""
__version__ = "0.1.0"
