"use client";
// Billing and data exports for operators (enerwise operator billing; the API's
// /v1/operator/billing and /v1/operator/exports behind Sign-In with Ethereum and the role).
import { useState } from "react";
import { ApiError, bearer, type ApiClient } from "@/lib/api";
import { useI18n } from "@/lib/i18n";
import { isMonth, monthIn } from "@/lib/months";
import { useApiClient, useRuntime } from "@/lib/runtime";
import { useSession } from "@/lib/session";
import { Field, Section, inputClass, secondaryButtonClass } from "@/components/ui";

const DATASETS = ["orders", "clearings", "readings", "ledger"] as const;

function saveFile(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function text(
  pending: Promise<{ data?: string; error?: unknown; response: Response }>,
): Promise<string> {
  const { data, response } = await pending;
  if (!response.ok || data === undefined) {
    let body: { error?: { code?: string; message?: string } } = {};
    try {
      body = JSON.parse(String(data ?? "")) as typeof body;
    } catch {
      // not JSON: the status line says it
    }
    throw new ApiError(response.status, body.error?.code ?? `http_${response.status}`, body.error?.message ?? response.statusText);
  }
  return data;
}

function billing(api: ApiClient, token: string, month: string, format: "csv" | "json"): Promise<string> {
  return text(
    api.GET("/v1/operator/billing", {
      params: { query: { month, format } },
      headers: bearer(token),
      parseAs: "text",
    }) as Promise<{ data?: string; error?: unknown; response: Response }>,
  );
}

export function Billing({ token }: { token: string }) {
  const cfg = useRuntime();
  const { t, f } = useI18n();
  const api = useApiClient();
  const { expire } = useSession();
  const [month, setMonth] = useState(() => monthIn(cfg.timeZone));
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const fail = (error: unknown) => {
    if (error instanceof ApiError && error.status === 401) {
      expire();
      return;
    }
    const sentence =
      error instanceof ApiError && error.code === "no_billing_data"
        ? t.operator.noBillingData(error.message)
        : error instanceof ApiError && error.status === 403
          ? t.operator.needsRole
          : error instanceof Error
            ? error.message
            : String(error);
    setMessage({ ok: false, text: sentence });
  };

  const download = async (format: "csv" | "json") => {
    if (!isMonth(month)) return;
    setBusy(true);
    setMessage(null);
    try {
      const body = await billing(api, token, month, format);
      saveFile(`billing-${month}.${format}`, format === "csv" ? "text/csv" : "application/json", body);
      const document = JSON.parse(format === "json" ? body : await billing(api, token, month, "json")) as {
        households: unknown[];
        reconciles: boolean;
        differences: string[];
      };
      setMessage({
        ok: document.reconciles,
        text: `${t.operator.billingRows(document.households.length, f.month(month))} ${
          document.reconciles ? t.operator.reconciles : t.operator.differences(document.differences.length)
        }`,
      });
    } catch (error) {
      fail(error);
    } finally {
      setBusy(false);
    }
  };

  const exportData = async (dataset: (typeof DATASETS)[number]) => {
    setBusy(true);
    setMessage(null);
    try {
      const body = await text(
        api.GET("/v1/operator/exports/{dataset}", {
          params: { path: { dataset } },
          headers: bearer(token),
          parseAs: "text",
        }) as Promise<{ data?: string; error?: unknown; response: Response }>,
      );
      saveFile(`${dataset}.csv`, "text/csv", body);
    } catch (error) {
      fail(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title={t.operator.billing} id="billing">
      <p className="mb-3 text-sm text-slate-600">{t.operator.billingHelp}</p>
      <div className="flex flex-wrap items-end gap-2">
        <Field label={t.bill.month} htmlFor="billing-month">
          <input id="billing-month" type="month" className={inputClass} value={month} onChange={(e) => setMonth(e.target.value)} />
        </Field>
        <button type="button" className={secondaryButtonClass} disabled={busy} onClick={() => void download("csv")}>
          {t.operator.download("CSV")}
        </button>
        <button type="button" className={secondaryButtonClass} disabled={busy} onClick={() => void download("json")}>
          {t.operator.download("JSON")}
        </button>
      </div>
      {message ? (
        <p
          role={message.ok ? "note" : "alert"}
          data-testid="billing-result"
          className={`mt-2 text-sm ${message.ok ? "text-emerald-800" : "text-red-700"}`}
        >
          {message.text}
        </p>
      ) : null}
      <h3 className="mt-4 mb-2 font-semibold">{t.operator.exports}</h3>
      <p className="mb-2 text-sm text-slate-600">{t.operator.exportsHelp}</p>
      <div className="flex flex-wrap gap-2">
        {DATASETS.map((dataset) => (
          <button key={dataset} type="button" className={secondaryButtonClass} disabled={busy} onClick={() => void exportData(dataset)}>
            {t.operator.dataset[dataset] ?? dataset}
          </button>
        ))}
      </div>
    </Section>
  );
}
