"use client";
// Navigation, language, the wallet (connect an injected wallet through EIP-1193 / EIP-6963,
// switch to the deployment's chain, disconnect) and Sign-In with Ethereum.
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useConnect, useConnection, useConnectors, useDisconnect, useSwitchChain } from "wagmi";
import { useRuntime } from "@/lib/runtime";
import { explainError } from "@/lib/errors";
import { shortAddress } from "@/lib/format";
import { setLang, useI18n, type Lang } from "@/lib/i18n";
import { useSession } from "@/lib/session";
import { buttonClass, secondaryButtonClass } from "./ui";

const PAGES = [
  { href: "/", key: "market" },
  { href: "/trade/", key: "trade" },
  { href: "/energy/", key: "energy" },
  { href: "/bill/", key: "bill" },
  { href: "/history/", key: "history" },
  { href: "/agents/", key: "agents" },
  { href: "/operator/", key: "operator" },
] as const;

function SignIn() {
  const { t } = useI18n();
  const { session, busy, error, signIn, signOut } = useSession();
  return (
    <>
      {session ? (
        <>
          <span data-testid="session" className="rounded bg-emerald-50 px-2 py-0.5 text-emerald-800">
            {t.session.signedIn(session.roles.map((r) => t.session.roles[r] ?? r).join(", "))}
          </span>
          <button type="button" className={secondaryButtonClass} onClick={signOut}>
            {t.session.signOut}
          </button>
        </>
      ) : (
        <button type="button" className={buttonClass} disabled={busy} onClick={() => void signIn()}>
          {busy ? t.session.signingIn : t.session.signIn}
        </button>
      )}
      {error ? (
        <span role="alert" data-testid="session-error" className="basis-full text-red-700">
          {error}
        </span>
      ) : null}
    </>
  );
}

/** Why the wallet refused to connect or to switch the chain, in plain words. */
function WalletError({ error }: { error: Error | null }) {
  const i18n = useI18n();
  if (error === null) return null;
  return (
    <span role="alert" className="text-red-700">
      {explainError(error, i18n)}
    </span>
  );
}

function Wallet() {
  const cfg = useRuntime();
  const { t } = useI18n();
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
              {t.wallet.wrongNetwork(connection.chainId ?? 0)}
            </span>
            <button
              type="button"
              className={buttonClass}
              onClick={() => switchChain.mutate({ chainId: cfg.chainId })}
              disabled={switchChain.isPending}
            >
              {t.wallet.switchTo(cfg.chainId)}
            </button>
          </>
        ) : (
          <span className="rounded bg-emerald-50 px-2 py-0.5 text-emerald-800">{t.wallet.chain(cfg.chainId)}</span>
        )}
        <SignIn />
        <button type="button" className={secondaryButtonClass} onClick={() => disconnect.mutate({})}>
          {t.wallet.disconnect}
        </button>
        <WalletError error={switchChain.error} />
      </div>
    );
  }
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm">
      {offered.length === 0 ? <span className="text-slate-600">{t.wallet.none}</span> : null}
      {offered.map((connector) => (
        <button
          key={connector.uid}
          type="button"
          className={buttonClass}
          disabled={connect.isPending}
          onClick={() => connect.mutate({ connector, chainId: cfg.chainId })}
        >
          {t.wallet.connect(connector.id === "injected" ? t.wallet.browserWallet : connector.name)}
        </button>
      ))}
      <WalletError error={connect.error} />
    </div>
  );
}

function LanguageSwitch() {
  const { t, lang } = useI18n();
  return (
    <label className="flex items-center gap-1 text-sm text-slate-700">
      <span className="sr-only">{t.app.language}</span>
      <select
        aria-label={t.app.language}
        className="rounded border border-slate-300 bg-white px-1 py-0.5"
        value={lang}
        onChange={(e) => setLang(e.target.value as Lang)}
      >
        <option value="de" lang="de">
          Deutsch
        </option>
        <option value="en" lang="en">
          English
        </option>
      </select>
    </label>
  );
}

export function Header() {
  const { t } = useI18n();
  const pathname = usePathname();
  const current = pathname.endsWith("/") ? pathname : `${pathname}/`;
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-col gap-3 px-4 py-3 lg:flex-row lg:items-center lg:justify-between">
        <div className="flex flex-wrap items-center gap-3">
          <Link href="/" className="text-lg font-bold text-emerald-800">
            {t.app.title}
          </Link>
          <nav aria-label={t.nav.main}>
            <ul className="flex flex-wrap gap-1">
              {PAGES.map((page) => (
                <li key={page.href}>
                  <Link
                    href={page.href}
                    aria-current={current === page.href ? "page" : undefined}
                    className="rounded px-2 py-1 text-sm text-slate-700 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-emerald-500 aria-[current=page]:bg-emerald-100 aria-[current=page]:text-emerald-900"
                  >
                    {t.nav[page.key]}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <LanguageSwitch />
        </div>
        <Wallet />
      </div>
    </header>
  );
}

/** Shown instead of a page's wallet parts until a wallet is connected on the right chain. */
export function ConnectPrompt({ wrongChain }: { wrongChain: boolean }) {
  const { t } = useI18n();
  return (
    <p className="rounded border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
      {wrongChain ? t.wallet.wrongChainPrompt : t.wallet.connectPrompt}
    </p>
  );
}

/** Shown instead of a page's signed-in parts until the user signed in. */
export function SignInPrompt({ text }: { text?: string }) {
  const { t } = useI18n();
  return (
    <p data-testid="sign-in-prompt" className="rounded border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900">
      {text ?? t.session.prompt}
    </p>
  );
}
