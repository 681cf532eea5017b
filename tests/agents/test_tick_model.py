"""The learned model of the others' next ticks: its fit, the books it expects, what it reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agents.community import Community
from agents.errors import ConfigError
from agents.policies.tick_model import ERROR_LAGS, HISTORY, TickModel
from agents.prosumer import OthersBook
from market.clearing import Order, Side, clear_slot

RULE = TickModel(momentum=0.1, pull=0.3, drift=0.002)
"""The rule the synthetic members below follow exactly."""


@dataclass
class _RuleBook:
    """Six members (three sellers, three buyers) whose ticks follow :data:`RULE` after the
    clearing of their own previous slot; every read recorded."""

    community: Community
    start: int
    end: int
    reads: list[int] = field(default_factory=list)
    _books: dict[int, list[Order]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tariffs = self.community.tariffs
        members = [(f"s{k}", Side.SELL, 0.30 + 0.05 * k) for k in range(3)]
        members += [(f"b{k}", Side.BUY, 0.55 + 0.05 * k) for k in range(3)]
        fracs = {member: [start, start] for member, _, start in members}
        for slot in range(self.start, self.end):
            params = tariffs.market_params(slot)
            if slot - 1 >= self.start:
                previous = self._books[slot - 1]
                record = clear_slot(previous, tariffs.market_params(slot - 1))
                cleared = record.clearing_tick / tariffs.market_params(slot - 1).max_tick
                for history in fracs.values():
                    history.append(RULE.predict(history[-1], history[-2], cleared))
            self._books[slot] = [
                Order(member, side, round(fracs[member][-1] * params.max_tick), 500 + 10 * k)
                for k, (member, side, _) in enumerate(members)
            ]
            # the tick each member really bid, as the next prediction's starting point
            for order in self._books[slot]:
                fracs[order.id][-1] = order.tick / params.max_tick

    def orders(self, slot: int) -> list[Order]:
        self.reads.append(slot)
        return list(self._books[slot])

    def visible(self, slot: int) -> list[Order]:
        return self.orders(slot)


@pytest.fixture(scope="module")
def rule_book(community: Community, june_week: tuple[int, int]) -> _RuleBook:
    return _RuleBook(community, *june_week)


def test_fit_recovers_the_rule_the_members_follow(
    community: Community, rule_book: _RuleBook
) -> None:
    fitted = TickModel.fit([(community, rule_book, rule_book.end)])
    assert fitted.momentum == pytest.approx(RULE.momentum, abs=0.02)
    assert fitted.pull == pytest.approx(RULE.pull, abs=0.02)
    assert fitted.drift == pytest.approx(RULE.drift, abs=0.002)
    assert fitted.rmse < 0.1 * fitted.naive_rmse  # only the ticks' rounding is left


def test_a_model_that_fits_the_members_expects_the_slots_own_book(
    community: Community, rule_book: _RuleBook
) -> None:
    slot = rule_book.start + 40
    books = RULE.scenarios(community, rule_book, slot)
    real = {order.id: order for order in rule_book.orders(slot)}
    assert len(books) == len(ERROR_LAGS)
    for book in books:
        assert {order.id for order in book} == set(real)
        assert all(abs(order.tick - real[order.id].tick) <= 2 for order in book)
        assert all(order.qty_wh == real[order.id].qty_wh for order in book)


def test_the_expected_books_read_only_revealed_slots(
    community: Community, rule_book: _RuleBook
) -> None:
    slot = rule_book.start + 40
    rule_book.reads.clear()
    RULE.scenarios(community, rule_book, slot)
    assert rule_book.reads and min(rule_book.reads) >= slot - HISTORY
    assert max(rule_book.reads) == slot - 1


def test_no_books_are_expected_before_the_history_is_long_enough(
    community: Community, rule_book: _RuleBook
) -> None:
    assert RULE.scenarios(community, rule_book, rule_book.start + HISTORY - 1) == []
    assert RULE.scenarios(community, rule_book, rule_book.start + HISTORY)


def test_the_expected_books_on_a_zip_community_are_closer_than_the_newest_revealed_one(
    community: Community, june_book: OthersBook
) -> None:
    """ZIP traders are not the rule, but follow the last clearing: the fitted model's mean
    tick error over a day is below the newest revealed book's."""
    fitted = TickModel.fit([(community, june_book, june_book.start + 3 * 96)])
    last_error = model_error = 0.0
    for slot in range(june_book.start + 3 * 96, june_book.start + 4 * 96):
        real = {order.id: order.tick for order in june_book.orders(slot)}
        newest = {order.id: order.tick for order in june_book.orders(slot - 1)}
        expected = fitted.scenarios(community, june_book, slot)[0]  # with t-1's own errors
        shared = [member for member in real if member in newest]
        last_error += sum(abs(real[m] - newest[m]) for m in shared)
        model_error += sum(abs(real[o.id] - o.tick) for o in expected if o.id in real)
    assert fitted.pull > 0
    assert model_error < last_error


def test_a_model_reads_back_as_saved(
    tmp_path: Path, community: Community, rule_book: _RuleBook
) -> None:
    fitted = TickModel.fit([(community, rule_book, rule_book.end)])
    fitted.save(tmp_path / "tick.json")
    assert TickModel.load(tmp_path / "tick.json") == fitted


def test_too_few_orders_are_refused(community: Community, rule_book: _RuleBook) -> None:
    with pytest.raises(ConfigError, match="too few orders"):
        TickModel.fit([(community, rule_book, rule_book.start + 5)])


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "no such file"),
        ("{not json", "not a tick model file"),
        ('{"format": "enerwise-book-model/1"}', "not a tick model file"),
        ('{"format": "enerwise-tick-model/1", "momentum": "fast", "pull": 0, "drift": 0}',
         "numbers do not read"),
        ('{"format": "enerwise-tick-model/1", "momentum": NaN, "pull": 0, "drift": 0}',
         "numbers do not read"),
    ],
)  # fmt: skip
def test_a_bad_model_file_is_refused_naming_it(tmp_path: Path, text: str | None, says: str) -> None:
    path = tmp_path / "tick.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=rf"tick\.json.*{says}|{says}.*tick\.json"):
        TickModel.load(path)


def test_the_shipped_model_reads_and_beats_the_last_tick() -> None:
    shipped = TickModel.load()  # agents/pretrained/tick-model-sealed.json
    assert shipped.rows > 100_000
    assert shipped.rmse < 0.6 * shipped.naive_rmse
    assert shipped.pull > 0


def test_the_train_command_writes_the_model_and_says_how_well_it_fits(
    community: Community,
    june_book: OthersBook,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import agents.rl.setup
    from agents.rl.setup import Setup
    from tests.in_process import run_main

    h = june_book.household
    built = Setup(community, (h,), (june_book,), (None,), june_book.start, june_book.end)  # type: ignore[arg-type]
    monkeypatch.setattr(agents.rl.setup, "build_setup", lambda *_args: built)
    code, stdout, stderr = run_main(
        monkeypatch, capsys, "agent", "train", "--algo", "tick_model", "--out", tmp_path, "--json"
    )
    assert code == 0, stderr
    report = json.loads(stdout)
    written = TickModel.load(tmp_path / "tick-model-sealed.json")
    assert report["rows"] == written.rows > 100
    assert report["rmse"] == written.rmse < written.naive_rmse
