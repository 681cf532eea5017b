"""Heat pumps through SG-Ready (two relays, states 1..4) over Modbus coils or MQTT relays."""
