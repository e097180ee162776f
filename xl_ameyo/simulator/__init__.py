"""A local Ameyo contact-upload endpoint for rehearsals, the demo and tests (see README.md)."""

from xl_ameyo.simulator.server import SimulatorServer, run_forever
from xl_ameyo.simulator.users import SimUser

__all__ = ["SimUser", "SimulatorServer", "run_forever"]
