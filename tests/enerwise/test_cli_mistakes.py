"""Every command of ``enerwise`` meets a user's mistake with one line and no traceback: a
missing file, a wrong password, an unreachable node, a database never migrated, a value out of
range. Each command is listed with its mistakes (or with why it takes no input a user can get
wrong); a command added without an entry fails ``test_every_command_is_tried``.

The commands run in process through the console entry point (``main``), as a user's shell
would run them, with stdout and stderr captured.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from chain.local_node import ANVIL_DEV_KEYS, start_anvil
from enerwise.cli import app
from tests.enerwise.test_cli_grammar import ALL
from tests.in_process import forget_log_handlers, run_main
from wallet.keystore import Keystore

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0
DOWN = "http://127.0.0.1:9"  # the discard port: nothing answers JSON-RPC there

NO_INPUT = {
    "chain compile": "compiles the repository's contracts; no user input",
    "chain up": "starts its own node on a free port",
    "chain down": "stops what `chain up` started",
    "chain status": "reports what runs",
    "grid networks": "lists the shipped networks",
    "bench gas": "measures on its own fresh node",
    "bench oracle": "measures on its own fresh node",
    "bench indexer": "measures on its own nodes and databases",
    "bench device": "measures on its own simulated devices",
}


@dataclass(frozen=True)
class Mistake:
    """A command line with one mistake in it, and what its one line must say."""

    kind: str
    args: str
    says: str


# fmt: off
OPERATOR_SIGNING = (
    "deploy", "pause", "unpause", "set-fee", "clear-due",
    f"meter add --owner {ADDRESS} --id m1 --kind pv --capacity-w 5000 --signer {ADDRESS}",
    "meter import {meters_csv}",
    f"meter rotate-key --id m1 --signer {ADDRESS}",
    "meter deactivate --id m1",
    f"role grant pauser {ADDRESS}",
    f"role revoke pauser {ADDRESS}",
    f"admin transfer {ADDRESS}", "admin accept", "admin cancel",
)
OPERATOR_READING = (
    "status", "billing --month 2026-11", "meter list", "role list", "admin status",
)
GRANT = "wallet agent grant --agent 0x000000000000000000000000000000000000a11c --expiry 2099-01-01"

MISTAKES = [
    # ------------------------------------------------------------------- a missing file
    Mistake("missing file", "auction clear --orders {tmp}/none.json", "none.json: no such file"),
    Mistake("missing file", "forecast train --chosen-by {tmp}/none.json",
            "none.json: no such file"),
    Mistake("missing file", "agent eval --learned mpc_book_learned --book-model {tmp}/none.json",
            "--book-model: no model file"),
    Mistake("missing file", "agent eval --learned mpc_book_ensemble --book-ensemble "
            "{tmp}/none.json", "--book-ensemble: no model file"),
    Mistake("missing file", "operator check -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "operator status -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "operator deploy -c {tmp}/none.yaml --keystore {key}", "cannot be"),
    Mistake("missing file", "operator meter import {tmp}/none.csv --keystore {key} -c {local}",
            "none.csv cannot be read"),
    Mistake("missing file", "oracle run -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "oracle status -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "oracle release m1 -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "oracle verify bafy -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "devices check -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "devices read -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "devices run -c {household} --plan {tmp}/none.json", "none.json"),
    Mistake("missing file", "indexer migrate -c {tmp}/none.yaml", "none.yaml does not exist"),
    Mistake("missing file", "indexer verify -c {tmp}/none.yaml", "none.yaml does not exist"),
    Mistake("missing file", "chain deploy --keystore {tmp}/none.json --rpc-url {anvil}",
            "none.json"),
    Mistake("missing file", "wallet import --private-key-file {tmp}/none.txt "
            "--keystore-dir {tmp}/k2 --password-file {wrong}", "none.txt does not exist"),
    Mistake("missing file", "wallet new --keystore-dir {tmp}/k3 --password-file {tmp}/none.txt",
            "none.txt does not exist"),
    Mistake("missing file", "wallet sign-typed-data --keystore {key} --data {tmp}/none.json "
            "--password-file {wrong}", "none.json cannot be read"),
    Mistake("missing file", "wallet show 0x90F79bf6EB2c4f870365E785982E1f101E93b906 "
            "--keystore-dir {keys}", "no keystore for 0x90F7"),
    Mistake("missing file", "wallet list --keystore-dir {wrong}", "is not a folder"),
    Mistake("missing file", f"agent run --keystore {{tmp}}/none.json --owner {ADDRESS}",
            "no keystore at"),
    Mistake("missing file", "agent run -c {tmp}/none.yaml", "none.yaml cannot be read"),
    Mistake("missing file", "agent eval --quick --ppo {tmp}/none.zip", "--ppo: no model file"),
    Mistake("missing file", "agent eval-community --shared {tmp}/none.onnx",
            "--shared: no model file"),
    Mistake("missing file", "agent export-onnx --model {tmp}/none.zip", "none.zip"),
    Mistake("missing file", "agent export-onnx --algo book_model --model {tmp}/none.json",
            "none.json: no such file"),
    Mistake("missing file", "agent export-onnx --algo book_model",
            "name the book model's .json"),
    Mistake("missing file", "agent export-onnx --algo book_model --model {tmp}/none.onnx "
            "--pricing scenarios", "none.onnx: no such file"),
    Mistake("missing file", "agent run --keystore {key} --owner " + ADDRESS
            + " --policy {tmp}/none.onnx", "none.onnx"),
    Mistake("missing file", "indexer openapi --output {wrong}/api.json", "wrong.txt: file exists"),
    Mistake("missing file", "market export-secrets {tmp}/out.json --journal {tmp}/none.sqlite3",
            "no commitment journal at"),
    # ------------------------------------------------------------------- a wrong password
    Mistake("wrong password", "wallet export-public {key} --password-file {wrong}",
            "wrong password"),
    Mistake("wrong password", "wallet passwd {key} --password-file {wrong} "
            "--new-password-file {wrong}", "wrong password"),
    Mistake("wrong password", "wallet delete {key} --password-file {wrong} --yes",
            "wrong password"),
    Mistake("wrong password", "wallet sign-typed-data --keystore {key} --data {typed} "
            "--password-file {wrong}", "wrong password"),
    Mistake("wrong password", "chain deploy --keystore {key} --password-file {wrong} "
            "--rpc-url {anvil}", "wrong password"),
    Mistake("wrong password", f"{GRANT} --budget-eur-per-day 5 --max-buy-eur-per-kwh 0.3 "
            "--min-sell-eur-per-kwh 0.1 --keystore {key} --password-file {wrong} "
            "--rpc-url {anvil}", "wrong password"),
    Mistake("wrong password", "wallet agent revoke 0x000000000000000000000000000000000000a11c "
            "--keystore {key} --password-file {wrong} --rpc-url {anvil}", "wrong password"),
    *(Mistake("wrong password", f"operator {command} --keystore {{key}} "
              "--password-file {wrong} -c {local}", "wrong password")
      for command in OPERATOR_SIGNING),
    Mistake("wrong password", "market reveal --keystore {key} --password-file {wrong} "
            "--rpc-url {anvil}", "wrong password"),
    # ------------------------------------------------------------------- an unreachable node
    *(Mistake("unreachable node", f"operator {command} --keystore {{key}} -c {{offline}}",
              "cannot reach")
      for command in OPERATOR_SIGNING),
    *(Mistake("unreachable node", f"operator {command} -c {{offline}}", "cannot reach")
      for command in OPERATOR_READING),
    Mistake("unreachable node", f"chain deploy --keystore {{key}} --rpc-url {DOWN}",
            "cannot reach"),
    Mistake("unreachable node", f"wallet agent list --owner {ADDRESS} --rpc-url {DOWN}",
            "cannot reach"),
    Mistake("unreachable node", f"agent run --keystore {{key}} --owner {ADDRESS} "
            f"--rpc-url {DOWN}", "cannot reach"),
    Mistake("unreachable node", f"oracle verify bafy --rpc-url {DOWN} --registry {ADDRESS}",
            "cannot reach"),
    Mistake("unreachable node", f"indexer run --rpc-url {DOWN} --once "
            "--database-url {empty_db}", "127.0.0.1:9"),
    Mistake("unreachable node", "oracle read --modbus 127.0.0.1:9 --timeout 1", "cannot connect"),
    Mistake("unreachable node", "oracle listen --mqtt 127.0.0.1:9 --topic t --timeout 2",
            "cannot connect"),
    Mistake("unreachable node", "indexer migrate "
            "--database-url postgresql://user:secret@127.0.0.1:9/db", "cannot be opened"),
    Mistake("unreachable node", f"market reclaim --keystore {{key}} --rpc-url {DOWN}",
            "cannot reach"),
    Mistake("unreachable node", f"market commitments --rpc-url {DOWN}", "cannot reach"),
    # ------------------------------------------------------------------- an unmigrated database
    Mistake("unmigrated database", f"indexer verify --database-url {{empty_db}} --rpc-url {DOWN}",
            "run `enerwise indexer migrate`"),
    Mistake("unmigrated database", f"indexer serve --database-url {{empty_db}} --rpc-url {DOWN}",
            "run `enerwise indexer migrate`"),
    # ------------------------------------------------------------------- a value gone wrong
    Mistake("bad value", f"operator init -c {{tmp}}/new.yaml --name a --admin {ADDRESS}",
            "--retail-eur-per-kwh: the tariff is required"),
    Mistake("bad value", "operator billing --month 2026-13 -c {offline}", "is not YYYY-MM"),
    Mistake("bad value", "agent train --algo nope", "invalid option algo"),
    Mistake("bad value", "forecast eval --validation-from 12", "validation_from_month"),
    Mistake("bad value", "forecast train --rounds 5", "Invalid value for '--rounds'"),
    Mistake("bad value", "agent eval --learned mpc_book_ensemble", "needs its model files"),
    Mistake("bad value", "agent eval --learned ppo --book-ensemble {wrong}",
            "--book-ensemble is read only with --learned mpc_book_ensemble"),
    Mistake("bad value", "agent eval --learned ppo --book-shrink 0.5",
            "--book-shrink is read only with --learned mpc_book_learned"),
    Mistake("bad value", "agent eval --learned mpc_book_learned --book-model {wrong} "
            "--book-shrink 1.5", "book_shrink"),
    Mistake("bad value", "agent train --algo book_model --shrink 0.5,0.5", "--shrink"),
    Mistake("bad value", "agent train --algo book_model --market dark", "invalid option market"),
    Mistake("bad value", "agent train --algo ppo --market sealed",
            "--market sealed is read only with --algo book_model"),
    Mistake("bad value", "agent train --algo ppo --pricing halfway",
            "--pricing is read only with --algo book_model"),
    Mistake("bad value", "agent train --algo dqn --reach 0.5",
            "--reach is read only with --algo shared or book_model"),
    Mistake("bad value", "agent train --algo book_model --pricing guess",
            "invalid option pricing"),
    Mistake("bad value", "agent export-onnx --algo ppo --reach 0.5",
            "--pricing and --reach are read only with --algo book_model"),
    Mistake("bad value", "agent eval --learned ppo --book-pricing halfway",
            "--book-pricing is read only with --learned mpc_book_learned"),
    Mistake("bad value", "agent eval --learned mpc_book_learned --book-model {wrong} "
            "--book-pricing guess", "invalid option book_pricing"),
    Mistake("bad value", "agent eval --learned mpc_book_learned --book-model {wrong} "
            "--book-reach 2", "invalid option book_reach"),
    Mistake("bad value", f"agent run --keystore {{key}} --owner {ADDRESS} --forecast hindsight",
            "--forecast must be naive, lightgbm or validated"),
    Mistake("bad value", "devices simulate --write {tmp}/h.yaml --protocol nope", "--protocol"),
    Mistake("bad value", "oracle simulate", "give --modbus-port and/or --mqtt"),
    Mistake("bad value", "grid limits --network nope --slots 1", "unknown network 'nope'"),
    Mistake("bad value", "grid bench --network nope --slots 1", "unknown network 'nope'"),
    Mistake("bad value", "grid publish --network nope --slots 1", "unknown network 'nope'"),
    Mistake("bad value", "city --communities 2 --households 3 --day 2018-06-21 --network nope",
            "unknown network 'nope'"),
    Mistake("bad value", "grid publish --day 2018-13-01 --slots 1", "day must be YYYY-MM-DD"),
    Mistake("bad value", "grid publish --pool 0x12 --keystore {key}", "is not an address"),
    Mistake("bad value", "grid publish --keystore {key}", "give both, or neither"),
    Mistake("bad value", f"indexer run --pool 0x12 --rpc-url {DOWN} --once "
            "--database-url {empty_db}", "--pool: '0x12' is not an address"),
    Mistake("bad value", f"grid publish --pool {ADDRESS} --keystore {{key}} --rpc-url {{anvil}}",
            "no contract at"),
    Mistake("unreachable node", f"grid publish --pool {ADDRESS} --keystore {{key}} "
            f"--rpc-url {DOWN}", "cannot reach"),
    Mistake("bad value", "bench tx --count 0", "Invalid value for '--count'"),
    Mistake("bad value", "bench week --first-day 2018-02-30", "is not a date YYYY-MM-DD"),
    Mistake("bad value", "bench week --first-day 2018-12-28", "the week must lie inside 2018"),
    Mistake("bad value", "demo --day 13-45", "is not a day as MM-DD"),
    Mistake("bad value", "soak --hours 0", "Invalid value for '--hours'"),
    Mistake("bad value", "soak --pace-seconds 0.1", "Invalid value for '--pace-seconds'"),
    Mistake("bad value", "soak --faults-per-kind 0", "Invalid value for '--faults-per-kind'"),
    Mistake("bad value", "market commit --slot 1 --side hold --qty-wh 500 --tick 1 "
            "--keystore {key}", "Invalid value for '--side'"),
    Mistake("bad value", "market commit --slot 1 --side buy --qty-wh 0 --tick 1 "
            "--keystore {key}", "Invalid value for '--qty-wh'"),
    Mistake("no terminal, no --yes", "wallet delete {key}", "pass --yes to go ahead"),
    Mistake("bad value", f"{GRANT} --budget-eur-per-day 0,5 --max-buy-tick 1 --min-sell-tick 1 "
            "--keystore {key}", "write the number with a dot"),
    Mistake("bad value", f"{GRANT} --budget-eur-per-day 5 --budget-base-units-per-day 5 "
            "--max-buy-tick 1 --min-sell-tick 1 --keystore {key}",
            "give exactly one of --budget-eur-per-day"),
]
# fmt: on


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Files and endpoints the mistakes refer to; an anvil for the wrong-password cases."""
    tmp = tmp_path_factory.mktemp("mistakes")
    keys = tmp / "keys"
    key = Keystore(keys, scrypt_n=2**10).import_private_key(ANVIL_DEV_KEYS[0], "right").path
    (tmp / "wrong.txt").write_text("wrong\n")
    (tmp / "empty.sqlite3").write_bytes(b"")
    (tmp / "household.yaml").write_text("household: h1\n")
    (tmp / "meters.csv").write_text(f"id,owner,kind,capacity_w,signer\nm1,{ADDRESS},pv,5000,"
                                    f"{ADDRESS}\n")  # fmt: skip
    (tmp / "typed.json").write_text(TYPED_DATA)
    with start_anvil() as node:
        for name, url in (("offline.yaml", DOWN), ("local.yaml", node.rpc_url)):
            made = CliRunner().invoke(app, [
                "operator", "init", "-c", str(tmp / name), "--name", "mistakes",
                "--admin", ADDRESS, "--retail-eur-per-kwh", "0.32",
                "--feed-in-eur-per-kwh", "0.08", "--rpc-url", url,
            ])  # fmt: skip
            assert made.exit_code == 0, made.output
        yield {
            "tmp": str(tmp),
            "keys": str(keys),
            "key": str(key),
            "wrong": str(tmp / "wrong.txt"),
            "empty_db": f"sqlite:///{tmp / 'empty.sqlite3'}",
            "household": str(tmp / "household.yaml"),
            "meters_csv": str(tmp / "meters.csv"),
            "typed": str(tmp / "typed.json"),
            "offline": str(tmp / "offline.yaml"),
            "local": str(tmp / "local.yaml"),
            "anvil": node.rpc_url,
        }


TYPED_DATA = """{"types": {"EIP712Domain": [{"name": "name", "type": "string"}],
"Mail": [{"name": "body", "type": "string"}]}, "primaryType": "Mail",
"domain": {"name": "test"}, "message": {"body": "hello"}}"""


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> tuple[int, str, str]:
    forget_log_handlers().setLevel(logging.WARNING)
    return run_main(monkeypatch, capsys, *args)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: f"{m.kind}: {m.args[:60]}")
def test_a_mistake_is_one_line_and_no_traceback(
    mistake: Mistake,
    place: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = mistake.args.format(**place).split()
    code, _, err = _run(monkeypatch, capsys, args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code in (1, 2), err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and mistake.says in lines[0], lines[0]
    assert "Traceback" not in err


def test_every_command_is_tried() -> None:
    tried = {
        path for mistake in MISTAKES for path in ALL if (mistake.args + " ").startswith(path + " ")
    }
    untried = sorted(set(ALL) - tried - set(NO_INPUT))
    assert untried == []
    kinds = {m.kind for m in MISTAKES}
    assert {"missing file", "wrong password", "unreachable node", "unmigrated database"} <= kinds


def test_the_mistakes_test_sees_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug (not a user's mistake) keeps its traceback: the check above would catch it."""
    import enerwise.cli.chain as chain_cli

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(chain_cli, "_compile", broken)
    monkeypatch.setattr("chain.local_node.LocalChain.status", lambda self: None)
    with pytest.raises(RuntimeError, match="a bug"):
        _run(monkeypatch, capsys, ["chain", "up"])
