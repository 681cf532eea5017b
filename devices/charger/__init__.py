"""EV chargers over OCPP (2.0.1 first, 1.6J too): a central system, a simulated charge point,
and the charging modes users know from EVCC."""
