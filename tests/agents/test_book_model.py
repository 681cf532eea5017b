"""The learned model of the others' book (mpc_book_learned): it reads only books final before
the decision, moves the day-earlier book by what it predicts, and its file is what it was. An
ensemble of several (mpc_book_ensemble) predicts their mean and refuses a file that does not
fit, naming it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents.community import Community
from agents.data.calendar import SLOTS_PER_DAY
from agents.errors import PolicyError
from agents.forecasting.provider import HouseholdForecasts
from agents.policies.book_model import (
    TARGETS,
    BookEnsemble,
    BookHistory,
    BookModel,
    LearnedMarket,
    PlannerSettings,
)
from agents.policies.mpc import BOOK_LAG_SLOTS, PRICING_HALFWAY, BookMpc, DayEarlierMarket
from agents.policies.visible import MARKET_SEALED, plan_lag_slots
from agents.prosumer import OthersBook
from agents.rl.evaluate import _load_models, _strategies, default_models
from agents.rl.kinds import PLAN_REACH
from agents.rl.setup import Setup
from market.clearing import Order


@pytest.fixture
def june_setup(
    community: Community, forecasts: dict[int, HouseholdForecasts], june_book: OthersBook
) -> Setup:
    """An evaluation of the June book's household over the book's days."""
    h = june_book.household
    return Setup(community, (h,), (june_book,), (forecasts[h],), june_book.start, june_book.end)


@pytest.fixture(scope="module")
def other_seed(community: Community, june_book: OthersBook) -> BookModel:
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    return BookModel.fit([history], seed=1, rounds=5)


class _Constant:
    """A booster that predicts one value for every row."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.full(len(rows), self.value)


class _BookUntil:
    """``book`` with every order after slot ``last`` removed (what is not final yet)."""

    def __init__(self, book: OthersBook, last: int) -> None:
        self.book, self.last = book, last
        self.start, self.end = book.start, book.end

    def orders(self, slot: int) -> list[Order]:
        return self.book.orders(slot) if slot <= self.last else []


def _ranges(community: Community, decided: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    slots = decided + 1 + np.arange(n)
    return community.tariffs.feed_in[slots], community.tariffs.retail[slots]


def _decision(book: OthersBook) -> int:
    return book.start + 3 * SLOTS_PER_DAY + 40


Prediction = tuple[BookHistory, int, np.ndarray, np.ndarray, np.ndarray]
"""``BookModel.residuals``' arguments: history, decision slot, later slots, feed-in, retail."""


@pytest.fixture
def prediction(community: Community, june_book: OthersBook) -> Prediction:
    """What ``residuals`` takes for the 20 slots after a decision in June: (history, decided,
    slots, feed-in, retail)."""
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    decided = _decision(june_book)
    feed_in, retail = _ranges(community, decided, 20)
    return history, decided, decided + 1 + np.arange(20), feed_in, retail


def test_the_learned_market_reads_only_books_final_before_the_decision(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    decided = _decision(june_book)
    feed_in, retail = _ranges(community, decided, SLOTS_PER_DAY - BOOK_LAG_SLOTS)
    h = june_book.household
    full = LearnedMarket(community, june_book, h, model).later(decided, feed_in, retail)
    final = _BookUntil(june_book, decided - BOOK_LAG_SLOTS)
    seen = LearnedMarket(community, final, h, model).later(decided, feed_in, retail)  # type: ignore[arg-type]
    for (buy, sell), (buy_seen, sell_seen) in zip(full, seen, strict=True):
        np.testing.assert_array_equal(buy.widths, buy_seen.widths)
        np.testing.assert_array_equal(sell.prices, sell_seen.prices)


def test_the_learned_market_scales_and_shifts_the_day_earlier_steps(
    community: Community, june_book: OthersBook
) -> None:
    # Residuals: the kWh a buy could get doubles (plus its day-earlier kWh is added), its price
    # share rises by 0.1; the sell side is predicted unchanged.
    history = BookHistory.of(
        community, june_book.household, june_book, june_book.start, june_book.end
    )
    decided = june_book.start + 3 * SLOTS_PER_DAY + 20  # 05:00
    slot = decided + 24  # 11:00, and a day earlier too: neighbours sell
    kwh_before = history.summary[slot - SLOTS_PER_DAY, 0]
    assert kwh_before > 0
    boosters = [_Constant(kwh_before), _Constant(0.1), _Constant(0.0), _Constant(0.0)]
    moved_model = BookModel(boosters, seed=0, lag=BOOK_LAG_SLOTS)
    feed_in, retail = _ranges(community, decided, 24)
    h = june_book.household
    moved = LearnedMarket(community, june_book, h, moved_model).later(decided, feed_in, retail)
    base = DayEarlierMarket(community, june_book).later(decided, feed_in, retail)
    (buy, sell), (buy0, sell0) = moved[-1], base[-1]
    np.testing.assert_allclose(buy.widths, 2 * buy0.widths)
    span = retail[-1] - feed_in[-1]
    share0 = (buy0.prices - feed_in[-1]) / span
    np.testing.assert_allclose(buy.prices, feed_in[-1] + np.clip(share0 + 0.1, 0, 1) * span)
    np.testing.assert_allclose(sell.widths, sell0.widths)


def test_the_learned_market_is_the_day_earlier_book_without_two_days_behind_it(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    decided = june_book.start + SLOTS_PER_DAY + 40
    feed_in, retail = _ranges(community, decided, 30)
    h = june_book.household
    learned = LearnedMarket(community, june_book, h, model).later(decided, feed_in, retail)
    base = DayEarlierMarket(community, june_book).later(decided, feed_in, retail)
    for (buy, sell), (buy0, sell0) in zip(learned, base, strict=True):
        np.testing.assert_array_equal(buy.prices, buy0.prices)
        np.testing.assert_array_equal(sell.widths, sell0.widths)


def test_a_saved_book_model_predicts_what_it_predicted_before(
    prediction: Prediction, model: BookModel, tmp_path: Path
) -> None:
    model.save(tmp_path / "book-model-seed0.json")
    loaded = BookModel.load(tmp_path / "book-model-seed0.json")
    history, decided, slots, feed_in, retail = prediction
    np.testing.assert_allclose(
        loaded.residuals(history, decided, slots, feed_in, retail),
        model.residuals(history, decided, slots, feed_in, retail),
    )
    assert loaded.residuals(history, decided, slots, feed_in, retail).shape == (20, len(TARGETS))


def test_a_file_that_is_not_a_book_model_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text('{"format": "something else"}')
    with pytest.raises(PolicyError, match=r"policy\.json: not a book model"):
        BookModel.load(tmp_path / "policy.json")


def test_an_open_market_book_model_is_refused_in_a_sealed_run(
    june_setup: Setup, model: BookModel
) -> None:
    with pytest.raises(PolicyError, match="trained for the open market"):
        _strategies(june_setup, 0, (), {"mpc_book_learned#0": model}, "sealed")


def test_an_ensemble_predicts_the_mean_of_its_members(
    prediction: Prediction, model: BookModel, other_seed: BookModel
) -> None:
    history, decided, slots, feed_in, retail = prediction
    each = [m.residuals(history, decided, slots, feed_in, retail) for m in (model, other_seed)]
    assert not np.allclose(each[0], each[1])  # two seeds, two predictions
    ensemble = BookEnsemble((model, other_seed))
    np.testing.assert_allclose(
        ensemble.residuals(history, decided, slots, feed_in, retail), (each[0] + each[1]) / 2
    )


def test_the_ensemble_market_moves_the_day_earlier_book_by_the_mean_prediction(
    community: Community, june_book: OthersBook
) -> None:
    decided = june_book.start + 3 * SLOTS_PER_DAY + 20
    feed_in, retail = _ranges(community, decided, 24)
    h = june_book.household

    def constant(value: float) -> BookModel:
        return BookModel([_Constant(value)] * len(TARGETS), seed=0, lag=BOOK_LAG_SLOTS)

    mean = constant(0.05)
    ensemble = BookEnsemble((constant(0.0), constant(0.1)))
    by_mean = LearnedMarket(community, june_book, h, mean).later(decided, feed_in, retail)
    by_ensemble = LearnedMarket(community, june_book, h, ensemble).later(decided, feed_in, retail)
    for (buy, sell), (buy0, sell0) in zip(by_ensemble, by_mean, strict=True):
        np.testing.assert_allclose(buy.widths, buy0.widths)
        np.testing.assert_allclose(sell.prices, sell0.prices)


def test_evaluation_runs_an_ensembles_files_as_one_policy(
    model: BookModel, other_seed: BookModel, tmp_path: Path
) -> None:
    model.save(tmp_path / "book-model-seed0.json")
    other_seed.save(tmp_path / "book-model-seed1.json")
    files = (tmp_path / "book-model-seed0.json", tmp_path / "book-model-seed1.json")
    learned, seeds_of, missing = _load_models({"mpc_book_ensemble": files})
    assert seeds_of == {"mpc_book_ensemble": ["mpc_book_ensemble#0"]}
    assert missing == {}
    ensemble = learned["mpc_book_ensemble#0"]
    assert isinstance(ensemble, BookEnsemble)
    assert ensemble.seeds == [0, 1]


def test_an_ensemble_with_a_missing_file_is_refused_naming_it(
    model: BookModel, tmp_path: Path
) -> None:
    model.save(tmp_path / "book-model-seed0.json")
    with pytest.raises(PolicyError, match=r"book-model-seed7\.json"):
        _load_models(
            {
                "mpc_book_ensemble": (
                    tmp_path / "book-model-seed0.json",
                    tmp_path / "book-model-seed7.json",
                )
            }
        )


def test_an_ensemble_refuses_a_member_for_another_market_naming_its_file(
    model: BookModel, tmp_path: Path
) -> None:
    sealed = BookModel(model.boosters, seed=1, lag=plan_lag_slots(MARKET_SEALED))
    assert sealed.lag != model.lag
    model.save(tmp_path / "open.json")
    sealed.save(tmp_path / "sealed.json")
    with pytest.raises(PolicyError, match=r"sealed\.json: a book model for the sealed market"):
        BookEnsemble.load([tmp_path / "open.json", tmp_path / "sealed.json"])


def test_a_book_model_of_another_feature_width_is_refused_naming_it(
    model: BookModel, tmp_path: Path
) -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    narrow = lgb.train(
        {"objective": "l1", "verbosity": -1, "min_data_in_leaf": 5},
        lgb.Dataset(rng.random((50, 3)), label=rng.random(50)),
        num_boost_round=2,
    )
    model.save(tmp_path / "narrow.json")
    document = json.loads((tmp_path / "narrow.json").read_text())
    document["models"] = [narrow.model_to_string()] * len(TARGETS)
    (tmp_path / "narrow.json").write_text(json.dumps(document))
    with pytest.raises(PolicyError, match=r"narrow\.json: 4 trees of \[3\] features"):
        BookEnsemble.load([tmp_path / "narrow.json"])


def test_an_open_market_ensemble_is_refused_in_a_sealed_run_naming_its_files(
    june_setup: Setup, model: BookModel
) -> None:
    ensemble = BookEnsemble((model, model), (Path("a.json"), Path("b.json")))
    with pytest.raises(PolicyError, match=r"\(a\.json, b\.json\): .* trained for the open"):
        _strategies(june_setup, 0, (), {"mpc_book_ensemble#0": ensemble}, "sealed")


def test_a_shrinkage_of_zero_gives_exactly_the_day_earlier_market(
    community: Community, june_book: OthersBook, model: BookModel
) -> None:
    decided = _decision(june_book)
    feed_in, retail = _ranges(community, decided, 30)
    h = june_book.household
    shrunk = model.with_shrink([0.0])
    learned = LearnedMarket(community, june_book, h, shrunk).later(decided, feed_in, retail)
    base = DayEarlierMarket(community, june_book).later(decided, feed_in, retail)
    for (buy, sell), (buy0, sell0) in zip(learned, base, strict=True):
        np.testing.assert_array_equal(buy.widths, buy0.widths)
        np.testing.assert_array_equal(buy.prices, buy0.prices)
        np.testing.assert_array_equal(sell.widths, sell0.widths)
        np.testing.assert_array_equal(sell.prices, sell0.prices)


def test_the_shrinkage_scales_each_targets_predicted_residual(
    prediction: Prediction, model: BookModel
) -> None:
    history, decided, slots, feed_in, retail = prediction
    full = model.residuals(history, decided, slots, feed_in, retail)
    shrink = (0.5, 0.0, 1.0, 0.25)
    shrunk = model.with_shrink(shrink).residuals(history, decided, slots, feed_in, retail)
    np.testing.assert_allclose(shrunk, full * np.array(shrink))


def test_the_shrinkage_round_trips_through_the_file(model: BookModel, tmp_path: Path) -> None:
    model.with_shrink((0.5, 0.0, 1.0, 0.25)).save(tmp_path / "book-model-seed0.json")
    assert BookModel.load(tmp_path / "book-model-seed0.json").shrink == (0.5, 0.0, 1.0, 0.25)


def test_a_file_without_a_shrinkage_reads_the_full_prediction(
    model: BookModel, tmp_path: Path
) -> None:
    model.save(tmp_path / "old.json")
    document = json.loads((tmp_path / "old.json").read_text())
    del document["shrink"]
    (tmp_path / "old.json").write_text(json.dumps(document))
    assert BookModel.load(tmp_path / "old.json").shrink == (1.0,) * len(TARGETS)


def test_a_file_with_a_shrinkage_out_of_range_is_refused_naming_it(
    model: BookModel, tmp_path: Path
) -> None:
    model.save(tmp_path / "bold.json")
    document = json.loads((tmp_path / "bold.json").read_text())
    document["shrink"] = [1.5, 1.0, 1.0, 1.0]
    (tmp_path / "bold.json").write_text(json.dumps(document))
    with pytest.raises(PolicyError, match=r"bold\.json: the shrinkage .* each in \[0, 1\]"):
        BookModel.load(tmp_path / "bold.json")


def test_a_shrinkage_of_another_count_is_refused(model: BookModel) -> None:
    with pytest.raises(PolicyError, match="one value or 4"):
        model.with_shrink((0.5, 0.5))


def test_evaluation_reads_the_book_models_with_the_shrinkage_asked_for(
    model: BookModel, tmp_path: Path
) -> None:
    model.save(tmp_path / "book-model-seed0.json")
    files = (tmp_path / "book-model-seed0.json",)
    learned, _, missing = _load_models({"mpc_book_learned": files}, (0.0, 0.5, 0.0, 0.5))
    assert missing == {}
    assert learned["mpc_book_learned#0"].shrink == (0.0, 0.5, 0.0, 0.5)


def test_the_trainer_saves_the_shrinkage_asked_for_in_each_file(
    june_setup: Setup, tmp_path: Path
) -> None:
    from agents.rl.market_model import train_book_models

    meta = train_book_models(june_setup, (0,), tmp_path, shrink=(0.0, 0.0, 1.0, 0.0))
    assert meta["shrink"] == [0.0, 0.0, 1.0, 0.0]
    saved = BookModel.load(tmp_path / "book-model-seed0.json")
    assert saved.shrink == (0.0, 0.0, 1.0, 0.0)


def test_the_trainer_exports_each_seed_to_onnx_beside_its_file(
    june_setup: Setup, tmp_path: Path
) -> None:
    from agents.rl.market_model import train_book_models

    meta = train_book_models(june_setup, (0,), tmp_path, shrink=(0.0, 0.0, 1.0, 0.0))
    (run,) = meta["runs"]
    assert run["onnx"] == str(tmp_path / "book-model-seed0.onnx")
    assert run["onnx_max_abs_diff"] < 1e-5
    assert BookModel.load(tmp_path / "book-model-seed0.onnx").shrink == (0.0, 0.0, 1.0, 0.0)


def test_the_trainer_exports_nothing_for_a_model_that_reads_nothing(
    june_setup: Setup, tmp_path: Path
) -> None:
    from agents.rl.market_model import train_book_models

    meta = train_book_models(june_setup, (0,), tmp_path, shrink=(0.0,))
    assert "onnx" not in meta["runs"][0]
    assert not (tmp_path / "book-model-seed0.onnx").exists()


SELL_KWH_ONLY = (0.0, 0.0, 1.0, 0.0)


def test_an_exported_book_model_predicts_what_its_trees_predict(
    model: BookModel, tmp_path: Path
) -> None:
    from agents.policies.book_model_onnx import export_book_model, parity

    export_book_model(model, tmp_path / "book-model.onnx")
    exported = BookModel.load(tmp_path / "book-model.onnx")
    assert parity(model, exported) < 1e-5  # 32-bit thresholds and leaves (module docstring)


def test_an_exported_book_model_plans_on_the_market_its_trees_give(
    prediction: Prediction, model: BookModel, tmp_path: Path
) -> None:
    from agents.policies.book_model_onnx import export_book_model

    chosen = model.with_shrink(SELL_KWH_ONLY)
    export_book_model(chosen, tmp_path / "book-model.onnx")
    exported = BookModel.load(tmp_path / "book-model.onnx")
    np.testing.assert_allclose(
        exported.residuals(*prediction), chosen.residuals(*prediction), atol=1e-5
    )


def test_an_exported_file_keeps_only_the_targets_its_shrinkage_reads(
    model: BookModel, tmp_path: Path
) -> None:
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(model.with_shrink(SELL_KWH_ONLY), tmp_path / "book-model.onnx")
    exported = BookModel.load(tmp_path / "book-model.onnx")
    assert [b is not None for b in exported.boosters] == [False, False, True, False]
    with pytest.raises(PolicyError, match="no trees for buy_kwh, buy_share, sell_share"):
        exported.with_shrink((1.0,))


def test_an_exported_file_names_its_market_lag_seed_and_shrinkage(
    other_seed: BookModel, tmp_path: Path
) -> None:
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(other_seed.with_shrink(SELL_KWH_ONLY), tmp_path / "book-model.onnx")
    exported = BookModel.load(tmp_path / "book-model.onnx")
    assert (exported.trained_for, exported.lag, exported.seed, exported.shrink) == (
        "open",
        other_seed.lag,
        1,
        SELL_KWH_ONLY,
    )
    assert exported.meta == other_seed.meta


def test_a_restamped_file_trades_as_told_with_the_same_trees_and_keys(
    model: BookModel, tmp_path: Path
) -> None:
    import onnx

    from agents.policies.book_model import PlannerSettings
    from agents.policies.book_model_onnx import export_book_model, restamp_planner

    export_book_model(model.with_shrink(SELL_KWH_ONLY), tmp_path / "book-model.onnx")
    restamp_planner(
        tmp_path / "book-model.onnx",
        tmp_path / "restamped.onnx",
        PlannerSettings("scenarios", 0.25),
    )
    before, after = (onnx.load(str(tmp_path / n)) for n in ("book-model.onnx", "restamped.onnx"))
    assert after.graph.SerializeToString() == before.graph.SerializeToString()
    keys = {e.key: e.value for e in before.metadata_props}
    moved = {e.key: e.value for e in after.metadata_props}
    assert moved == keys | {"enerwise.pricing": "scenarios", "enerwise.reach": "0.25"}
    restamped = BookModel.load(tmp_path / "restamped.onnx")
    assert (restamped.planner.pricing, restamped.planner.reach) == ("scenarios", 0.25)
    assert restamped.shrink == SELL_KWH_ONLY


def test_restamping_refuses_a_file_that_is_not_a_book_model(tmp_path: Path) -> None:
    from agents.policies.book_model import PlannerSettings
    from agents.policies.book_model_onnx import restamp_planner

    shipped = Path(__file__).parents[2] / "agents" / "pretrained" / "imitation.onnx"
    with pytest.raises(PolicyError, match=r"imitation\.onnx: not a book model"):
        restamp_planner(shipped, tmp_path / "out.onnx", PlannerSettings("scenarios", 0.25))
    assert not (tmp_path / "out.onnx").exists()


def test_a_book_model_that_reads_no_target_is_not_exported(
    model: BookModel, tmp_path: Path
) -> None:
    from agents.policies.book_model_onnx import export_book_model

    with pytest.raises(PolicyError, match="the rule mpc_book_ahead"):
        export_book_model(model.with_shrink((0.0,)), tmp_path / "book-model.onnx")
    assert not (tmp_path / "book-model.onnx").exists()


def test_an_onnx_policy_that_is_not_a_book_model_is_refused_naming_it() -> None:
    shipped = Path(__file__).parents[2] / "agents" / "pretrained" / "imitation.onnx"
    with pytest.raises(PolicyError, match=r"imitation\.onnx: not a book model"):
        BookModel.load(shipped)


def test_an_unreadable_onnx_file_is_refused_naming_it(tmp_path: Path) -> None:
    (tmp_path / "book-model.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(PolicyError, match=r"book-model\.onnx: not a readable ONNX model"):
        BookModel.load(tmp_path / "book-model.onnx")


def test_a_book_model_read_from_onnx_is_not_saved_as_trees(
    model: BookModel, tmp_path: Path
) -> None:
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(model, tmp_path / "book-model.onnx")
    with pytest.raises(PolicyError, match="cannot be saved"):
        BookModel.load(tmp_path / "book-model.onnx").save(tmp_path / "again.json")


def test_evaluation_plans_on_an_exported_book_model(model: BookModel, tmp_path: Path) -> None:
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(model.with_shrink(SELL_KWH_ONLY), tmp_path / "book-model-seed0.onnx")
    learned, _, missing = _load_models({"mpc_book_learned": (tmp_path / "book-model-seed0.onnx",)})
    assert missing == {}
    assert learned["mpc_book_learned#0"].shrink == SELL_KWH_ONLY


def test_a_book_model_trained_for_the_sealed_market_reads_the_book_three_slots_back(
    june_setup: Setup, tmp_path: Path
) -> None:
    from agents.rl.market_model import train_book_models

    meta = train_book_models(june_setup, (0,), tmp_path, market=MARKET_SEALED)
    assert meta["market"] == MARKET_SEALED
    saved = BookModel.load(tmp_path / "book-model-seed0.json")
    assert saved.lag == plan_lag_slots(MARKET_SEALED) == 3
    assert saved.trained_for == MARKET_SEALED
    planner = _strategies(june_setup, 0, (), {"mpc_book_learned#0": saved}, MARKET_SEALED)
    assert isinstance(planner["mpc_book_learned#0"], BookMpc)
    with pytest.raises(PolicyError, match="trained for the sealed market"):
        _strategies(june_setup, 0, (), {"mpc_book_learned#0": saved}, "open")


def test_the_train_command_writes_sealed_market_files_with_market_sealed(
    june_setup: Setup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``agent train --algo book_model --market sealed`` (the June setup stands in for the
    training months' books)."""
    import agents.rl.setup
    from tests.in_process import run_main

    monkeypatch.setattr(agents.rl.setup, "build_setup", lambda *_args: june_setup)
    out = tmp_path / "models"
    code, stdout, stderr = run_main(
        monkeypatch, capsys, "agent", "train", "--algo", "book_model", "--market", "sealed",
        "--seeds", "0", "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, stderr
    assert json.loads(stdout)["market"] == MARKET_SEALED
    saved = BookModel.load(out / "book-model-seed0.json")
    assert (saved.lag, saved.trained_for) == (3, MARKET_SEALED)


@pytest.mark.parametrize("pricing", ["book", "halfway"])
def test_the_learned_planner_prices_and_reaches_as_its_model_says(
    june_setup: Setup, model: BookModel, pricing: str
) -> None:
    trades = model.with_planner(PlannerSettings(pricing, 0.25))
    made = _strategies(june_setup, 0, (), {"mpc_book_learned#0": trades}, "open")
    planner = made["mpc_book_learned#0"]
    assert isinstance(planner, BookMpc)
    assert (planner.pricing, planner.battery_reach) == (pricing, 0.25)


def test_the_planner_settings_round_trip_through_the_file(model: BookModel, tmp_path: Path) -> None:
    model.with_planner(PlannerSettings("halfway", 0.3)).save(tmp_path / "book-model-seed0.json")
    assert BookModel.load(tmp_path / "book-model-seed0.json").planner == PlannerSettings(
        "halfway", 0.3
    )


def test_an_exported_file_names_its_planner_settings(
    sealed_model: BookModel, tmp_path: Path
) -> None:
    from agents.policies.book_model_onnx import export_book_model

    export_book_model(sealed_model, tmp_path / "book-model-sealed-seed0.onnx")
    exported = BookModel.load(tmp_path / "book-model-sealed-seed0.onnx")
    assert exported.planner == PlannerSettings(PRICING_HALFWAY, PLAN_REACH)


def test_a_file_without_planner_settings_reads_the_open_markets(
    model: BookModel, tmp_path: Path
) -> None:
    model.with_planner(PlannerSettings("halfway", 0.25)).save(tmp_path / "old.json")
    document = json.loads((tmp_path / "old.json").read_text())
    del document["pricing"], document["reach"]
    (tmp_path / "old.json").write_text(json.dumps(document))
    assert BookModel.load(tmp_path / "old.json").planner == PlannerSettings("book", 1.0)


def test_the_shipped_open_market_files_read_with_the_best_response_and_the_whole_plan() -> None:
    shipped = sorted(
        (Path(__file__).parents[2] / "agents" / "pretrained").glob("book-model-seed*.onnx")
    )
    assert shipped
    assert {BookModel.load(path).planner for path in shipped} == {PlannerSettings("book", 1.0)}


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [("reach", 1.5, r"reach must be in 0\.\.1"), ("pricing", "guess", "unknown pricing 'guess'")],
)
def test_a_file_with_planner_settings_out_of_range_is_refused_naming_it(
    model: BookModel, tmp_path: Path, key: str, value: object, says: str
) -> None:
    model.save(tmp_path / "bold.json")
    document = json.loads((tmp_path / "bold.json").read_text())
    document[key] = value
    (tmp_path / "bold.json").write_text(json.dumps(document))
    with pytest.raises(PolicyError, match=rf"bold\.json: the planner's settings .*{says}"):
        BookModel.load(tmp_path / "bold.json")


@pytest.mark.parametrize(
    ("market", "planner"),
    [("open", PlannerSettings("book", 1.0)), (MARKET_SEALED, PlannerSettings("predicted", 0.25))],
)
def test_the_trainer_writes_the_planner_of_its_market_mode_by_default(
    june_setup: Setup, tmp_path: Path, market: str, planner: PlannerSettings
) -> None:
    from agents.rl.market_model import train_book_models

    meta = train_book_models(june_setup, (0,), tmp_path, market=market, shrink=(0.0, 0.0, 1.0, 0.0))
    assert (meta["pricing"], meta["reach"]) == (planner.pricing, planner.reach)
    assert BookModel.load(tmp_path / "book-model-seed0.json").planner == planner
    assert BookModel.load(tmp_path / "book-model-seed0.onnx").planner == planner


def test_the_train_command_writes_the_planner_asked_for(
    june_setup: Setup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import agents.rl.setup
    from tests.in_process import run_main

    monkeypatch.setattr(agents.rl.setup, "build_setup", lambda *_args: june_setup)
    code, _, stderr = run_main(
        monkeypatch, capsys, "agent", "train", "--algo", "book_model", "--market", "sealed",
        "--seeds", "0", "--shrink", "0", "--reach", "0.5", "--out", tmp_path, "--json",
    )  # fmt: skip
    assert code == 0, stderr
    saved = BookModel.load(tmp_path / "book-model-seed0.json")
    assert saved.planner == PlannerSettings("predicted", 0.5)  # the market's pricing, that reach


def test_export_stamps_the_planner_asked_for_on_the_files_trees(
    sealed_model: BookModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.in_process import run_main

    sealed_model.with_planner(PlannerSettings()).save(tmp_path / "old.json")  # as written before
    code, _, stderr = run_main(
        monkeypatch, capsys, "agent", "export-onnx", "--algo", "book_model",
        "--model", tmp_path / "old.json", "--pricing", "halfway", "--reach", "0.25", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    exported = BookModel.load(tmp_path / "old.onnx")
    assert exported.planner == PlannerSettings("halfway", 0.25)
    assert exported.shrink == sealed_model.shrink


def test_export_restamps_an_onnx_file_in_place_with_the_planner_asked_for(
    sealed_model: BookModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agents.policies.book_model_onnx import export_book_model
    from tests.in_process import run_main

    export_book_model(sealed_model, tmp_path / "book-model-sealed-seed0.onnx")
    code, _, stderr = run_main(
        monkeypatch, capsys, "agent", "export-onnx", "--algo", "book_model",
        "--model", tmp_path / "book-model-sealed-seed0.onnx", "--pricing", "scenarios", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    restamped = BookModel.load(tmp_path / "book-model-sealed-seed0.onnx")
    assert restamped.planner == PlannerSettings("scenarios", sealed_model.planner.reach)


def test_export_refuses_to_restamp_an_onnx_file_with_nothing_to_change(
    sealed_model: BookModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agents.policies.book_model_onnx import export_book_model
    from tests.in_process import run_main

    export_book_model(sealed_model, tmp_path / "m.onnx")
    code, _, stderr = run_main(
        monkeypatch, capsys, "agent", "export-onnx", "--algo", "book_model",
        "--model", tmp_path / "m.onnx",
    )  # fmt: skip
    assert code != 0 and "give --pricing and/or --reach" in stderr and "Traceback" not in stderr


def test_evaluation_reads_the_book_models_with_their_own_planner_unless_told_otherwise(
    sealed_model: BookModel, tmp_path: Path
) -> None:
    sealed_model.save(tmp_path / "book-model-seed0.json")
    files = {"mpc_book_learned": (tmp_path / "book-model-seed0.json",)}
    own, _, _ = _load_models(files)
    told, _, _ = _load_models(files, book_reach=1.0)
    assert own["mpc_book_learned#0"].planner == PlannerSettings("halfway", 0.25)
    assert told["mpc_book_learned#0"].planner == PlannerSettings("halfway", 1.0)


def test_evaluation_in_a_sealed_market_defaults_to_the_shipped_sealed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents.rl.evaluate

    for name in ("book-model-seed0.onnx", "book-model-sealed-seed0.onnx"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(agents.rl.evaluate, "PRETRAINED", tmp_path)
    assert default_models(MARKET_SEALED)["mpc_book_learned"] == (
        tmp_path / "book-model-sealed-seed0.onnx",
    )
    assert default_models("open")["mpc_book_learned"] == (tmp_path / "book-model-seed0.onnx",)


@pytest.mark.parametrize(
    ("options", "others"), [((), "zip"), (("--others", "truthful"), "truthful")]
)
def test_the_train_command_learns_the_books_of_zip_members_by_default(
    june_setup: Setup,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    others: str,
) -> None:
    """The members ``agent eval`` puts around the household (its default: ZIP traders)."""
    import agents.rl.setup
    from tests.in_process import run_main

    built: list[str] = []

    def build(config: agents.rl.setup.SetupConfig, *_args: object) -> Setup:
        built.append(config.others)
        return june_setup

    monkeypatch.setattr(agents.rl.setup, "build_setup", build)
    code, _, stderr = run_main(
        monkeypatch, capsys, "agent", "train", "--algo", "book_model", *options,
        "--seeds", "0", "--out", tmp_path / "models", "--json",
    )  # fmt: skip
    assert code == 0, stderr
    assert built == [others]
