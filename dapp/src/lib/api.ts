// The indexer API (/v1), typed from its OpenAPI document: the types in src/generated/api.ts are
// generated at build time (scripts/gen-api-types.mjs), never written by hand, and every request
// goes through openapi-fetch, which checks paths, parameters and bodies against them. Money and
// energy arrive as decimal strings of base units; the pages turn them into bigint.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "@/generated/api";

export type Schemas = components["schemas"];
export type SlotStatus = Schemas["SlotPublic"]["status"];
export type Slot = Schemas["SlotPublic"];
export type Depth = Schemas["DepthPublic"];
export type DepthLevel = Schemas["DepthLevelPublic"];
export type Order = Schemas["OrderPublic"];
export type Fill = Schemas["FillPublic"];
export type Balances = Schemas["BalancesPublic"];
export type PricePoint = Schemas["PricePointPublic"];
export type Meter = Schemas["MeterPublic"];
export type Reading = Schemas["ReadingPublic"];
export type Kpis = Schemas["KpiPublic"];
export type Status = Schemas["StatusPublic"];
export type HistoryItem = Schemas["HistoryItemPublic"];
export type HouseholdBill = Schemas["HouseholdBillPublic"];
export type BillAmounts = Schemas["BillAmountsPublic"];
export type NonceResponse = Schemas["NonceResponse"];
export type LoginResponse = Schemas["LoginResponse"];

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export type ApiClient = Client<paths>;

export function makeApiClient(baseUrl: string): ApiClient {
  const base = baseUrl || (typeof window === "undefined" ? "" : window.location.origin);
  return createClient<paths>({ baseUrl: base, headers: { Accept: "application/json" } });
}

/** An answer of the API other than 2xx, with its stable error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function toApiError(response: Response, body: unknown): ApiError {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new ApiError(
    response.status,
    error?.code ?? `http_${response.status}`,
    error?.message ?? `${response.status} ${response.statusText}`,
  );
}

/** The data of an openapi-fetch call, or an {@link ApiError}. */
export async function unwrap<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok || data === undefined) throw toApiError(response, error);
  return data;
}

export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}
