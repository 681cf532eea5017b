"""The book model (:mod:`agents.policies.book_model`) as one ONNX file: what a gateway runs.

A fitted :class:`~agents.policies.book_model.BookModel` is LightGBM trees in a JSON file (all four
targets, so that validation can read it with any shrinkage). The planner reads only the targets
whose shrinkage is above zero, and a gateway has onnxruntime but no LightGBM, so the shipped form
is ONNX (onnxmltools' LightGBM converter, ``TreeEnsembleRegressor``): one input and one output per
target read (``x_<target>``, :data:`~agents.policies.book_model.FEATURES` wide, and
``residual_<target>``), and in the file's metadata (``enerwise.*``) its format, market mode,
lag, shrinkage, seed and how its planner trades (``enerwise.pricing``, ``enerwise.reach``:
:class:`~agents.policies.book_model.PlannerSettings`; a file without them, as those shipped
before they existed, is read with the open market's: ``book``, 1). :func:`load_onnx_book_model`
reads it back as a ``BookModel`` whose other targets have no trees (their shrinkage is 0 and
stays 0).

The converter keeps LightGBM's splits and missing-value routes but stores thresholds and leaf
values as 32-bit floats: its predictions differ from LightGBM's by rounding (under 1e-7 kWh for
the shipped models, :func:`parity`), so a shipped file's figures are measured from the ONNX file
itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from agents.errors import PolicyError
from agents.policies.book_model import (
    FEATURES,
    FORMAT,
    TARGETS,
    BookModel,
    PlannerSettings,
    read_planner,
)

KIND = "book_model"
"""``enerwise.kind`` of a book model's ONNX file (a policy file's kind, :mod:`agents.rl.multi`)."""


def export_book_model(model: BookModel, path: Path) -> None:
    """Write the targets of ``model`` that its shrinkage reads to ``path`` (module docstring).

    Raises:
        PolicyError: ``model`` reads no target (all shrinkages 0: that is the rule
            ``mpc_book_ahead``, no model), or holds no LightGBM trees for one it reads.
    """
    import lightgbm as lgb
    import onnx
    import onnxmltools
    from onnx import compose, helper
    from onnxmltools.convert.common.data_types import DoubleTensorType

    read = [c for c in range(len(TARGETS)) if model.shrink[c] > 0.0]
    if not read:
        raise PolicyError(
            "a book model whose shrinkage is 0 for every target is the rule mpc_book_ahead: "
            "nothing to export"
        )
    graphs = []
    for c in read:
        booster = model.boosters[c]
        if not isinstance(booster, lgb.Booster):
            raise PolicyError(f"the book model holds no LightGBM trees for {TARGETS[c]}")
        # The converter knows the squared-error objective only; L1 regression's output is the
        # trees' raw sum as well, so the model is the same for it.
        text = booster.model_to_string().replace(
            "objective=regression_l1", "objective=regression", 1
        )
        converted = onnxmltools.convert_lightgbm(
            lgb.Booster(model_str=text),
            initial_types=[(f"x_{TARGETS[c]}", DoubleTensorType([None, len(FEATURES)]))],
            target_opset=15,
        )
        # Inner names get the target as prefix (the graphs are merged); the output its name.
        graph = compose.add_prefix_graph(
            converted.graph, f"{TARGETS[c]}/", rename_inputs=False, rename_outputs=False
        )
        old, new = graph.output[0].name, f"residual_{TARGETS[c]}"
        for node in graph.node:
            node.output[:] = [new if name == old else name for name in node.output]
        graph.output[0].name = new
        graphs.append((graph, converted))
    merged = helper.make_graph(
        nodes=[n for g, _ in graphs for n in g.node],
        name="enerwise_book_model",
        inputs=[g.input[0] for g, _ in graphs],
        outputs=[g.output[0] for g, _ in graphs],
        initializer=[i for g, _ in graphs for i in g.initializer],
    )
    opsets = {o.domain: o.version for _, m in graphs for o in m.opset_import}
    out = helper.make_model(
        merged,
        opset_imports=[helper.make_opsetid(domain, v) for domain, v in sorted(opsets.items())],
        producer_name="enerwise",
    )
    out.ir_version = graphs[0][1].ir_version
    for key, value in {
        "enerwise.kind": KIND,
        "enerwise.format": FORMAT,
        "enerwise.market": model.trained_for,
        "enerwise.lag": str(model.lag),
        "enerwise.seed": str(model.seed),
        "enerwise.shrink": json.dumps(list(model.shrink)),
        "enerwise.pricing": model.planner.pricing,
        "enerwise.reach": repr(model.planner.reach),
        "enerwise.targets": json.dumps(list(TARGETS)),
        "enerwise.features": json.dumps(list(FEATURES)),
        "enerwise.meta": json.dumps(model.meta, sort_keys=True),
    }.items():
        entry = out.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(out.SerializeToString())
    tmp.replace(path)


def restamp_planner(source: Path, target: Path, planner: PlannerSettings) -> None:
    """Copy the book model's ONNX file ``source`` to ``target`` (the same path: in place) with
    ``planner``'s settings in its metadata; the graph, its trees and every other key stay as
    they are (how the planner trades is not part of the fitted model).

    Raises:
        PolicyError: ``source`` is not a book model's ONNX file.
    """
    import onnx

    load_onnx_book_model(source)  # refuses anything else, naming the file
    out = onnx.load(str(source))
    settings = {"enerwise.pricing": planner.pricing, "enerwise.reach": repr(planner.reach)}
    kept = [(e.key, e.value) for e in out.metadata_props if e.key not in settings]
    del out.metadata_props[:]
    for key, value in [*kept, *settings.items()]:
        entry = out.metadata_props.add()
        entry.key, entry.value = key, value
    graph = out.graph.SerializeToString()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(out.SerializeToString())
    assert onnx.load(str(tmp)).graph.SerializeToString() == graph  # only the metadata moved
    tmp.replace(target)


class OnnxTrees:
    """One target's trees in an onnxruntime session, with LightGBM's ``predict`` signature.

    The session needs every input of the file; the other targets' get no rows (their trees
    then do no work)."""

    def __init__(self, session: Any, target: str) -> None:
        self.session = session
        self.target = target
        self._idle = {
            i.name: np.empty((0, len(FEATURES)))
            for i in session.get_inputs()
            if i.name != self.name
        }

    @property
    def name(self) -> str:
        """The session input this target's features go to."""
        return f"x_{self.target}"

    def predict(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float64]]:
        """One prediction per row of ``x``."""
        feed = {**self._idle, self.name: np.ascontiguousarray(x, dtype=np.float64)}
        out = self.session.run([f"residual_{self.target}"], feed)[0]
        return np.asarray(out, dtype=np.float64).reshape(-1)


def is_book_model_onnx(path: Path) -> bool:
    """Whether ``path`` is an ONNX file of a book model (its ``enerwise.kind``); False for a
    file that onnxruntime cannot read (the caller's own loader says why)."""
    try:
        return _metadata(_session(path)).get("enerwise.kind") == KIND
    except PolicyError:
        return False


def load_onnx_book_model(path: Path) -> BookModel:
    """Read a file written by :func:`export_book_model`.

    Raises:
        PolicyError: missing, not ONNX, not a book model, for other targets or features than
            this code's, or with metadata that does not parse (planner settings out of range
            among them).
    """
    session = _session(path)
    meta = _metadata(session)
    if meta.get("enerwise.kind") != KIND or meta.get("enerwise.format") != FORMAT:
        raise PolicyError(f"{path}: not a book model of format {FORMAT}")
    try:
        targets = json.loads(meta["enerwise.targets"])
        features = json.loads(meta["enerwise.features"])
        shrink = [float(v) for v in json.loads(meta["enerwise.shrink"])]
        lag, seed = int(meta["enerwise.lag"]), int(meta["enerwise.seed"])
        trained = json.loads(meta.get("enerwise.meta", "{}"))
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(f"{path}: the book model's metadata does not parse: {exc}") from exc
    if targets != list(TARGETS) or features != list(FEATURES):
        raise PolicyError(f"{path}: a book model for other targets or features than this code's")
    planner = read_planner(meta.get("enerwise.pricing"), meta.get("enerwise.reach"), str(path))
    inputs = {i.name: i.shape for i in session.get_inputs()}
    boosters: list[Any] = []
    for target in TARGETS:
        shape = inputs.get(f"x_{target}")
        if shape is None:
            boosters.append(None)
            continue
        if shape[-1] != len(FEATURES):
            raise PolicyError(
                f"{path}: {target} takes {shape[-1]} features, this code's book model "
                f"{len(FEATURES)}"
            )
        boosters.append(OnnxTrees(session, target))
    try:
        return BookModel(
            boosters,
            seed,
            lag,
            trained if isinstance(trained, dict) else {},
            tuple(shrink),
            planner,
        )
    except PolicyError as exc:  # a shrinkage out of range or reading a target not in the file
        raise PolicyError(f"{path}: {exc}") from exc


def parity(model: BookModel, exported: BookModel, rows: int = 2_000, seed: int = 0) -> float:
    """The largest ``|exported - model|`` prediction over ``rows`` random feature rows per target
    read (uniform in each feature's training range, LightGBM's ``feature_infos``; 5 % missing)."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for c, trees in enumerate(exported.boosters):
        if trees is None:
            continue
        infos = model.boosters[c].dump_model()["feature_infos"]
        x = np.empty((rows, len(FEATURES)))
        for j, name in enumerate(model.boosters[c].feature_name()):
            lo, hi = _feature_range(infos.get(name, {}))
            x[:, j] = rng.uniform(lo, hi, rows)
        x[rng.random(x.shape) < 0.05] = np.nan
        worst = max(worst, float(np.max(np.abs(trees.predict(x) - model.boosters[c].predict(x)))))
    return worst


def _feature_range(info: dict[str, Any]) -> tuple[float, float]:
    lo, hi = float(info.get("min_value", 0.0)), float(info.get("max_value", 1.0))
    return (lo, hi) if hi > lo else (lo - 1.0, lo + 1.0)


def _session(path: Path) -> Any:
    import onnxruntime as ort

    if not path.is_file():
        raise PolicyError(f"{path}: no such file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise PolicyError(f"{path}: not a readable ONNX model: {exc}") from exc


def _metadata(session: Any) -> dict[str, str]:
    return dict(session.get_modelmeta().custom_metadata_map or {})
