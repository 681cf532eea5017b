import type { NextConfig } from "next";

// A static export: the indexer API serves out/ at `/` (one build serves any deployment, the
// runtime config comes from GET /v1/config).
const nextConfig: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
