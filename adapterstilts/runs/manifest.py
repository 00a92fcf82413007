"""The run manifest (``RUN/manifest.json``) as a versioned dataclass, with a reader for old ones.

Versions:

- 1 (adapterstilts 0.1.0, no ``manifest_version`` key): the fields below, ``compose`` sometimes
  missing (= "none"), ``merge_weights`` always present (None unless merge).
- 2: ``manifest_version`` is written; a composition's own fields (``merge_weights``, a chain's
  ``chain``), derived training data (``train_data``) and ``init_from`` may appear; ``base_model`` may
  hold ``weights_fingerprint`` (a hash of a few base-model tensors, ``model.backbone.weights_fingerprint``:
  a module put on another checkpoint of the same architecture is warned about; absent: not compared).

Reading checks the fields every loader relies on, with one line naming the file, the field and the
fix, so a corrupt or hand-edited manifest never ends in a traceback deep inside a library. Reading a
version-1 manifest upgrades it in memory; the file is left as it is (old run folders keep working
unchanged, and a pushed run keeps its bytes)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError

MANIFEST_VERSION = 2


@dataclass
class Manifest:
    task: str
    method: str
    module_name: str
    base_model: dict[str, Any]
    compose: str = "none"
    kind: str = "intermediate"
    intermediates: list[dict[str, Any]] = field(default_factory=list)
    seed: int | None = None
    manifest_version: int = MANIFEST_VERSION
    other: dict[str, Any] = field(default_factory=dict)  # every other field, as written

    CHECKED = ("task", "method", "module_name", "base_model", "compose", "kind", "intermediates", "seed",
               "manifest_version")

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "manifest.json") -> "Manifest":
        def bad(key: str, problem: str) -> UserError:
            return UserError(f"{source}: {key} {problem}; re-run the training that wrote it (or restore the file)")

        if not isinstance(data, dict):
            raise UserError(f"{source} is not a JSON object (a {type(data).__name__}); re-run the training that "
                            "wrote it (or restore the file)")
        version = data.get("manifest_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise bad("manifest_version", f"must be a positive integer, got {version!r}")
        if version > MANIFEST_VERSION:
            raise UserError(f"{source} was written by a newer adapterstilts (manifest version {version}, this one "
                            f"reads up to {MANIFEST_VERSION}); upgrade adapterstilts")
        for key in ("task", "method", "module_name"):
            if not isinstance(data.get(key), str) or not data.get(key):
                raise bad(key, f"must be a non-empty string, got {data.get(key)!r}")
        base = data.get("base_model")
        if not isinstance(base, dict) or not isinstance(base.get("name"), str) or not isinstance(
                base.get("config_hash"), str):
            raise bad("base_model", f"must be an object with a name and a config_hash (strings), got {base!r}")
        if not isinstance(base.get("weights_fingerprint"), (str, type(None))):
            raise bad("base_model.weights_fingerprint", f"must be a string, got {base.get('weights_fingerprint')!r}")
        compose = data.get("compose") or "none"
        if not isinstance(compose, str):
            raise bad("compose", f"must be a string, got {compose!r}")
        intermediates = data.get("intermediates") or []
        if not isinstance(intermediates, list) or not all(
                isinstance(e, dict) and isinstance(e.get("module_name"), str) for e in intermediates):
            raise bad("intermediates", f"must be a list of objects with a module_name, got {intermediates!r}")
        seed = data.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise bad("seed", f"must be an integer, got {seed!r}")
        kind = data.get("kind", "intermediate")
        if not isinstance(kind, str):
            raise bad("kind", f"must be a string, got {kind!r}")
        other = {k: v for k, v in data.items() if k not in cls.CHECKED}
        return cls(task=data["task"], method=data["method"], module_name=data["module_name"], base_model=base,
                   compose=compose, kind=kind, intermediates=intermediates, seed=seed, manifest_version=version,
                   other=other)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as the rest of the toolkit reads it (upgraded to this version's keys)."""
        out = {"manifest_version": self.manifest_version, "kind": self.kind, "task": self.task, "method": self.method,
               "compose": self.compose, "module_name": self.module_name, "base_model": self.base_model,
               "intermediates": self.intermediates, "seed": self.seed, **self.other}
        return out
