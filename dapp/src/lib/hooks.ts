"use client";
// Data hooks: API reads through react-query, chain reads through viem, transactions.
import { useCallback, useState } from "react";
import { useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { useConfig, useConnection } from "wagmi";
import { getPublicClient, getWalletClient } from "wagmi/actions";
import type { Abi, PublicClient, TransactionReceipt } from "viem";
import { getJson, paths, type Status } from "./api";
import { explainError } from "./errors";
import { useRuntime } from "./runtime";

/** GET `path` from the indexer API (null: disabled); refreshed by the live feed. */
export function useApi<T>(path: string | null, refetchMs = 5_000): UseQueryResult<T> {
  const cfg = useRuntime();
  return useQuery({
    queryKey: ["api", path],
    queryFn: () => getJson<T>(cfg.apiBase, path as string),
    enabled: path !== null,
    refetchInterval: refetchMs,
  });
}

export function useStatus(): UseQueryResult<Status> {
  return useApi<Status>(paths.status(), 3_000);
}

/** The connected account when it is on the deployment's chain, else null. */
export function useAccount(): { address: `0x${string}` | null; wrongChain: boolean } {
  const cfg = useRuntime();
  const connection = useConnection();
  if (!connection.isConnected || !connection.address) return { address: null, wrongChain: false };
  if (connection.chainId !== cfg.chainId) return { address: null, wrongChain: true };
  return { address: connection.address, wrongChain: false };
}

export function usePublicClient(): PublicClient {
  const config = useConfig();
  const client = getPublicClient(config);
  if (!client) throw new Error("no public client for the deployment's chain");
  return client as PublicClient;
}

/** A chain read keyed under ["chain", ...key]; refreshed after every transaction. */
export function useChainRead<T>(
  key: readonly unknown[],
  read: (client: PublicClient) => Promise<T>,
  enabled = true,
): UseQueryResult<T> {
  const client = usePublicClient();
  return useQuery({
    queryKey: ["chain", ...key],
    queryFn: () => read(client),
    enabled,
    refetchInterval: 4_000,
  });
}

export interface ContractCall {
  address: `0x${string}`;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

export interface TxState {
  busy: boolean;
  label: string | null;
  message: string | null;
  error: string | null;
}

/**
 * Sends contract calls from the connected wallet, one after the other: each is simulated first
 * (so a revert is explained before the wallet asks to sign), sent, and awaited.
 */
export function useTransact(): {
  state: TxState;
  run: (label: string, calls: ContractCall[]) => Promise<TransactionReceipt[] | null>;
  reset: () => void;
  fail: (message: string) => void;
} {
  const cfg = useRuntime();
  const config = useConfig();
  const queryClient = useQueryClient();
  const [state, setState] = useState<TxState>({ busy: false, label: null, message: null, error: null });

  const run = useCallback(
    async (label: string, calls: ContractCall[]) => {
      setState({ busy: true, label, message: `${label}: waiting for the wallet…`, error: null });
      const receipts: TransactionReceipt[] = [];
      try {
        const publicClient = getPublicClient(config);
        if (!publicClient) throw new Error("no public client for the deployment's chain");
        const wallet = await getWalletClient(config, { chainId: cfg.chainId });
        for (const [index, call] of calls.entries()) {
          const step = calls.length > 1 ? ` (step ${index + 1} of ${calls.length}: ${call.functionName})` : "";
          setState((s) => ({ ...s, message: `${label}${step}: check and sign in your wallet…` }));
          const { request } = await publicClient.simulateContract({
            address: call.address,
            abi: call.abi,
            functionName: call.functionName,
            args: call.args,
            account: wallet.account,
          });
          const hash = await wallet.writeContract(request);
          setState((s) => ({ ...s, message: `${label}${step}: waiting for the block…` }));
          const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 250 });
          if (receipt.status !== "success") throw new Error(`the transaction ${hash} reverted`);
          receipts.push(receipt);
        }
        setState({ busy: false, label, message: `${label}: done.`, error: null });
        return receipts;
      } catch (error) {
        setState({ busy: false, label, message: null, error: explainError(error, cfg) });
        return null;
      } finally {
        await queryClient.invalidateQueries();
      }
    },
    [cfg, config, queryClient],
  );
  const reset = useCallback(() => setState({ busy: false, label: null, message: null, error: null }), []);
  const fail = useCallback(
    (message: string) => setState({ busy: false, label: null, message: null, error: message }),
    [],
  );
  return { state, run, reset, fail };
}
