// Typed reads of the indexer API (/v1). Shapes mirror indexer/api/schemas.

export type SlotStatus = "upcoming" | "open" | "closed" | "cleared";

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Clearing {
  volume_wh: number;
  clearing_tick: number;
  price: number;
  block_number: number;
  block_time: number;
  tx_hash: string;
}

export interface Slot {
  slot: number;
  start_time: number;
  end_time: number;
  opens_at: number;
  gate_closure: number;
  status: SlotStatus;
  clearing: Clearing | null;
}

export interface DepthLevel {
  tick: number;
  price: number;
  buy_wh: number;
  sell_wh: number;
}

export interface Depth {
  slot: number;
  status: SlotStatus;
  levels: DepthLevel[];
  best_bid_tick: number | null;
  best_ask_tick: number | null;
  total_buy_wh: number;
  total_sell_wh: number;
}

export interface Order {
  order_id: string;
  nonce: number;
  owner: string;
  slot: number;
  side: "buy" | "sell";
  tick: number;
  price: number;
  qty_wh: number;
  escrow: number;
  fee_bps: number;
  status: "open" | "cancelled" | "claimed";
  block_number: number;
  block_time: number;
  tx_hash: string;
}

export interface Fill {
  order_id: string;
  owner: string;
  slot: number;
  side: "buy" | "sell";
  tick: number;
  qty_wh: number;
  filled_wh: number;
  price: number;
  amount: number;
  fee: number;
  refund: number;
  claimed: boolean;
}

export interface Balances {
  account: string;
  vault_money: number;
  energy: { slot: number; wallet_wh: number; vault_wh: number }[];
}

export interface PricePoint {
  slot: number;
  start_time: number;
  price: number;
  clearing_tick: number;
  volume_wh: number;
}

export interface Meter {
  meter_id: string;
  owner: string;
  signer: string;
  capacity_wh_per_slot: number;
  active: boolean;
  registered_block: number;
  registered_time: number;
  reading_count: number;
  last_seq: number | null;
  last_reading_time: number | null;
}

export interface Reading {
  meter_id: string;
  seq: number;
  reading_time: number;
  slot: number | null;
  import_delta_wh: number;
  export_delta_wh: number;
  archive_cid: string | null;
  block_number: number;
  tx_hash: string;
}

export interface Kpis {
  from_slot: number | null;
  to_slot: number | null;
  slots_cleared: number;
  traded_wh: number;
  traded_value: number;
  average_price: number | null;
  local_generation_wh: number;
  local_consumption_wh: number;
  locally_covered_wh: number;
  local_coverage_share: number | null;
  retail_tariff: number;
  feed_in_tariff: number;
  buyer_savings: number;
  seller_gain: number;
  community_savings: number;
}

export interface Status {
  checkpoint_block: number;
  checkpoint_time: number;
  head_block: number;
  current_slot: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export async function getJson<T>(apiBase: string, path: string): Promise<T> {
  const response = await fetch(`${apiBase}${path}`, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { error?: { message?: string } };
      if (body.error?.message) message = body.error.message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message);
  }
  return (await response.json()) as T;
}

/** The API paths the dApp reads, in one place. */
export const paths = {
  status: () => "/v1/status",
  slots: (status?: SlotStatus, limit = 50) =>
    `/v1/slots?limit=${limit}${status ? `&status=${status}` : ""}`,
  depth: (slot: number) => `/v1/slots/${slot}/depth`,
  fills: (slot: number) => `/v1/slots/${slot}/fills`,
  prices: (limit = 200) => `/v1/prices?limit=${limit}`,
  orders: (account: string, status?: Order["status"]) =>
    `/v1/accounts/${account}/orders?limit=200${status ? `&status=${status}` : ""}`,
  accountFills: (account: string) => `/v1/accounts/${account}/fills?limit=200`,
  balances: (account: string) => `/v1/accounts/${account}/balances`,
  meters: (owner: string) => `/v1/meters?owner=${owner}`,
  readings: (meterId: string) => `/v1/meters/${meterId}/readings?limit=50`,
  kpis: () => "/v1/kpis",
} as const;
