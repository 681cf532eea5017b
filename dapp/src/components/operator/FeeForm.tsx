"use client";
// The market's fee and treasury (enerwise operator set-fee): admin role held on chain, at most
// MAX_FEE_BPS, a valid treasury address, and something to change, or nothing is sent.
import { useState } from "react";
import { energyMarketAbi } from "@/generated/abis";
import { useAmountInputs } from "@/lib/amounts";
import { shortAddress } from "@/lib/format";
import { useAccount, useChainRead, usePublicClient, useTransact } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { MAX_FEE_BPS, checkAddress, requireRole } from "@/lib/operatorChecks";
import { useRuntime } from "@/lib/runtime";
import { GridForm, Section, TextField, TxStatus } from "@/components/ui";

export function FeeForm() {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const inputs = useAmountInputs();
  const { address } = useAccount();
  const client = usePublicClient();
  const tx = useTransact();
  const [bpsText, setBpsText] = useState("");
  const [treasuryText, setTreasuryText] = useState("");
  const params = useChainRead(["operator", "params"], (c) =>
    c.readContract({ address: cfg.addresses.market, abi: energyMarketAbi, functionName: "params" }),
  );

  const submit = async () => {
    if (!address) return;
    const bps = inputs.integer(t.operator.feeBps, bpsText);
    if (!bps.ok) {
      tx.fail(bps.error);
      return;
    }
    if (bps.value > MAX_FEE_BPS) {
      tx.fail(t.operator.feeTooHigh(f.integer(bps.value)));
      return;
    }
    const treasury = checkAddress(t, t.operator.treasury, treasuryText);
    if (!treasury.ok) {
      tx.fail(treasury.error);
      return;
    }
    const missing = await requireRole(client, cfg, t, "market", "DEFAULT_ADMIN_ROLE", address);
    if (missing) {
      tx.fail(missing);
      return;
    }
    const now = await client.readContract({ address: cfg.addresses.market, abi: energyMarketAbi, functionName: "params" });
    if (BigInt(now.feeBps) === bps.value && now.treasury.toLowerCase() === treasury.value.toLowerCase()) {
      tx.fail(t.operator.feeSame);
      return;
    }
    await tx.run(t.operator.setFee, [
      { address: cfg.addresses.market, abi: energyMarketAbi, functionName: "setFee", args: [Number(bps.value), treasury.value] },
    ]);
  };

  return (
    <Section title={t.operator.fee} id="fee">
      {params.data ? (
        <p className="mb-2 text-sm text-slate-600" data-testid="fee-now">
          {t.operator.feeNow(params.data.feeBps, shortAddress(params.data.treasury))}
        </p>
      ) : null}
      <GridForm columns={3} onSubmit={submit} busy={tx.state.busy} submit={t.operator.setFee}>
        <TextField id="fee-bps" label={t.operator.feeBps} kind="numeric" value={bpsText} onChange={setBpsText} />
        <TextField id="fee-treasury" label={t.operator.treasury} kind="address" value={treasuryText} onChange={setTreasuryText} />
      </GridForm>
      <TxStatus state={tx.state} />
    </Section>
  );
}
