"use client";
// Navigation and the wallet: connect an injected wallet (EIP-1193 / EIP-6963), switch to the
// deployment's chain, disconnect.
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useConnect, useConnection, useConnectors, useDisconnect, useSwitchChain } from "wagmi";
import { useRuntime } from "@/lib/runtime";
import { explainError } from "@/lib/errors";
import { shortAddress } from "@/lib/format";
import { buttonClass, secondaryButtonClass } from "./ui";

const PAGES = [
  { href: "/", label: "Market" },
  { href: "/trade/", label: "Trade" },
  { href: "/energy/", label: "My energy" },
  { href: "/agents/", label: "Agents" },
  { href: "/operator/", label: "Operator" },
] as const;

function Wallet() {
  const cfg = useRuntime();
  const connection = useConnection();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  const switchChain = useSwitchChain();

  // EIP-6963 wallets announce themselves by name; the generic window.ethereum connector is
  // offered only when none did.
  const named = connectors.filter((c) => c.id !== "injected");
  const offered = named.length > 0 ? named : connectors;

  if (connection.isConnected && connection.address) {
    const wrongChain = connection.chainId !== cfg.chainId;
    return (
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span data-testid="account" title={connection.address} className="font-mono text-slate-800">
          {shortAddress(connection.address)}
        </span>
        {wrongChain ? (
          <>
            <span role="alert" className="text-amber-800">
              Wrong network (chain {connection.chainId}).
            </span>
            <button
              type="button"
              className={buttonClass}
              onClick={() => switchChain.mutate({ chainId: cfg.chainId })}
              disabled={switchChain.isPending}
            >
              Switch to chain {cfg.chainId}
            </button>
          </>
        ) : (
          <span className="rounded bg-emerald-50 px-2 py-0.5 text-emerald-800">chain {cfg.chainId}</span>
        )}
        <button type="button" className={secondaryButtonClass} onClick={() => disconnect.mutate({})}>
          Disconnect
        </button>
        {switchChain.error ? (
          <span role="alert" className="text-red-700">
            {explainError(switchChain.error, cfg)}
          </span>
        ) : null}
      </div>
    );
  }
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm">
      {offered.length === 0 ? <span className="text-slate-600">No browser wallet found.</span> : null}
      {offered.map((connector) => (
        <button
          key={connector.uid}
          type="button"
          className={buttonClass}
          disabled={connect.isPending}
          onClick={() => connect.mutate({ connector, chainId: cfg.chainId })}
        >
          Connect {connector.id === "injected" ? "browser wallet" : connector.name}
        </button>
      ))}
      {connect.error ? (
        <span role="alert" className="text-red-700">
          {explainError(connect.error, cfg)}
        </span>
      ) : null}
    </div>
  );
}

export function Header() {
  const pathname = usePathname();
  const current = pathname.endsWith("/") ? pathname : `${pathname}/`;
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-col gap-3 px-4 py-3 md:flex-row md:items-center md:justify-between">
        <div className="flex flex-wrap items-center gap-4">
          <Link href="/" className="text-lg font-bold text-emerald-800">
            Enerwise
          </Link>
          <nav aria-label="Main">
            <ul className="flex flex-wrap gap-1">
              {PAGES.map((page) => (
                <li key={page.href}>
                  <Link
                    href={page.href}
                    aria-current={current === page.href ? "page" : undefined}
                    className="rounded px-2 py-1 text-sm text-slate-700 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-emerald-500 aria-[current=page]:bg-emerald-100 aria-[current=page]:text-emerald-900"
                  >
                    {page.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        </div>
        <Wallet />
      </div>
    </header>
  );
}

/** Shown instead of a page's wallet parts until a wallet is connected on the right chain. */
export function ConnectPrompt({ wrongChain }: { wrongChain: boolean }) {
  return (
    <p className="rounded border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
      {wrongChain
        ? "Your wallet is on another network: switch to the market's chain (button at the top)."
        : "Connect a browser wallet (button at the top) to use this page."}
    </p>
  );
}
