"use client";
// Meters for the operator (enerwise operator meter add / rotate-key / deactivate / list): the
// registered meters with their oracle health, and the writes, each after the CLI's checks
// (meter-admin role held on chain, id never registered / registered and active, addresses,
// capacity within the registry's limit).
import { useState } from "react";
import { meterRegistryAbi } from "@/generated/abis";
import { unwrap } from "@/lib/api";
import { useAmountInputs } from "@/lib/amounts";
import { shortAddress } from "@/lib/format";
import { useAccount, useApi, usePublicClient, useStatus, useTransact } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import {
  MAX_CAPACITY_WH_PER_SLOT,
  capacityWhPerSlot,
  checkAddress,
  meterHealth,
  meterIdOf,
  readMeter,
  requireRole,
} from "@/lib/operatorChecks";
import { useRuntime } from "@/lib/runtime";
import {
  Empty,
  Field,
  Loading,
  Section,
  TxStatus,
  inputClass,
  tdClass,
  TextField,
  DataTable,
  RowAction,
  GridForm,
} from "@/components/ui";

const ZERO = `0x${"00".repeat(20)}`;

export function Meters() {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const inputs = useAmountInputs();
  const { address } = useAccount();
  const client = usePublicClient();
  const status = useStatus();
  const meters = useApi(["meters", "all"], (api) => unwrap(api.GET("/v1/meters", { params: { query: { limit: 500 } } })), 5_000);
  const addTx = useTransact();
  const rotateTx = useTransact();
  const rowTx = useTransact();
  const [name, setName] = useState("");
  const [owner, setOwner] = useState("");
  const [capacityText, setCapacityText] = useState("");
  const [signer, setSigner] = useState("");
  const [rotateId, setRotateId] = useState("");
  const [newSigner, setNewSigner] = useState("");
  const registry = cfg.addresses.registry;
  const now = status.data?.checkpoint_time ?? 0;
  const items = meters.data?.items ?? [];
  const active = items.filter((m) => m.active);

  /** The meter-admin role on the registry, read on chain (the CLI's first check). */
  const roleError = async (): Promise<string | null> =>
    address ? requireRole(client, cfg, t, "registry", "METER_ADMIN_ROLE", address) : t.wallet.connectPrompt;

  /** The id of `label` if it names a registered, active meter; else the CLI's sentence. */
  const activeMeter = async (label: string): Promise<{ ok: true; id: `0x${string}` } | { ok: false; error: string }> => {
    const id = meterIdOf(t, label);
    if (!id.ok) return id;
    const meter = await readMeter(client, cfg, id.value);
    if (meter.owner.toLowerCase() === ZERO) return { ok: false, error: t.operator.unknown(label) };
    if (!meter.active) return { ok: false, error: t.operator.inactiveMeter(label) };
    return { ok: true, id: id.value };
  };

  const add = async () => {
    const missing = await roleError();
    if (missing) return addTx.fail(missing);
    const id = meterIdOf(t, name);
    if (!id.ok) return addTx.fail(id.error);
    const ownerAddress = checkAddress(t, t.operator.owner, owner);
    if (!ownerAddress.ok) return addTx.fail(ownerAddress.error);
    const watts = inputs.integer(t.operator.capacityW, capacityText);
    if (!watts.ok) return addTx.fail(watts.error);
    if (watts.value === 0n) return addTx.fail(t.input.field(t.operator.capacityW, t.input.problem({ kind: "empty" }, f)));
    const capacity = capacityWhPerSlot(watts.value, cfg.market.slotSeconds);
    if (capacity > MAX_CAPACITY_WH_PER_SLOT) return addTx.fail(t.operator.capacityTooHigh(f.integer(capacity)));
    const signerAddress = checkAddress(t, t.operator.signer, signer);
    if (!signerAddress.ok) return addTx.fail(signerAddress.error);
    const existing = await readMeter(client, cfg, id.value);
    if (existing.owner.toLowerCase() !== ZERO) {
      return addTx.fail(t.operator.taken(name.trim(), id.value, existing.owner));
    }
    await addTx.run(
      t.operator.registerTx(name.trim()),
      [
        {
          address: registry,
          abi: meterRegistryAbi,
          functionName: "registerMeter",
          args: [id.value, ownerAddress.value, signerAddress.value, capacity],
        },
      ],
      () => {
        setName("");
        setCapacityText("");
      },
    );
  };

  const rotate = async () => {
    const missing = await roleError();
    if (missing) return rotateTx.fail(missing);
    const meter = await activeMeter(rotateId);
    if (!meter.ok) return rotateTx.fail(meter.error);
    const next = checkAddress(t, t.operator.newSigner, newSigner);
    if (!next.ok) return rotateTx.fail(next.error);
    await rotateTx.run(
      t.operator.rotateTx(shortAddress(meter.id)),
      [{ address: registry, abi: meterRegistryAbi, functionName: "rotateSigner", args: [meter.id, next.value] }],
      () => setNewSigner(""),
    );
  };

  const deactivate = async (meterId: string) => {
    const missing = await roleError();
    if (missing) return rowTx.fail(missing);
    const meter = await activeMeter(meterId);
    if (!meter.ok) return rowTx.fail(meter.error);
    await rowTx.run(t.operator.deactivateTx(shortAddress(meter.id)), [
      { address: registry, abi: meterRegistryAbi, functionName: "deactivateMeter", args: [meter.id] },
    ]);
  };

  return (
    <Section title={t.operator.meters} id="meters">
      <p className="mb-3 text-sm text-slate-600">{t.operator.metersHelp}</p>
      {meters.isPending ? (
        <Loading what={t.operator.what.meters} />
      ) : items.length === 0 ? (
        <Empty>{t.operator.noMeters}</Empty>
      ) : (
        <DataTable
          columns={[t.operator.meterId, t.operator.owner, t.operator.signer, t.operator.capacity, t.operator.lastReading, t.operator.health]}
          actions={t.common.actions}
          testId="operator-meters"
        >
          {items.map((m) => {
            const health = meterHealth(m.last_reading_time, now, cfg.market.slotSeconds, m.active);
            return (
              <tr key={m.meter_id} data-testid="operator-meter" data-meter={m.meter_id} data-health={health}>
                <td className={`${tdClass} font-mono text-xs`} title={m.meter_id}>{shortAddress(m.meter_id)}</td>
                <td className={`${tdClass} font-mono text-xs`} title={m.owner}>{shortAddress(m.owner)}</td>
                <td className={`${tdClass} font-mono text-xs`} title={m.signer}>{shortAddress(m.signer)}</td>
                <td className={tdClass}>{f.wh(m.capacity_wh_per_slot)}</td>
                <td className={tdClass}>{m.last_reading_time ? f.time(m.last_reading_time) : t.operator.never}</td>
                <td className={tdClass}>{t.operator.healthStates[health] ?? health}</td>
                <RowAction
                  label={t.operator.deactivateLabel(m.meter_id)}
                  busy={rowTx.state.busy}
                  onClick={() => void deactivate(m.meter_id)}
                  available={m.active}
                >
                  {t.operator.deactivate}
                </RowAction>
              </tr>
            );
          })}
        </DataTable>
      )}
      <TxStatus state={rowTx.state} />

      <h3 className="mt-4 mb-2 font-semibold">{t.operator.addMeter}</h3>
      <GridForm columns={2} onSubmit={add} busy={addTx.state.busy} submit={t.operator.register}>
        <TextField id="meter-name" label={t.operator.name} hint={t.operator.nameHint} value={name} onChange={setName} />
        <TextField id="meter-owner" label={t.operator.owner} kind="address" value={owner} onChange={setOwner} />
        <TextField
          id="meter-capacity"
          label={t.operator.capacityW}
          hint={t.operator.capacityHint(cfg.market.slotSeconds / 60)}
          kind="numeric"
          value={capacityText}
          onChange={setCapacityText}
        />
        <TextField id="meter-signer" label={t.operator.signer} kind="address" value={signer} onChange={setSigner} />
      </GridForm>
      <TxStatus state={addTx.state} />

      <h3 className="mt-4 mb-2 font-semibold">{t.operator.rotate}</h3>
      <GridForm columns={3} onSubmit={rotate} busy={rotateTx.state.busy} submit={t.operator.rotateButton}>
        <Field label={t.operator.chooseMeter} htmlFor="rotate-meter">
          <select id="rotate-meter" className={inputClass} value={rotateId} onChange={(e) => setRotateId(e.target.value)}>
            <option value="">–</option>
            {active.map((m) => (
              <option key={m.meter_id} value={m.meter_id}>
                {shortAddress(m.meter_id)} · {shortAddress(m.owner)}
              </option>
            ))}
          </select>
        </Field>
        <TextField id="rotate-signer" label={t.operator.newSigner} kind="address" value={newSigner} onChange={setNewSigner} />
      </GridForm>
      <TxStatus state={rotateTx.state} />
    </Section>
  );
}
