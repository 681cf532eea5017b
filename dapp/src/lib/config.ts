// Runtime configuration: asked from the indexer API at start (GET /v1/config), so one static
// build serves any deployment. NEXT_PUBLIC_ENERWISE_API points a dev server at another API.

export interface MarketParams {
  chain_id: number;
  addresses: Record<string, string>;
  epoch: number;
  slot_seconds: number;
  price_floor: number;
  tick_size: number;
  max_tick: number;
  settlement_seconds: number;
  open_ahead_seconds: number;
  min_order_wh: number;
  fee_bps: number;
  treasury: string;
}

export interface PaymentTokenInfo {
  address: string;
  symbol: string | null;
  decimals: number | null;
}

export interface DappConfigResponse {
  chain_id: number;
  rpc_url: string | null;
  deployment_block: number;
  market: MarketParams;
  payment_token: PaymentTokenInfo;
  api_base: string;
  stream_path: string;
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
  };
  token: { symbol: string; decimals: number };
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

/** GET /v1/config; token symbol/decimals may still be null (read from the chain then). */
export async function fetchConfig(signal?: AbortSignal): Promise<{
  raw: DappConfigResponse;
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
  const raw = (await response.json()) as DappConfigResponse;
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
      market: raw.market,
      addresses: {
        market: hexAddress(a["market"], "market"),
        energyToken: hexAddress(a["energy_token"], "energy token"),
        registry: hexAddress(a["registry"], "registry"),
        paymentToken: hexAddress(a["payment_token"], "payment token"),
      },
    },
  };
}
