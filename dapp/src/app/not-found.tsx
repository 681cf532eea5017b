import Link from "next/link";

export default function NotFound() {
  return (
    <div className="rounded border border-slate-200 bg-white p-4">
      <h1 className="text-xl font-semibold">Page not found</h1>
      <p className="mt-2">
        <Link href="/" className="text-emerald-800 underline">
          Back to the market
        </Link>
      </p>
    </div>
  );
}
