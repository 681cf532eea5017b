"""The soak's community: households with MQTT meters, one agent, the sellers' gateways.

Set-up (once, before any fault): EnergyChain deployed on the soak's anvil, one funded account
and one registered meter per household, the agent household's vault deposit and delegation,
and the files the services read (deployment record, ``oracle.yaml``, the agent's keystore).

During the soak the driver plays what stands outside the system under test:

- :class:`MeterBoard`: every household's meter publishes its registers to the soak's Mosquitto
  (Tasmota ``tele/<name>/SENSOR`` payloads), from a seeded load and PV profile;
- :class:`Gateways`: the PV households' gateways move freshly minted tokens into the vault and
  offer them at the floor tick, idempotent by construction (they act on what the chain holds:
  a retried step after an outage never offers the same Wh twice), and clear slots past their
  gate closure that nobody cleared.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devchain.sandbox import GAS_ERC1155_TRANSFER, GAS_PER_ORDER, Participant, Sandbox
from energychain.delegation import AgentGrant, grant_request
from oracles.readings import meter_id_from_name
from wallet.signer import LocalKeySigner

METER_CAPACITY_WH = 100_000

AGENT_SELL_WH_PER_DAY = 96 * METER_CAPACITY_WH
"""The agent's daily sell limit: every slot of a day at the meter's capacity (the soak measures
throughput, not the limit)."""
"""Registered capacity per slot: far above any profile, so plausibility never rejects."""
DEPOSIT = 500_000_000
"""The agent owner's vault money (500 EUR of the 6-decimal test euro)."""
SLOT_SECONDS = 900


@dataclass
class Member:
    """One household: its owner's account, its meter and its profile."""

    name: str
    account: Participant
    meter_key: LocalKeySigner
    pv_peak_wh: int
    load_wh: int
    import_wh: float = 0.0
    export_wh: float = 0.0

    @property
    def meter_id(self) -> bytes:
        return meter_id_from_name(self.name)

    @property
    def topic(self) -> str:
        return f"tele/{self.name}/SENSOR"


@dataclass
class Community:
    sandbox: Sandbox
    members: list[Member]
    agent_owner: Member
    agent_key: LocalKeySigner
    relayer: LocalKeySigner
    files: dict[str, Path]

    @property
    def sellers(self) -> list[Member]:
        return [m for m in self.members if m.pv_peak_wh > 0]


def build_community(
    sandbox: Sandbox,
    folder: Path,
    *,
    seed: int,
    households: int,
    mqtt_port: int,
    rpc_url: str,
    grant_expiry: int,
) -> Community:
    """Accounts, meters, the agent's delegation, and the services' files (see the module)."""
    rng = random.Random(f"soak-community:{seed}")
    members: list[Member] = []
    for i in range(households):
        account = sandbox.new_participant()
        members.append(
            Member(
                name=f"soak-{seed}-house-{i}",
                account=account,
                meter_key=LocalKeySigner(sandbox.random_bytes(32)),
                pv_peak_wh=rng.randint(300, 900) if i % 2 == 1 else 0,
                load_wh=rng.randint(60, 250),
            )
        )
    registry, market = sandbox.contracts.registry, sandbox.contracts.market
    sandbox.admin.send_batch(
        [
            registry.register_meter(
                m.meter_id, m.account.address, m.meter_key.address, METER_CAPACITY_WH, gas=150_000
            )
            for m in members
        ]
    )
    owner = members[0]
    agent_key = LocalKeySigner(sandbox.random_bytes(32))
    sandbox.dev.fund(agent_key.address, 10**19)
    payment = sandbox.contracts.payment
    grant = AgentGrant(
        agent=agent_key.address,
        budget_per_day=DEPOSIT,
        sell_wh_per_day=AGENT_SELL_WH_PER_DAY,
        max_buy_tick=int(sandbox.params.max_tick),
        min_sell_tick=0,
        expiry=grant_expiry,
    )
    owner.account.sender.send_batch(
        [
            payment.mint(owner.account.address, DEPOSIT, gas=120_000),
            payment.approve(market.address, DEPOSIT, gas=120_000),
            market.deposit(DEPOSIT, gas=150_000),
            grant_request(market, grant, gas=150_000),
        ]
    )
    relayer = LocalKeySigner(sandbox.random_bytes(32))
    sandbox.dev.fund(relayer.address, 10**20)
    files = _write_files(sandbox, folder, members, agent_key, relayer, mqtt_port, rpc_url)
    return Community(sandbox, members, owner, agent_key, relayer, files)


def _write_files(
    sandbox: Sandbox,
    folder: Path,
    members: list[Member],
    agent_key: LocalKeySigner,
    relayer: LocalKeySigner,
    mqtt_port: int,
    rpc_url: str,
) -> dict[str, Path]:
    from eth_account import Account
    from eth_typing import HexStr

    keys = folder / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    deployment = sandbox.deployment.save(folder / "deployment.json")
    (keys / "relayer.key").write_text(_hex_key(relayer) + "\n")
    meters: list[dict[str, Any]] = []
    for m in members:
        key_file = keys / f"{m.name}.key"
        key_file.write_text(_hex_key(m.meter_key) + "\n")
        meters.append(
            {
                "name": m.name,
                "key": {"key_file": str(key_file)},
                "source": {
                    "kind": "mqtt",
                    "broker": f"127.0.0.1:{mqtt_port}",
                    "topic": m.topic,
                    "format": "tasmota",
                    "client_id": "soak-oracle",
                    # the chain's clock jumps a slot at a time: a sample is "received" at the
                    # previous boundary's chain time
                    "max_age": 3 * SLOT_SECONDS,
                },
            }
        )
    oracle = {
        "chain": {
            "rpc_url": rpc_url,
            "deployment": str(deployment),
            "relayer": {"key_file": str(keys / "relayer.key")},
            "batch_size": 50,
        },
        "outbox": str(folder / "oracle" / "outbox.sqlite"),
        "archive": {"dir": str(folder / "oracle" / "archive")},
        "validation": {"max_sample_age": 3 * SLOT_SECONDS, "max_clock_skew": 3 * SLOT_SECONDS},
        "read_delay": 0,
        "meters": meters,
    }
    oracle_file = folder / "oracle.yaml"
    oracle_file.write_text(json.dumps(oracle, indent=1))  # JSON is YAML
    password = folder / "agent-password.txt"
    password.write_text("soak\n")
    keystore = keys / "agent.json"
    document = Account.encrypt(HexStr(_hex_key(agent_key)), "soak", iterations=2**12)
    keystore.write_text(json.dumps(document))
    return {
        "deployment": deployment,
        "oracle": oracle_file,
        "agent_keystore": keystore,
        "agent_password": password,
        "agent_state": folder / "agent" / "state.json",
    }


def _hex_key(signer: LocalKeySigner) -> str:
    return "0x" + bytes(signer._account.key).hex()


# ---------------------------------------------------------------------------------- meters
def pv_share(timestamp: int) -> float:
    """PV output as a share of the peak at ``timestamp`` (a clear day, 06:00-20:00 UTC+1)."""
    hour = ((timestamp + 3_600) % 86_400) / 3_600
    if not 6.0 <= hour <= 20.0:
        return 0.0
    return math.sin(math.pi * (hour - 6.0) / 14.0)


class MeterBoard:
    """Every household's meter: registers advanced per slot, published over MQTT."""

    def __init__(self, members: list[Member], port: int, seed: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.members = members
        self._rng = random.Random(f"soak-meters:{seed}")
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"soak-meters-{seed}", clean_session=True
        )
        self.client.reconnect_delay_set(1, 2)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def advance(self, slot_start: int) -> None:
        """Add the slot starting at ``slot_start`` to every meter's registers."""
        share = pv_share(slot_start + SLOT_SECONDS // 2)
        for m in self.members:
            load = m.load_wh * self._rng.uniform(0.6, 1.4)
            pv = m.pv_peak_wh * share * self._rng.uniform(0.8, 1.0)
            m.import_wh += max(load - pv, 0.0)
            m.export_wh += max(pv - load, 0.0)

    def publish(self) -> None:
        """Each meter's registers now (kWh with 3 decimals, as Tasmota does); a broker that is
        down loses them, and the next publication carries the registers again."""
        for m in self.members:
            payload = {
                "ENERGY": {
                    "Total": round(math.floor(m.import_wh) / 1000, 3),
                    "ExportActive": round(math.floor(m.export_wh) / 1000, 3),
                    "Power": 0,
                }
            }
            self.client.publish(m.topic, json.dumps(payload), qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# ---------------------------------------------------------------------------------- gateways
class Gateways:
    """The PV households' gateways and a clearing keeper (see the module docstring)."""

    def __init__(self, community: Community) -> None:
        self.community = community
        self.sandbox = community.sandbox
        self.offered = 0

    def step(self, now: int) -> None:
        """Move minted tokens of the last slots into the vault and offer them; clear."""
        sandbox = self.sandbox
        token, market = sandbox.contracts.token, sandbox.contracts.market
        current = sandbox.calendar.slot_of(now)
        for member in self.community.sellers:
            owner = member.account.address
            for slot in (current - 2, current - 1):
                if now >= market.gate_closure(slot):
                    continue
                wallet = int(token.balance_of(owner, slot))
                if wallet > 0:
                    member.account.sender.transact(
                        token.transfer(
                            owner, market.address, slot, wallet, gas=GAS_ERC1155_TRANSFER
                        )
                    )
                vault = int(market.energy_balance_of(owner, slot))
                if vault >= sandbox.params.min_order_wh:
                    member.account.sender.transact(
                        market.place_order(owner, slot, False, 0, vault, gas=GAS_PER_ORDER + 60_000)
                    )
                    self.offered += 1
        self.clear_due(now)

    def clear_due(self, now: int) -> None:
        market = self.sandbox.contracts.market
        current = self.sandbox.calendar.slot_of(now)
        for slot in range(current - 6, current):
            if slot < self.sandbox.calendar.slot_of(self.sandbox.calendar.epoch):
                continue
            if now < market.gate_closure(slot) or market.clearing(slot).cleared:
                continue
            self.sandbox.admin.transact(market.clear(slot))  # estimated: O(non-empty ticks)


def claim_cleared(sandbox: Sandbox) -> int:
    """Claim every order of a cleared slot that nobody claimed or cancelled (anyone may claim
    for its owner); returns how many were claimed. The day's end: the identities that compare
    bought with sold Wh hold once every cleared order is claimed."""
    from energychain.events import EventReader

    market = sandbox.contracts.market
    events = EventReader(market)
    first = sandbox.deployment.block_number
    done = {int(e["args"]["orderId"]) for e in events.read("OrderClaimed", first)}
    done |= {int(e["args"]["orderId"]) for e in events.read("OrderCancelled", first)}
    cleared = {int(e["args"]["slot"]) for e in events.read("SlotCleared", first)}
    due = [
        int(e["args"]["orderId"])
        for e in events.read("OrderPlaced", first)
        if int(e["args"]["slot"]) in cleared and int(e["args"]["orderId"]) not in done
    ]
    if due:
        sandbox.claim(due)
    return len(due)
