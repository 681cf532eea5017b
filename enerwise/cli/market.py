"""``enerwise market``: a trader's own sealed orders, by hand (commit, reveal, reclaim).

In a sealed market (issue 15) an order is committed before gate closure (a hash and locked
collateral) and revealed after it, in the slot's reveal window; a commitment never revealed is
reclaimed after the window, without its bond. The salt is the order's one secret: ``commit``
writes the order and its salt to the commitment journal (:mod:`energychain.commitment_journal`,
fsynced) *before* it sends the commitment, and every later command reads the journal, so a
command killed at any point loses no salt. ``export-secrets`` copies the open entries to a
backup file.

The journal is one file per wallet (all chains, markets and owners): ``--journal``, else
``$ENERWISE_JOURNAL``, else ``commitments.sqlite3`` beside the keystore folder
(``~/.enerwise/commitments.sqlite3``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.globals import get_current_context

from enerwise.cli.amounts import decimal_amount, money_base_units, money_text, one_of, price_tick
from enerwise.cli.connection import DeployedOn
from enerwise.cli.console import confirm, console
from enerwise.cli.options import (
    JsonFlag,
    SigningKey,
    YesFlag,
    option_groups,
)
from enerwise.cli.output import print_json
from enerwise.cli.revert_words import plain_words, utc
from enerwise.errors import EnerwiseError, OptionError

if TYPE_CHECKING:
    from web3 import Web3

    from energychain.commitment_journal import CommitmentJournal, JournalEntry
    from energychain.commitments import Collateral
    from energychain.sealed_market import SealedMarket
    from market.clearing import MarketParams
    from wallet.transactions import TransactionSender

app = typer.Typer(
    help="Sealed market: commit, reveal and reclaim your own orders; the salts' journal.",
    no_args_is_help=True,
)

JOURNAL_ENV = "ENERWISE_JOURNAL"
JOURNAL_NAME = "commitments.sqlite3"


class MarketCommandError(EnerwiseError):
    """A sealed-market command cannot do what was asked (one line: what, and what to do)."""


class Side(StrEnum):
    buy = "buy"
    sell = "sell"


JournalFile = Annotated[
    Path | None,
    typer.Option(
        "--journal",
        envvar=JOURNAL_ENV,
        metavar="FILE",
        help="The commitment journal, salts included (default: commitments.sqlite3 beside the "
        "keystore folder, ~/.enerwise/commitments.sqlite3).",
        show_default=False,
    ),
]
SlotFilter = Annotated[
    int | None, typer.Option("--slot", min=0, help="Only the commitments of this slot.")
]


def journal_path(path: Path | None) -> Path:
    """``path``, else the wallet's journal beside its keystore folder."""
    if path is not None:
        return path
    from wallet.keystore import default_keystore_dir

    return default_keystore_dir().parent / JOURNAL_NAME


# ------------------------------------------------------------------------------- the chain
def _send_failures() -> tuple[type[BaseException], ...]:
    """Failures of a send after which the node may or may not hold the transaction."""
    from chain.errors import RpcError
    from energychain.contracts import NODE_ERRORS
    from wallet.errors import TransactionError

    return (TransactionError, RpcError, *NODE_ERRORS)


@dataclass
class _Market:
    """The sealed market of a deployment, the journal, and (for sends) the trader's sender."""

    w3: Web3
    market: SealedMarket
    params: MarketParams
    decimals: int
    chain_id: int
    journal: CommitmentJournal
    sender: TransactionSender | None
    from_block: int
    """The deployment's block: event reads start there."""

    def now(self) -> int:
        """The chain's time: the latest block's timestamp (the windows are the chain's)."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def send(self) -> TransactionSender:
        assert self.sender is not None
        return self.sender

    def eur(self, units: int) -> str:
        return money_text(units, self.decimals)

    def entries(self, slot: int | None) -> list[JournalEntry]:
        return self.journal.entries(self.chain_id, self.market.address, slot)


@dataclass(frozen=True)
class MarketAndJournal:
    """Where the chain, its deployment record and the commitment journal are: what every
    ``market`` command acts on (an option group of :func:`enerwise.cli.options.option_groups`)."""

    on: DeployedOn
    journal: JournalFile = None

    def open(self, key: SigningKey | None) -> _Market:
        """Connect, load the deployment (a sealed market), open the journal, unlock the key."""
        from energychain.commitment_journal import CommitmentJournal
        from energychain.sealed_market import SealedMarket

        sender: TransactionSender | None = None
        if key is None:
            w3, deployment = self.on.reach()
        else:
            w3, sender, deployment = self.on.reach_as(key, "Trader's password: ")
        contracts = deployment.contracts(w3)
        market = contracts.market
        if not isinstance(market, SealedMarket):
            raise MarketCommandError(
                f"the market {market.address} is open, not sealed: its orders are placed in the "
                "clear (the dApp's Trade page, or an agent)"
            )
        opened = CommitmentJournal(journal_path(self.journal))
        ctx = get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(opened.close)  # when the command ends, however it ends
        return _Market(
            w3=w3,
            market=market,
            params=market.params(),
            decimals=contracts.payment.decimals(),
            chain_id=int(w3.eth.chain_id),
            journal=opened,
            sender=sender,
            from_block=deployment.block_number,
        )


def _row(m: _Market, entry: JournalEntry, now: int) -> dict[str, Any]:
    """A journal entry as the commands show it (never the salt)."""
    order = entry.order
    opens_after, closes_at = m.market.reveal_window(order.slot)
    window = "waiting" if now <= opens_after else "open" if now <= closes_at else "passed"
    return {
        "commitment": "0x" + entry.commitment.hex(),
        "slot": order.slot,
        "side": order.side,
        "tick": order.tick,
        "price_eur_per_kwh": m.eur(m.params.price_floor + order.tick * m.params.tick_size),
        "qty_wh": order.qty_wh,
        "locked_money": entry.collateral.money,
        "locked_eur": m.eur(entry.collateral.money),
        "locked_wh": entry.collateral.energy_wh,
        "status": entry.status,
        "commit_id": None if entry.commit_id is None else hex(entry.commit_id),
        "order_id": None if entry.order_id is None else hex(entry.order_id),
        "tx": entry.tx,
        "reason": entry.reason,
        "reveal_opens_after": opens_after,
        "reveal_closes_at": closes_at,
        "reveal_window": window,
    }


def _describe(entry: JournalEntry) -> str:
    o = entry.order
    return f"slot {o.slot} {o.side} {o.qty_wh} Wh at tick {o.tick}"


def _settle_intents(m: _Market, entries: list[JournalEntry], now: int) -> list[JournalEntry]:
    """Entries with every ``intent`` settled from the chain: one whose commitment was mined is
    ``committed``; none after the order window closed is ``failed`` (it never reached the
    chain); one still possibly pending stays an intent."""
    settled = []
    for entry in entries:
        if entry.status == "intent":
            cid = _mined_commit_id(m, entry)
            if cid is not None:
                m.journal.mark_committed(entry.commitment, cid)
            elif now >= m.market.gate_closure(entry.order.slot):
                m.journal.mark_failed(entry.commitment, "the commitment never reached the chain")
            entry = m.journal.get(entry.commitment)
        settled.append(entry)
    return settled


def _mined_commit_id(m: _Market, entry: JournalEntry) -> int | None:
    """The id ``entry``'s commitment got on chain, or None if it was never mined.

    The id is known but for its fee bits (the fee in force when it was mined): the id under
    today's fee holds the commitment or its revealed order; else an ``OrderCommitted`` of the
    owner and slot whose id matches outside the fee bits (the fee changed since, or the order
    was claimed already) is the commitment's.
    """
    from energychain.commitments import COMMIT_ID_HASH_MASK, commit_id
    from energychain.events import EventReader

    order = entry.order
    cid = commit_id(order, entry.chain_id, m.market.address, m.params.fee_bps)
    if m.market.commitment(cid) is not None or m.market.order(cid) is not None:
        return cid
    filters = {"owner": order.owner, "slot": order.slot}
    for event in EventReader(m.market).read("OrderCommitted", m.from_block, filters=filters):
        found = int(event["args"]["commitId"])
        if found & COMMIT_ID_HASH_MASK == cid & COMMIT_ID_HASH_MASK:
            return found
    return None


# ------------------------------------------------------------------------------- commit
@app.command("commit")
@option_groups
def commit(
    slot: Annotated[int, typer.Option("--slot", min=0, help="The delivery slot.")],
    side: Annotated[Side, typer.Option("--side", help="buy or sell.", case_sensitive=False)],
    qty_wh: Annotated[int, typer.Option("--qty-wh", min=1, help="The quantity, Wh.")],
    key: SigningKey,
    where: MarketAndJournal,
    price_eur_per_kwh: Annotated[
        str | None,
        typer.Option(
            metavar="PRICE",
            help="Limit price, EUR/kWh (a buy's rounds down the price grid, a sell's up).",
        ),
    ] = None,
    tick: Annotated[int | None, typer.Option(min=0, help="The limit price as a tick.")] = None,
    collateral_eur: Annotated[
        str | None,
        typer.Option(
            metavar="AMOUNT",
            help="Lock at least this much money, EUR (hides a buy's size and side; default: "
            "the least the order needs, with the bond).",
        ),
    ] = None,
    collateral_wh: Annotated[
        int | None,
        typer.Option(min=0, help="Lock at least this many Wh of the slot (hides a sell's size)."),
    ] = None,
    yes: YesFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Commit a sealed order: its salt is in the journal before the commitment is sent.

    Reveal it after the slot's gate closure with `enerwise market reveal`; a commitment not
    revealed in the reveal window forfeits its bond.
    """
    from energychain.commitments import SealedOrder, hiding_collateral, new_salt

    one_of(price_eur_per_kwh, tick, "--price-eur-per-kwh", "--tick")
    price = (
        None
        if price_eur_per_kwh is None
        else decimal_amount(price_eur_per_kwh, "--price-eur-per-kwh")
    )
    extra_money = (
        None if collateral_eur is None else decimal_amount(collateral_eur, "--collateral-eur")
    )
    is_buy = side is Side.buy
    m = where.open(key)
    params, sender = m.params, m.send()
    if price is not None:
        tick = price_tick(
            price, params, m.decimals, "--price-eur-per-kwh", side="buy" if is_buy else "sell"
        )
    assert tick is not None
    _check_order(m, slot, tick, qty_wh)
    order = SealedOrder(slot, sender.address, is_buy, tick, qty_wh, new_salt())
    floor_money = (
        0 if extra_money is None else money_base_units(extra_money, m.decimals, "--collateral-eur")
    )
    collateral = hiding_collateral(
        order, params, m.market.bond_amount(), money=floor_money, energy_wh=collateral_wh or 0
    )
    _check_collateral(m, sender.address, slot, collateral)
    opens_after, closes_at = m.market.reveal_window(slot)
    price_eur = m.eur(params.price_floor + tick * params.tick_size)
    plan = (
        f"commit for {sender.address}: slot {slot} {side.value} {qty_wh} Wh at {price_eur} "
        f"EUR/kWh (tick {tick}), locking {m.eur(collateral.money)} EUR and "
        f"{collateral.energy_wh} Wh; reveal after {utc(opens_after)} until {utc(closes_at)}"
    )
    confirm("Send the commitment?", yes=yes, plan=[plan])
    entry = m.journal.record_intent(m.chain_id, m.market.address, order, collateral)
    receipt = _send_commit(m, entry)
    (event,) = m.market.events(receipt, "OrderCommitted")
    cid = int(event["args"]["commitId"])
    tx = receipt["transactionHash"].to_0x_hex()
    m.journal.mark_committed(entry.commitment, cid, tx)
    if json_out:
        print_json(_row(m, m.journal.get(entry.commitment), m.now()))
        return
    console.print(
        f"committed slot {slot} {side.value} {qty_wh} Wh at {price_eur} EUR/kWh as {hex(cid)}, "
        f"{m.eur(collateral.money)} EUR and {collateral.energy_wh} Wh locked; reveal after "
        f"{utc(opens_after)} until {utc(closes_at)} (`enerwise market reveal`)",
        highlight=False,
    )


def _check_order(m: _Market, slot: int, tick: int, qty_wh: int) -> None:
    """The order fits the market's grid and smallest order, and ``slot``'s order window is open."""
    params = m.params
    if tick > params.max_tick:
        raise OptionError(f"--tick: {tick} is above the market's max tick {params.max_tick}")
    if qty_wh < params.min_order_wh:
        raise OptionError(
            f"--qty-wh: {qty_wh} Wh is below the market's smallest order {params.min_order_wh} Wh"
        )
    now = m.now()
    opens_at, gate_closure = m.market.calendar(params).order_window(slot)
    if now < opens_at:
        raise MarketCommandError(f"orders for slot {slot} are accepted only from {utc(opens_at)}")
    if now >= gate_closure:
        raise MarketCommandError(
            f"the order window of slot {slot} closed at {utc(gate_closure)} (gate closure)"
        )


def _check_collateral(m: _Market, owner: str, slot: int, collateral: Collateral) -> None:
    """``owner``'s vault holds the money and the Wh of ``slot`` the commitment locks."""
    balance = m.market.balance_of(owner)
    if collateral.money > balance:
        raise MarketCommandError(
            f"your market vault holds {m.eur(balance)} EUR, the commitment locks "
            f"{m.eur(collateral.money)} EUR: deposit more first"
        )
    if collateral.energy_wh:
        held = m.market.energy_balance_of(owner, slot)
        if collateral.energy_wh > held:
            raise MarketCommandError(
                f"your market vault holds {held} Wh of slot {slot}, the commitment locks "
                f"{collateral.energy_wh} Wh: move energy tokens into the vault first"
            )


def _send_commit(m: _Market, entry: JournalEntry) -> Any:
    """Send the commitment of ``entry`` (already in the journal); its receipt.

    A refusal (the dry run or the mined transaction reverted) marks the entry ``failed``; a
    send that may or may not have reached the node leaves it an ``intent``, which ``reveal``,
    ``reclaim`` and ``commitments`` settle from the chain.
    """
    from wallet.errors import TransactionRevertedError

    request = m.market.commit_order(entry.order, entry.collateral, m.chain_id)
    try:
        return m.send().transact(request)
    except TransactionRevertedError as exc:
        words = plain_words(exc, m.decimals)
        m.journal.mark_failed(entry.commitment, words)
        raise MarketCommandError(f"commitment refused: {words} (journal entry failed)") from None
    except _send_failures() as exc:
        raise MarketCommandError(
            f"the commitment may not have reached the chain ({type(exc).__name__}: {exc}); its "
            f"salt is in {m.journal.path}: `enerwise market commitments` settles it"
        ) from None


# ------------------------------------------------------------------------------- reveal
@dataclass(frozen=True)
class _Outcome:
    """What became of one journal entry in ``reveal`` or ``reclaim``: a line, and JSON."""

    entry: JournalEntry
    text: str
    fields: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        return f"{_describe(self.entry)}: {self.text}"

    def json(self) -> dict[str, Any]:
        o, cid = self.entry.order, self.entry.commit_id
        return {
            "commitment": "0x" + self.entry.commitment.hex(),
            "slot": o.slot,
            "side": o.side,
            "tick": o.tick,
            "qty_wh": o.qty_wh,
            "commit_id": None if cid is None else hex(cid),
            **self.fields,
            "message": self.text,
        }


@app.command("reveal")
@option_groups
def reveal(
    key: SigningKey,
    where: MarketAndJournal,
    slot: SlotFilter = None,
    yes: YesFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Reveal every committed order whose reveal window is open (after gate closure).

    The revealed orders join the slot's book and clear like any other. Anyone's key may send a
    reveal (the commitment binds the owner): the key here pays the gas. Nothing revealed while
    some order waits (its window not open yet, or passed) is an error (exit 1).
    """
    m = where.open(key)
    due, skipped = _committed(m, slot, _not_revealable)
    if due:
        confirm(f"Reveal {len(due)} order(s)?", yes=yes, plan=[_describe(e) for e in due])
    revealed, refused = _reveal_due(m, due) if due else ([], [])
    not_revealed = refused + skipped
    if not revealed and not_revealed:
        raise MarketCommandError("nothing revealed: " + "; ".join(o.line() for o in not_revealed))
    _report(json_out, "revealed", revealed, not_revealed, "no committed orders to reveal")


_NotNow = Callable[["JournalEntry", int, int, int], "_Outcome | None"]
"""Why a committed entry is not for a command now (given the entry, the chain's time and its
slot's reveal window, after and until), or None when it is."""


def _committed(
    m: _Market, slot: int | None, not_now: _NotNow
) -> tuple[list[JournalEntry], list[_Outcome]]:
    """The journal's committed entries (of ``slot``, or all; its intents settled first) that
    are for the command now, and why each other one is not."""
    now = m.now()
    ready: list[JournalEntry] = []
    others: list[_Outcome] = []
    for entry in _settle_intents(m, m.entries(slot), now):
        if entry.status != "committed":
            continue
        opens_after, closes_at = m.market.reveal_window(entry.order.slot)
        reason = not_now(entry, now, opens_after, closes_at)
        if reason is None:
            ready.append(entry)
        else:
            others.append(reason)
    return ready, others


def _not_revealable(
    entry: JournalEntry, now: int, opens_after: int, closes_at: int
) -> _Outcome | None:
    if now <= opens_after:
        text = f"its reveal window opens after {utc(opens_after)}"
        return _Outcome(entry, text, {"reveal_opens_after": opens_after})
    if now > closes_at:
        text = (
            f"its reveal window ended at {utc(closes_at)}; reclaim it "
            "(`enerwise market reclaim`), the bond is lost"
        )
        return _Outcome(entry, text, {"reveal_closes_at": closes_at})
    return None


def _not_reclaimable(
    entry: JournalEntry, now: int, opens_after: int, closes_at: int
) -> _Outcome | None:
    if now > closes_at:
        return None
    text = f"can still be revealed until {utc(closes_at)} (`enerwise market reveal`)"
    return _Outcome(entry, text, {"reveal_closes_at": closes_at})


def _reveal_due(m: _Market, due: list[JournalEntry]) -> tuple[list[_Outcome], list[_Outcome]]:
    """Reveal ``due`` (one batch; one by one if the batch is refused): what went into the book
    and what did not."""
    from wallet.errors import TransactionRevertedError

    reasons: dict[bytes, str] = {}
    try:
        if len(due) == 1:
            m.send().transact(m.market.reveal_order(due[0].commit_id or 0, due[0].order))
        else:
            batch = [(e.commit_id or 0, e.order) for e in due]
            m.send().transact(m.market.reveal_orders(batch))
    except TransactionRevertedError as exc:
        if len(due) == 1:
            reasons[due[0].commitment] = plain_words(exc, m.decimals)
        else:
            for entry in due:  # one refusal reverts the batch: the others still count
                try:
                    m.send().transact(m.market.reveal_order(entry.commit_id or 0, entry.order))
                except TransactionRevertedError as each:
                    reasons[entry.commitment] = plain_words(each, m.decimals)
    revealed, refused = [], []
    for entry in due:
        order_id = entry.commit_id or 0
        if m.market.order(order_id) is not None:  # in the book (by us, or by a keeper first)
            m.journal.mark_revealed(entry.commitment, order_id)
            text = f"revealed, order {hex(order_id)} is in the book"
            revealed.append(_Outcome(m.journal.get(entry.commitment), text))
        else:
            text = reasons.get(entry.commitment, "not in the book after the reveal")
            refused.append(_Outcome(entry, text))
    return revealed, refused


def _report(
    json_out: bool, done: str, outcomes: list[_Outcome], others: list[_Outcome], empty: str
) -> None:
    if json_out:
        print_json({done: [o.json() for o in outcomes], f"not_{done}": [o.json() for o in others]})
        return
    for outcome in outcomes + others:
        console.print(outcome.line(), highlight=False)
    if not outcomes and not others:
        console.print(empty)


# ------------------------------------------------------------------------------- reclaim
@app.command("reclaim")
@option_groups
def reclaim(
    key: SigningKey,
    where: MarketAndJournal,
    slot: SlotFilter = None,
    yes: YesFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """End the commitments whose reveal window passed without a reveal: the bond goes to the
    treasury, the rest of the collateral back to the owner's vault."""
    m = where.open(key)
    late, waiting = _committed(m, slot, _not_reclaimable)
    if late:
        confirm(
            f"Reclaim {len(late)} commitment(s), forfeiting each bond?",
            yes=yes,
            plan=[_describe(e) for e in late],
        )
    done = [_reclaim_one(m, entry) for entry in late]
    _report(json_out, "reclaimed", done, waiting, "no commitment to reclaim")


def _reclaim_one(m: _Market, entry: JournalEntry) -> _Outcome:
    """Reclaim ``entry``'s commitment (or record what a keeper did first)."""
    from wallet.errors import TransactionRevertedError

    cid = entry.commit_id or 0
    if m.market.order(cid) is not None:
        m.journal.mark_revealed(entry.commitment, cid)
        return _Outcome(entry, f"was revealed by another sender (order {hex(cid)} is in the book)")
    if m.market.commitment(cid) is None:
        m.journal.mark_reclaimed(entry.commitment, "reclaimed by another sender")
        return _Outcome(entry, "reclaimed already by another sender")
    try:
        receipt = m.send().transact(m.market.reclaim_commitment(cid))
    except TransactionRevertedError as exc:
        raise MarketCommandError(
            f"{_describe(entry)}: reclaim refused: {plain_words(exc, m.decimals)}"
        ) from None
    (event,) = m.market.events(receipt, "CommitmentForfeited")
    args = event["args"]
    refund, refund_wh, bond = int(args["refundMoney"]), int(args["refundWh"]), int(args["bond"])
    m.journal.mark_reclaimed(entry.commitment, "not revealed in the reveal window")
    text = (
        f"reclaimed, {m.eur(refund)} EUR and {refund_wh} Wh back to the vault, "
        f"bond {m.eur(bond)} EUR forfeited"
    )
    fields = {"refund_money": refund, "refund_wh": refund_wh, "bond": bond}
    return _Outcome(entry, text, fields)


# ------------------------------------------------------------------------------- reading
@app.command("commitments")
@option_groups
def commitments(
    where: MarketAndJournal,
    slot: SlotFilter = None,
    json_out: JsonFlag = False,
) -> None:
    """The journal's orders on this market with their state (intent, committed, revealed,
    reclaimed, failed) and reveal windows; an intent is settled from the chain first."""
    m = where.open(None)
    now = m.now()
    rows = [_row(m, e, now) for e in _settle_intents(m, m.entries(slot), now)]
    if json_out:
        print_json({"market": m.market.address, "chain_id": m.chain_id, "now": now,
                    "commitments": rows})  # fmt: skip
        return
    if not rows:
        console.print("no commitments in the journal for this market")
    for row in rows:
        console.print(
            f"slot {row['slot']}  {row['side']:4}  {row['qty_wh']} Wh at "
            f"{row['price_eur_per_kwh']} EUR/kWh  {row['status']:9}  locked {row['locked_eur']} "
            f"EUR + {row['locked_wh']} Wh  reveal {utc(row['reveal_opens_after'])} .. "
            f"{utc(row['reveal_closes_at'])} ({row['reveal_window']})",
            highlight=False,
        )


@app.command("export-secrets")
def export_secrets(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The backup file (JSON, 0600).")],
    journal: JournalFile = None,
    json_out: JsonFlag = False,
) -> None:
    """Back up the salts of every open commitment (all markets) to FILE: keep it private.

    Without its salt a commitment cannot be revealed and forfeits its bond.
    """
    from energychain.commitment_journal import CommitmentJournal

    path = journal_path(journal)
    if not path.is_file():
        raise MarketCommandError(f"no commitment journal at {path}")
    with CommitmentJournal(path) as opened:
        count = opened.export(file)
    if json_out:
        print_json({"file": str(file), "commitments": count, "journal": str(path)})
        return
    console.print(f"{count} open commitment(s) with their salts written to {file}", highlight=False)
