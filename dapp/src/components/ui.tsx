"use client";
// Small shared pieces: sections, status lines, tables and their row actions, forms and their fields.
import type { FormEvent, ReactNode } from "react";
import { shortAddress } from "@/lib/format";
import type { TxState } from "@/lib/hooks";
import { useI18n } from "@/lib/i18n";
import { useRuntime } from "@/lib/runtime";

export function Section({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-heading`;
  return (
    <section aria-labelledby={headingId} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 id={headingId} className="mb-3 text-lg font-semibold text-slate-900">
        {title}
      </h2>
      {children}
    </section>
  );
}

/** A transaction hash: a link to the chain's explorer when the deployment names one. */
export function TxLink({ hash }: { hash: string }) {
  const cfg = useRuntime();
  const { t } = useI18n();
  const text = shortAddress(hash);
  if (!cfg.explorerUrl) {
    return (
      <span className="font-mono text-xs" title={hash}>
        {text}
      </span>
    );
  }
  return (
    <a
      href={`${cfg.explorerUrl}/tx/${hash}`}
      target="_blank"
      rel="noopener noreferrer"
      title={`${hash} (${t.tx.viewOnExplorer})`}
      className="font-mono text-xs text-emerald-800 underline hover:text-emerald-950"
    >
      {text}
    </a>
  );
}

export function TxStatus({ state }: { state: TxState }) {
  return (
    <div className="mt-2 min-h-6 text-sm">
      {state.error !== null ? (
        <p role="alert" data-testid="tx-error" className="rounded bg-red-50 p-2 text-red-800">
          {state.error}
        </p>
      ) : state.message !== null ? (
        <p role="status" aria-live="polite" data-testid="tx-status" className="text-slate-700">
          {state.message}
        </p>
      ) : null}
      {state.hashes.length > 0 && !state.busy ? (
        <p className="mt-1 flex flex-wrap gap-2" data-testid="tx-links">
          {state.hashes.map((hash) => (
            <TxLink key={hash} hash={hash} />
          ))}
        </p>
      ) : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  const { t } = useI18n();
  return (
    <p role="status" className="text-sm text-slate-500">
      {t.common.loading(what)}
    </p>
  );
}

export function ErrorLine({ error }: { error: unknown }) {
  return (
    <p role="alert" className="text-sm text-red-700">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="text-sm text-slate-500">{children}</p>;
}

/** One figure of a `<dl>` (a bill's total, a KPI): its label, its value, and a hint below. */
export function Figure({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId?: string }) {
  return (
    <div className="rounded border border-slate-200 p-3">
      <dt className="text-sm text-slate-500">{label}</dt>
      <dd className="text-lg font-semibold tabular-nums break-all" data-testid={testId}>
        {value}
      </dd>
      {hint ? <p className="mt-1 text-xs text-slate-500">{hint}</p> : null}
    </div>
  );
}

/** A table's header row: one column per label, and an unlabelled actions column (its name
 * for screen readers only) when `actions` is given. */
export function TableHead({ columns, actions }: { columns: readonly ReactNode[]; actions?: string }) {
  return (
    <thead>
      <tr>
        {columns.map((label, i) => (
          <th key={i} scope="col" className={thClass}>
            {label}
          </th>
        ))}
        {actions !== undefined ? (
          <th scope="col" className={thClass}>
            <span className="sr-only">{actions}</span>
          </th>
        ) : null}
      </tr>
    </thead>
  );
}

/** A table that scrolls sideways on a narrow screen: an optional caption, its header row
 * (`TableHead`) and the rows given as children. */
export function DataTable({
  columns,
  actions,
  testId,
  caption,
  className = "overflow-x-auto",
  children,
}: {
  columns: readonly ReactNode[];
  actions?: string;
  testId?: string;
  caption?: ReactNode;
  className?: string;
  children: ReactNode;
}) {
  return (
    <div className={className}>
      <table className={tableClass} data-testid={testId}>
        {caption}
        <TableHead columns={columns} actions={actions} />
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A row's cell in the table's actions column (`DataTable`'s `actions`) with the row's action
 * (cancel, reclaim, revoke, deactivate): a secondary button, named for screen readers by `label`
 * (which row it acts on), disabled while a transaction is `busy`. The cell stays empty where the
 * row has no such action now (`available` false). */
export function RowAction({
  label,
  busy,
  onClick,
  available = true,
  children,
}: {
  label: string;
  busy: boolean;
  onClick: () => void;
  available?: boolean;
  children: ReactNode;
}) {
  return (
    <td className={tdClass}>
      {available ? (
        <button type="button" className={secondaryButtonClass} disabled={busy} aria-label={label} onClick={onClick}>
          {children}
        </button>
      ) : null}
    </td>
  );
}

export const inputClass =
  "w-full rounded border border-slate-300 px-2 py-1 text-slate-900 focus:outline-none focus:ring-2 focus:ring-emerald-500";
export const buttonClass =
  "rounded bg-emerald-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-emerald-500 focus-visible:ring-offset-2 disabled:cursor-not-allowed disabled:bg-slate-400";
export const secondaryButtonClass =
  "rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-emerald-500 disabled:cursor-not-allowed disabled:text-slate-400";

/** A form's submit button, disabled while the form's transaction is under way. */
export function SubmitButton({ busy, secondary, children }: { busy: boolean; secondary?: boolean; children: ReactNode }) {
  return (
    <button type="submit" className={secondary ? secondaryButtonClass : buttonClass} disabled={busy}>
      {children}
    </button>
  );
}

/** A form's fields on a grid (`columns` side by side on a wide screen), ended by its submit
 * button (disabled while `busy`). Submitting never reloads the page: `onSubmit` does the work. */
export function GridForm({
  columns,
  onSubmit,
  busy,
  submit,
  children,
}: {
  columns: 2 | 3;
  onSubmit: () => Promise<unknown>;
  busy: boolean;
  submit: ReactNode;
  children: ReactNode;
}) {
  const send = (event: FormEvent) => {
    event.preventDefault();
    void onSubmit();
  };
  return (
    <form noValidate onSubmit={send} className={columns === 3 ? "grid gap-3 md:grid-cols-3" : "grid gap-3 md:grid-cols-2"}>
      {children}
      <div className="flex items-end">
        <SubmitButton busy={busy}>{submit}</SubmitButton>
      </div>
    </form>
  );
}

export const tableClass = "w-full text-left text-sm";
export const thClass = "border-b border-slate-200 px-2 py-1 font-medium text-slate-600";
export const tdClass = "border-b border-slate-100 px-2 py-1 tabular-nums";

export function Field({ label, htmlFor, hint, children }: { label: string; htmlFor: string; hint?: string; children: ReactNode }) {
  const hintId = hint ? `${htmlFor}-hint` : undefined;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={htmlFor} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      {children}
      {hint ? (
        <p id={hintId} className="text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** A labelled one-line text box: `kind` picks the keyboard (`numeric`, `decimal`) or the
 * typeface of an address (`address`, monospaced); browsers never autofill it. */
export function TextField({
  id,
  label,
  hint,
  value,
  onChange,
  kind = "text",
}: {
  id: string;
  label: string;
  hint?: string;
  value: string;
  onChange: (value: string) => void;
  kind?: "text" | "numeric" | "decimal" | "address";
}) {
  return (
    <Field label={label} htmlFor={id} hint={hint}>
      <input
        id={id}
        inputMode={kind === "numeric" || kind === "decimal" ? kind : undefined}
        autoComplete="off"
        className={kind === "address" ? `${inputClass} font-mono` : inputClass}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </Field>
  );
}
