"""The household's devices: home battery (SunSpec over Modbus TCP), EV charger (OCPP), heat pump
(SG-Ready over Modbus coils or MQTT), Home Assistant discovery, the household file, and the
controller that drives them (see docs/devices.md).

A controller talks to every device through the small typed interface of
:mod:`devices.interface`: read the state, apply a command (read back), return to the safe
default.
"""
