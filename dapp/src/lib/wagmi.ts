// The wagmi configuration, built at run time from the API's configuration (one chain: the
// deployment's). Connectors: any injected wallet, through window.ethereum (EIP-1193) and
// EIP-6963 announcements.
import { createConfig, http, injected, type Config } from "wagmi";
import { defineChain, type Chain } from "viem";
import type { RuntimeConfig } from "./config";

export function deploymentChain(cfg: Pick<RuntimeConfig, "chainId" | "rpcUrl">): Chain {
  return defineChain({
    id: cfg.chainId,
    name: cfg.chainId === 31337 ? "EnergyChain (local anvil)" : `EnergyChain ${cfg.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [cfg.rpcUrl] } },
  });
}

export function makeWagmiConfig(cfg: RuntimeConfig): Config {
  const chain = deploymentChain(cfg);
  return createConfig({
    chains: [chain],
    connectors: [injected()],
    multiInjectedProviderDiscovery: true,
    // Always the deployment's RPC URL: viem's http() without one would use a public node.
    transports: { [chain.id]: http(cfg.rpcUrl, { batch: false }) },
    pollingInterval: 1_000,
    ssr: false,
  });
}
