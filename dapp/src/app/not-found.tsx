"use client";
import Link from "next/link";
import { useMessages } from "@/lib/i18n";

export default function NotFound() {
  const t = useMessages();
  return (
    <div className="rounded border border-slate-200 bg-white p-4">
      <h1 className="text-xl font-semibold">{t.notFound.title}</h1>
      <p className="mt-2">
        <Link href="/" className="text-emerald-800 underline">
          {t.notFound.back}
        </Link>
      </p>
    </div>
  );
}
