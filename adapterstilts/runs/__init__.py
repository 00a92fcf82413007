"""Run folders (read side, atomic writes), module references (local folders, Hub ids), Hub sharing
and model cards."""
from adapterstilts.runs.folder import (HEAD_FILE, INTERMEDIATES_DIR, MANIFEST, METRICS_FILE, MODULE_DIR, TRAIN_LOG,
                                       Run, folder_size, library_versions, prepare_output, write_json_atomic)

__all__ = ["HEAD_FILE", "INTERMEDIATES_DIR", "MANIFEST", "METRICS_FILE", "MODULE_DIR", "TRAIN_LOG", "Run", "folder_size",
           "library_versions", "prepare_output", "write_json_atomic"]
