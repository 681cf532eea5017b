"use client";
// Data hooks: API reads through react-query, chain reads through viem, transactions.
import { useCallback, useState } from "react";
import { useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { useConfig, useConnection } from "wagmi";
import { getPublicClient, getWalletClient } from "wagmi/actions";
import type { Abi, PublicClient, TransactionReceipt } from "viem";
import { unwrap, type ApiClient, type Status } from "./api";
import { explainError } from "./errors";
import { useI18n } from "./i18n";
import { useApiClient, useRuntime } from "./runtime";

/** A read of the indexer API under ["api", ...key] (null: disabled); refreshed by the live feed. */
export function useApi<T>(
  key: readonly unknown[] | null,
  read: (api: ApiClient) => Promise<T>,
  refetchMs: number | false = 5_000,
): UseQueryResult<T> {
  const api = useApiClient();
  return useQuery({
    queryKey: ["api", ...(key ?? ["disabled"])],
    queryFn: () => read(api),
    enabled: key !== null,
    refetchInterval: refetchMs,
  });
}

export function useStatus(): UseQueryResult<Status> {
  return useApi(["status"], (api) => unwrap(api.GET("/v1/status")), 3_000);
}

/** The connected account when it is on the deployment's chain, else null. */
export function useAccount(): { address: `0x${string}` | null; wrongChain: boolean; chainId: number | undefined } {
  const cfg = useRuntime();
  const connection = useConnection();
  if (!connection.isConnected || !connection.address) return { address: null, wrongChain: false, chainId: undefined };
  if (connection.chainId !== cfg.chainId) return { address: null, wrongChain: true, chainId: connection.chainId };
  return { address: connection.address, wrongChain: false, chainId: connection.chainId };
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
  /** Runs after the call's simulation passed, right before the wallet is asked to send it; if
   * it throws, the run stops with nothing sent (the durable-intent rule: a sealed order's salt
   * is written before its commitment leaves the browser). */
  beforeSend?: () => void;
  /** Runs with the hash the wallet returned for the call. */
  onSent?: (hash: `0x${string}`) => void;
}

export interface TxState {
  busy: boolean;
  label: string | null;
  message: string | null;
  error: string | null;
  /** Hashes of the transactions this run sent (explorer links). */
  hashes: `0x${string}`[];
}

const IDLE: TxState = { busy: false, label: null, message: null, error: null, hashes: [] };

/** A form's transactions (`useTransact`): their state, a run of calls, or a refusal in words. */
export interface Transact {
  state: TxState;
  run: (
    label: string,
    calls: ContractCall[],
    onMined?: (receipts: TransactionReceipt[]) => void,
  ) => Promise<TransactionReceipt[] | null>;
  reset: () => void;
  fail: (message: string) => void;
}

/**
 * Sends contract calls from the connected wallet, one after the other: each is simulated first
 * (so a revert is explained before the wallet asks to sign), sent, and awaited.
 *
 * `onMined` runs once every call is mined, before the run says "done": what it changes (a
 * cleared form, a journal entry marked committed) is in place by the time the user, or a test,
 * reads "done". Work done after `run` resolves would race the user's next keystrokes.
 */
export function useTransact(): Transact {
  const cfg = useRuntime();
  const i18n = useI18n();
  const { t } = i18n;
  const config = useConfig();
  const queryClient = useQueryClient();
  const [state, setState] = useState<TxState>(IDLE);

  const run = useCallback(
    async (label: string, calls: ContractCall[], onMined?: (receipts: TransactionReceipt[]) => void) => {
      setState({ ...IDLE, busy: true, label, message: t.tx.waitingWallet(label) });
      const receipts: TransactionReceipt[] = [];
      try {
        const publicClient = getPublicClient(config);
        if (!publicClient) throw new Error("no public client for the deployment's chain");
        const wallet = await getWalletClient(config, { chainId: cfg.chainId });
        for (const [index, call] of calls.entries()) {
          const step = calls.length > 1 ? t.tx.step(index + 1, calls.length, call.functionName) : "";
          setState((s) => ({ ...s, message: t.tx.sign(label, step) }));
          const { request } = await publicClient.simulateContract({
            address: call.address,
            abi: call.abi,
            functionName: call.functionName,
            args: call.args,
            account: wallet.account,
          });
          call.beforeSend?.();
          const hash = await wallet.writeContract(request);
          call.onSent?.(hash);
          setState((s) => ({ ...s, hashes: [...s.hashes, hash], message: t.tx.waitingBlock(label, step) }));
          const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 250 });
          if (receipt.status !== "success") throw new Error(t.tx.reverted(hash));
          receipts.push(receipt);
        }
        try {
          onMined?.(receipts);
        } catch {
          // the transactions are mined: a page's follow-up (a journal write, say) cannot undo
          // them, and the chain stays the source the page catches up from
        }
        setState((s) => ({ ...s, busy: false, message: t.tx.done(label), error: null }));
        return receipts;
      } catch (error) {
        setState((s) => ({ ...s, busy: false, message: null, error: explainError(error, i18n) }));
        return null;
      } finally {
        await queryClient.invalidateQueries();
      }
    },
    [cfg, config, queryClient, i18n, t],
  );
  const reset = useCallback(() => setState(IDLE), []);
  const fail = useCallback((message: string) => setState({ ...IDLE, error: message }), []);
  return { state, run, reset, fail };
}
