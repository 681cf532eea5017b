"""``enerwise wallet agent``: grant, revoke and list agent keys on the market contract.

Amounts as the dApp takes them: the daily budget in EUR (the payment token's unit), the daily
sell limit in kWh, the price bounds in EUR per kWh; base units, Wh and ticks remain options of
their own for scripts. Both daily limits are rolling: the agent's use falls by one daily limit
per 24 hours, and revoking or granting again does not reset it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from enerwise.cli.amounts import (
    decimal_amount,
    money_base_units,
    money_text,
    one_of,
    price_tick,
)
from enerwise.cli.connection import DeployedOn
from enerwise.cli.console import confirm, console
from enerwise.cli.options import (
    JsonFlag,
    SigningKey,
    YesFlag,
    deprecated,
    option_groups,
)
from enerwise.cli.output import print_json
from enerwise.errors import OptionError

if TYPE_CHECKING:
    from energychain.delegation import AgentGrant
    from energychain.deploy import EnergyChain
    from wallet.transactions import TransactionSender

app = typer.Typer(help="Delegate bounded trading to agent keys.", no_args_is_help=True)


@dataclass(frozen=True)
class _Owner:
    sender: TransactionSender
    contracts: EnergyChain


def _owner(on: DeployedOn, key: SigningKey) -> _Owner:
    w3, sender, deployment = on.reach_as(key, "Owner's password: ")
    return _Owner(sender, deployment.contracts(w3))


def _decimal(text: str | None, option: str) -> Decimal | None:
    return None if text is None else decimal_amount(text, option)


@app.command("grant")
@option_groups
def grant(
    agent: Annotated[str, typer.Option("--agent", help="The agent's address.")],
    expiry: Annotated[str, typer.Option("--expiry", help="ISO 8601 time (UTC if no zone).")],
    key: SigningKey,
    on: DeployedOn,
    budget_eur_per_day: Annotated[
        str | None,
        typer.Option(
            metavar="AMOUNT",
            help="Budget (buy escrow the agent may commit), EUR per rolling day; 0: no buys.",
        ),
    ] = None,
    budget_base_units_per_day: Annotated[
        int | None,
        typer.Option(min=0, help="The daily budget in base units of the payment token instead."),
    ] = None,
    sell_kwh_per_day: Annotated[
        str | None,
        typer.Option(
            metavar="KWH", help="Sell limit (energy the agent may offer), kWh per rolling day."
        ),
    ] = None,
    sell_wh_per_day: Annotated[
        int | None, typer.Option(min=0, help="The sell limit in Wh instead (default: no sells).")
    ] = None,
    max_buy_eur_per_kwh: Annotated[
        str | None,
        typer.Option(metavar="PRICE", help="Highest price the agent may buy at, EUR/kWh."),
    ] = None,
    max_buy_tick: Annotated[
        int | None, typer.Option(min=0, help="The highest buy price as a tick instead.")
    ] = None,
    min_sell_eur_per_kwh: Annotated[
        str | None,
        typer.Option(metavar="PRICE", help="Lowest price the agent may sell at, EUR/kWh."),
    ] = None,
    min_sell_tick: Annotated[
        int | None, typer.Option(min=0, help="The lowest sell price as a tick instead.")
    ] = None,
    budget_per_day: Annotated[int | None, typer.Option(hidden=True)] = None,
    yes: YesFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Authorize an agent key to trade for the owner within daily limits and price bounds.

    Granting again replaces the bounds; the use so far still counts. The agent may place,
    cancel and claim for the owner, never withdraw.
    """
    from energychain.delegation import AgentGrant, parse_address, parse_expiry

    base_budget = deprecated(
        budget_base_units_per_day, budget_per_day, "--budget-per-day", "--budget-base-units-per-day"
    )
    one_of(budget_eur_per_day, base_budget, "--budget-eur-per-day", "--budget-base-units-per-day")
    one_of(max_buy_eur_per_kwh, max_buy_tick, "--max-buy-eur-per-kwh", "--max-buy-tick")
    one_of(min_sell_eur_per_kwh, min_sell_tick, "--min-sell-eur-per-kwh", "--min-sell-tick")
    if sell_kwh_per_day is not None and sell_wh_per_day is not None:
        raise OptionError("give at most one of --sell-kwh-per-day or --sell-wh-per-day")
    sell_wh = (
        _wh(decimal_amount(sell_kwh_per_day, "--sell-kwh-per-day"), "--sell-kwh-per-day")
        if sell_kwh_per_day is not None
        else int(sell_wh_per_day or 0)
    )
    budget_eur = _decimal(budget_eur_per_day, "--budget-eur-per-day")
    max_buy = _decimal(max_buy_eur_per_kwh, "--max-buy-eur-per-kwh")
    min_sell = _decimal(min_sell_eur_per_kwh, "--min-sell-eur-per-kwh")
    address, until = parse_address(agent, "agent"), parse_expiry(expiry)
    owner = _owner(on, key)
    market = owner.contracts.market
    params, decimals = market.params(), owner.contracts.payment.decimals()
    for tick, option in ((max_buy_tick, "--max-buy-tick"), (min_sell_tick, "--min-sell-tick")):
        if tick is not None and tick > params.max_tick:
            raise OptionError(f"{option}: {tick} is above the market's max tick {params.max_tick}")
    request = AgentGrant(
        agent=address,
        budget_per_day=(
            money_base_units(budget_eur, decimals, "--budget-eur-per-day")
            if budget_eur is not None
            else int(base_budget or 0)
        ),
        max_buy_tick=(
            price_tick(max_buy, params, decimals, "--max-buy-eur-per-kwh", side="buy")
            if max_buy is not None
            else int(max_buy_tick or 0)
        ),
        min_sell_tick=(
            price_tick(min_sell, params, decimals, "--min-sell-eur-per-kwh", side="sell")
            if min_sell is not None
            else int(min_sell_tick or 0)
        ),
        expiry=until,
        sell_wh_per_day=sell_wh,
    )
    _send_grant(owner, request, params, decimals, expiry, yes=yes, json_out=json_out)


def _send_grant(
    owner: _Owner,
    request: AgentGrant,
    params: Any,
    decimals: int,
    expiry: str,
    *,
    yes: bool,
    json_out: bool,
) -> None:
    """Show the grant's bounds in EUR, confirm, send it and report it."""
    from energychain.delegation import grant_agent

    shown = _bounds(request.budget_per_day, request.max_buy_tick, request.min_sell_tick,
                    params, decimals)  # fmt: skip
    plan = (
        f"grant {request.agent} for {owner.sender.address}: budget "
        f"{shown['budget_eur_per_day']} EUR "
        f"and sells of {request.sell_wh_per_day} Wh per rolling day, buy at most "
        f"{shown['max_buy_eur_per_kwh']} EUR/kWh (tick "
        f"{request.max_buy_tick}), sell at least {shown['min_sell_eur_per_kwh']} EUR/kWh (tick "
        f"{request.min_sell_tick}), until {expiry}"
    )
    confirm("Send the grant?", yes=yes, plan=[plan])
    receipt = grant_agent(owner.sender, owner.contracts.market, request)
    if json_out:
        print_json(
            {
                "agent": request.agent,
                "owner": owner.sender.address,
                "budget_per_day": request.budget_per_day,
                "sell_wh_per_day": request.sell_wh_per_day,
                "max_buy_tick": request.max_buy_tick,
                "min_sell_tick": request.min_sell_tick,
                **shown,
                "expiry": request.expiry,
                "tx": receipt["transactionHash"].to_0x_hex(),
            }
        )
    else:
        console.print(f"agent {request.agent} authorized for {owner.sender.address}")


def _wh(kwh: Decimal, option: str) -> int:
    """``kwh`` in whole Wh, exactly."""
    wh = kwh * 1000
    if wh != wh.to_integral_value():
        raise OptionError(f"{option}: {kwh} kWh is not a whole number of Wh")
    return int(wh)


def _bounds(
    budget: int, max_buy_tick: int, min_sell_tick: int, params: Any, decimals: int
) -> dict[str, str]:
    """A delegation's bounds in EUR (strings: exact decimals)."""

    def eur(units: int) -> str:
        return money_text(units, decimals)

    price = params.price_floor
    return {
        "budget_eur_per_day": eur(budget),
        "max_buy_eur_per_kwh": eur(price + min(max_buy_tick, params.max_tick) * params.tick_size),
        "min_sell_eur_per_kwh": eur(price + min(min_sell_tick, params.max_tick) * params.tick_size),
    }


@app.command("revoke")
@option_groups
def revoke(
    agent: Annotated[str, typer.Argument(metavar="ADDR", help="The agent's address.")],
    key: SigningKey,
    on: DeployedOn,
    yes: YesFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Revoke an agent key at once."""
    from energychain.delegation import parse_address, revoke_agent

    address = parse_address(agent, "agent")
    owner = _owner(on, key)
    confirm(f"Revoke agent {address} of {owner.sender.address}?", yes=yes)
    receipt = revoke_agent(owner.sender, owner.contracts.market, address)
    if json_out:
        print_json(
            {
                "agent": address,
                "owner": owner.sender.address,
                "tx": receipt["transactionHash"].to_0x_hex(),
            }
        )
        return
    console.print(f"agent {address} revoked")


@app.command("list")
@option_groups
def list_command(
    owner: Annotated[str, typer.Option("--owner", help="The owner's address.")],
    on: DeployedOn,
    json_out: JsonFlag = False,
) -> None:
    """The owner's agent keys with their bounds (EUR, Wh and ticks) and their use now."""
    from energychain.delegation import list_delegations, parse_address

    owner_address = parse_address(owner, "owner")
    w3, deployment = on.reach()
    contracts = deployment.contracts(w3)
    params, decimals = contracts.market.params(), contracts.payment.decimals()
    now = int(w3.eth.get_block("latest")["timestamp"])
    rows = []
    for d in list_delegations(contracts.market, owner_address, deployment.block_number):
        row = d.as_dict(now)
        shown = _bounds(row["budget_per_day"], row["max_buy_tick"], row["min_sell_tick"],
                        params, decimals)  # fmt: skip
        spent = money_text(row["spent"], decimals)
        rows.append({**row, **shown, "spent_eur": spent})
    if json_out:
        print_json({"owner": owner_address, "agents": rows})
        return
    if not rows:
        console.print("no agent keys")
    for row in rows:
        state = "active" if row["active"] else "expired"
        console.print(
            f"{row['agent']}  budget {row['budget_eur_per_day']} EUR/day (in use "
            f"{row['spent_eur']})  sells {row['sell_wh_per_day']} Wh/day (in use "
            f"{row['sold_wh']})  buy <= {row['max_buy_eur_per_kwh']} EUR/kWh  "
            f"sell >= {row['min_sell_eur_per_kwh']} EUR/kWh  until {row['expiry']}  {state}",
            highlight=False,
        )
