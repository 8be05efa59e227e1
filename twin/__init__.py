"""The live twin: device state, readings intake, early-warning rules and the incident workflow.

Built in a later issue; the store it works on is in ``geodata``.
"""
