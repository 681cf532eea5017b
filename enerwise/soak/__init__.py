"""The chaos soak (``enerwise soak``): the community day on anvil with its own PostgreSQL,
Redis and Mosquitto, faults injected on a seeded schedule, and the proof that nothing was lost
(docs/reliability.md). Imports nothing, so ``import enerwise.soak`` stays cheap."""
