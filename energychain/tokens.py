"""The two tokens of a market: the ERC-1155 energy token and the ERC-20 payment token."""

from __future__ import annotations

from energychain.contracts import ContractHandle
from energychain.units import BaseUnits, Wh
from wallet.transactions import TxRequest


class EnergyToken(ContractHandle):
    """The EnergyToken: one ERC-1155 id per slot, 1 unit = 1 Wh, minted by the registry."""

    def balance_of(self, holder: str, slot: int) -> Wh:
        return Wh(int(self.call("balanceOf", holder, slot)))

    def total_supply(self, slot: int) -> Wh:
        return Wh(int(self.call("totalSupply", slot)))

    def imported_wh(self, holder: str, slot: int) -> Wh:
        """What ``holder``'s meter recorded as import in ``slot`` (``importedWh``)."""
        return Wh(int(self.call("importedWh", holder, slot)))

    def is_approved_for_all(self, holder: str, operator: str) -> bool:
        """Whether ``operator`` may move ``holder``'s energy tokens (ERC-1155 approval)."""
        return bool(self.call("isApprovedForAll", holder, operator))

    def set_approval_for_all(
        self, operator: str, approved: bool, gas: int | None = None
    ) -> TxRequest:
        """``setApprovalForAll``: the sender lets ``operator`` move its energy tokens (a
        gateway's key moving minted tokens into the vault) or stops it."""
        return self.request("setApprovalForAll", operator, approved, gas=gas)

    def transfer(
        self,
        sender: str,
        to: str,
        slot: int,
        qty_wh: Wh | int,
        gas: int | None = None,
    ) -> TxRequest:
        """``safeTransferFrom`` of ``qty_wh`` ``slot`` tokens (into the market: a vault deposit)."""
        return self.request("safeTransferFrom", sender, to, slot, qty_wh, b"", gas=gas)

    def redeem(self, slot: int, qty_wh: Wh | int, gas: int | None = None) -> TxRequest:
        """``redeem``: burn ``qty_wh`` of the sender's ``slot`` tokens against metered import."""
        return self.request("redeem", slot, qty_wh, gas=gas)


class PaymentToken(ContractHandle):
    """The ERC-20 the market settles in (``TestEuro`` on local chains: anyone may mint)."""

    def decimals(self) -> int:
        return int(self.call("decimals"))

    def balance_of(self, account: str) -> BaseUnits:
        return BaseUnits(int(self.call("balanceOf", account)))

    def approve(self, spender: str, amount: BaseUnits | int, gas: int | None = None) -> TxRequest:
        return self.request("approve", spender, amount, gas=gas)

    def mint(self, to: str, amount: BaseUnits | int, gas: int | None = None) -> TxRequest:
        """``TestEuro.mint`` (test token only)."""
        return self.request("mint", to, amount, gas=gas)
