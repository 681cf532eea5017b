"""Home batteries over Modbus TCP through SunSpec: the controller client and a simulator."""
