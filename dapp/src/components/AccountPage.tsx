"use client";
// The frame of every page about the connected account (trade, energy, bill, history, agents).
import type { ReactNode } from "react";
import { useAccount } from "@/lib/hooks";
import { ConnectPrompt } from "./Header";

/** A page's title, then its parts for the connected account (`children(account)`), or the
 * prompt to connect a wallet on the deployment's chain while there is none. */
export function AccountPage({ title, children }: { title: string; children: (account: `0x${string}`) => ReactNode }) {
  const { address, wrongChain } = useAccount();
  return (
    <>
      <h1 className="text-2xl font-bold">{title}</h1>
      {address === null ? <ConnectPrompt wrongChain={wrongChain} /> : children(address)}
    </>
  );
}
