"""Prometheus metrics of the indexer and the API (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_INGESTED = Counter(
    "enerwise_indexer_events_total", "EnergyChain events written to the database"
)
RANGES_INGESTED = Counter("enerwise_indexer_ranges_total", "Block ranges committed")
REORGS = Counter("enerwise_indexer_reorgs_total", "Reorganisations undone")
OUTAGES = Counter(
    "enerwise_indexer_pauses_total", "Pauses after an RPC or database failure", ["cause"]
)
CHECKPOINT_BLOCK = Gauge("enerwise_indexer_checkpoint_block", "Last block committed")
HEAD_BLOCK = Gauge("enerwise_indexer_head_block", "Chain head seen by the ingester")
HTTP_REQUESTS = Counter(
    "enerwise_api_requests_total", "API requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "enerwise_api_request_seconds",
    "API request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
SSE_CLIENTS = Gauge("enerwise_api_stream_clients", "Connected live-stream clients")
