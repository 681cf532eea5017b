"use client";
// Loads the runtime configuration from the API, then provides wagmi, react-query and the live
// feed to the pages. Nothing about the deployment is baked into the build.
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { QueryClient, QueryClientProvider, useQueryClient } from "@tanstack/react-query";
import { WagmiProvider, type Config } from "wagmi";
import { createPublicClient, http } from "viem";
import { paymentTokenAbi } from "@/generated/abis";
import { ApiError } from "@/lib/api";
import { fetchConfig, type RuntimeConfig } from "@/lib/config";
import { useLang, useMessages } from "@/lib/i18n";
import { SessionProvider } from "@/lib/session";
import { deploymentChain, makeWagmiConfig } from "@/lib/wagmi";
import { LiveContext, RuntimeContext, type LiveEvent, type LiveState } from "@/lib/runtime";

type Loaded = { cfg: RuntimeConfig; wagmi: Config } | { error: string } | null;

async function loadRuntime(signal: AbortSignal): Promise<RuntimeConfig> {
  const { raw, partial } = await fetchConfig(signal);
  let { symbol, decimals } = raw.payment_token;
  if (symbol === null || decimals === null) {
    // The API had no node to ask: read the token on chain.
    const client = createPublicClient({ chain: deploymentChain(partial), transport: http(partial.rpcUrl) });
    const address = partial.addresses.paymentToken;
    [symbol, decimals] = await Promise.all([
      client.readContract({ address, abi: paymentTokenAbi, functionName: "symbol" }),
      client.readContract({ address, abi: paymentTokenAbi, functionName: "decimals" }),
    ]);
  }
  return { ...partial, token: { symbol, decimals } };
}

// `commitments`: a sealed slot's count on the Market page moves with each commitment and reveal;
// `pool`: the city pool's clearings and pauses (Market page, operator page).
const LIVE_TOPICS = "orders,commitments,clearings,claims,readings,pool,reorg";

/** Subscribes to the API's SSE feed; every event refreshes the API reads. */
function LiveFeed({ cfg, children }: { cfg: RuntimeConfig; children: ReactNode }) {
  const queryClient = useQueryClient();
  const [live, setLive] = useState<LiveState>({ connected: false, events: [] });
  useEffect(() => {
    const source = new EventSource(`${cfg.apiBase}${cfg.streamPath}?topics=${LIVE_TOPICS}`);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const refresh = () => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        void queryClient.invalidateQueries();
      }, 150);
    };
    const onEvent = (message: MessageEvent<string>) => {
      try {
        const event = JSON.parse(message.data) as LiveEvent;
        setLive((s) => ({ connected: true, events: [event, ...s.events].slice(0, 20) }));
      } catch {
        // a malformed event: ignore it, the next poll catches up
      }
      refresh();
    };
    source.addEventListener("ready", () => setLive((s) => ({ ...s, connected: true })));
    for (const topic of LIVE_TOPICS.split(",")) source.addEventListener(topic, onEvent);
    source.onerror = () => setLive((s) => ({ ...s, connected: false }));
    return () => {
      if (timer !== null) clearTimeout(timer);
      source.close();
    };
  }, [cfg, queryClient]);
  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

export function Providers({ children }: { children: ReactNode }) {
  const [loaded, setLoaded] = useState<Loaded>(null);
  const lang = useLang();
  const t = useMessages();
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const queryClient = useMemo(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            // An API answer of 4xx is final (no data, not signed in): only retry the rest once.
            retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 1,
            staleTime: 1_000,
          },
        },
      }),
    [],
  );
  useEffect(() => {
    const controller = new AbortController();
    loadRuntime(controller.signal)
      .then((cfg) => setLoaded({ cfg, wagmi: makeWagmiConfig(cfg) }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setLoaded({ error: error instanceof Error ? error.message : String(error) });
      });
    return () => controller.abort();
  }, []);

  if (loaded === null) {
    return (
      <p role="status" className="p-8 text-slate-600">
        {t.app.loadingConfig}
      </p>
    );
  }
  if ("error" in loaded) {
    return (
      <div role="alert" className="m-8 rounded border border-red-300 bg-red-50 p-4 text-red-800">
        <p className="font-semibold">{t.app.cannotStart}</p>
        <p>{loaded.error}</p>
      </div>
    );
  }
  return (
    <RuntimeContext.Provider value={loaded.cfg}>
      <WagmiProvider config={loaded.wagmi}>
        <QueryClientProvider client={queryClient}>
          <LiveFeed cfg={loaded.cfg}>
            <SessionProvider>{children}</SessionProvider>
          </LiveFeed>
        </QueryClientProvider>
      </WagmiProvider>
    </RuntimeContext.Provider>
  );
}
