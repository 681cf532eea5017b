// Runtime configuration: asked from the indexer API at start (GET /v1/config), so one static
// build serves any deployment. NEXT_PUBLIC_ENERWISE_API points a dev server at another API.
import type { Schemas } from "./api";

/** The market's parameters; money in payment base units and Wh as bigint. */
export interface MarketParams {
  chainId: number;
  epoch: number;
  slotSeconds: number;
  priceFloor: bigint;
  tickSize: bigint;
  maxTick: number;
  settlementSeconds: number;
  openAheadSeconds: number;
  minOrderWh: bigint;
  feeBps: number;
  treasury: string;
  /** `open`: orders in the clear until gate closure; `sealed`: commitments until gate closure,
   * revealed in the reveal window after it (SealedEnergyMarket). */
  mode: "open" | "sealed";
  /** Sealed: the reveal window after each gate closure, seconds (null in open mode). */
  revealSeconds: number | null;
  /** Sealed: the money every commitment locks and forfeits unrevealed (null in open mode). */
  bondAmount: bigint | null;
}

/** The configuration the app runs with: every field resolved. */
export interface RuntimeConfig {
  chainId: number;
  rpcUrl: string;
  /** Where event queries start: the block the indexer starts from. */
  deploymentBlock: bigint;
  apiBase: string;
  streamPath: string;
  market: MarketParams;
  addresses: {
    market: `0x${string}`;
    energyToken: `0x${string}`;
    registry: `0x${string}`;
    paymentToken: `0x${string}`;
    /** The city pool the indexer follows (its grid limits on the operator page), or null. */
    cityPool: `0x${string}` | null;
  };
  token: { symbol: string; decimals: number };
  /** Block explorer base URL (a transaction is at `${explorerUrl}/tx/${hash}`), or null. */
  explorerUrl: string | null;
  /** The community's IANA time zone: bills run by its months and days. */
  timeZone: string;
}

export function configuredApiBase(): string {
  const base = process.env.NEXT_PUBLIC_ENERWISE_API ?? "";
  return base.replace(/\/+$/, "");
}

function hexAddress(value: string | undefined, name: string): `0x${string}` {
  if (value === undefined || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
    throw new Error(`the API's configuration has no valid ${name} address`);
  }
  return value as `0x${string}`;
}

export function marketParams(m: Schemas["StatusPublic"]["market"]): MarketParams {
  return {
    chainId: m.chain_id,
    epoch: m.epoch,
    slotSeconds: m.slot_seconds,
    priceFloor: BigInt(m.price_floor),
    tickSize: BigInt(m.tick_size),
    maxTick: m.max_tick,
    settlementSeconds: m.settlement_seconds,
    openAheadSeconds: m.open_ahead_seconds,
    minOrderWh: BigInt(m.min_order_wh),
    feeBps: m.fee_bps,
    treasury: m.treasury,
    mode: m.mode,
    revealSeconds: m.reveal_seconds,
    bondAmount: m.bond_amount === null ? null : BigInt(m.bond_amount),
  };
}

/** The parts of the configuration that need the API; the dApp's own errors are in English
 * here and shown as they are (the app has no language before its configuration loads). */
export async function fetchConfig(signal?: AbortSignal): Promise<{
  raw: Schemas["DappConfigPublic"];
  partial: Omit<RuntimeConfig, "token">;
}> {
  const base = configuredApiBase();
  const response = await fetch(`${base}/v1/config`, { signal, headers: { Accept: "application/json" } });
  if (!response.ok) {
    const detail = await response.text().catch(() => "");
    throw new Error(
      response.status === 503
        ? "The indexer has not reached the deployment yet; try again in a moment."
        : `The API answered ${response.status} to /v1/config ${detail.slice(0, 200)}`,
    );
  }
  const raw = (await response.json()) as Schemas["DappConfigPublic"];
  if (raw.rpc_url === null) {
    throw new Error("The API announces no JSON-RPC URL for browsers (set the API's rpc_url).");
  }
  const a = raw.market.addresses;
  return {
    raw,
    partial: {
      chainId: raw.chain_id,
      rpcUrl: raw.rpc_url,
      deploymentBlock: BigInt(raw.deployment_block),
      apiBase: raw.api_base ? raw.api_base.replace(/\/+$/, "") : base,
      streamPath: raw.stream_path,
      market: marketParams(raw.market),
      addresses: {
        market: hexAddress(a["market"], "market"),
        energyToken: hexAddress(a["energy_token"], "energy token"),
        registry: hexAddress(a["registry"], "registry"),
        paymentToken: hexAddress(a["payment_token"], "payment token"),
        cityPool: a["city_pool"] === undefined ? null : hexAddress(a["city_pool"], "city pool"),
      },
      explorerUrl: raw.explorer_url ? raw.explorer_url.replace(/\/+$/, "") : null,
      timeZone: raw.time_zone,
    },
  };
}
