import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { Providers } from "@/components/Providers";
import { Header } from "@/components/Header";
import "./globals.css";

export const metadata: Metadata = {
  title: "Enerwise · EnergyChain market",
  description: "Peer-to-peer energy market: order book, trading, energy tokens, agents, community KPIs.",
  icons: { icon: "data:," },
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:bg-white focus:p-2">
          Skip to content
        </a>
        <Providers>
          <Header />
          <main id="main" className="mx-auto flex max-w-6xl flex-col gap-4 px-4 py-6">
            {children}
          </main>
        </Providers>
      </body>
    </html>
  );
}
