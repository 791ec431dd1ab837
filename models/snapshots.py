"""Agent-level snapshots: one row per agent, every ``every`` weeks, only when asked for.

The weekly records (``models.metrics.Recorder``) keep organisation-level and per-group rows, so
their size grows with weeks, never with agents × weeks. Some questions need individuals —
who reached Solve, how value is spread over people, a person's path through the stages — and
for those a run can keep a copy of every agent's state at a chosen cadence
(``output.snapshots=13``: every quarter). That memory grows with agents × weeks / cadence, so
it is off by default (``output.snapshots=0``).

A snapshot is taken after the week's step, for the weeks whose number (counted from 1, as in
the weekly records) is a multiple of ``every``: with ``every=13`` after weeks 13, 26, 39, …,
the ends of the quarters. The table has one row per agent and snapshot: week,
agent (the row of the state arrays, as in ``model.agent_at(row)``), role, department, stage
(names, as categoricals), the adoption flags and the continuous state, the week's posts and
net value (``value`` = personal + strategic), and the value created so far.
"""

import numpy as np
import pandas as pd

from models.state import ROLE_NAMES, STAGE_NAMES, AgentState, Traits

#: State arrays copied into each snapshot, under the column names used in the table.
STATE_COLUMNS = {
    "active": "active",
    "user": "user",
    "adopted": "ever",
    "perceived_value": "perceived",
    "sense": "sense",
    "intrinsic": "intrinsic",
    "extrinsic": "extrinsic",
    "reactance": "reactance",
    "alignment": "alignment",
    "posts": "posts",
    "value_personal": "value_personal",
    "value_strategic": "value_strategic",
    "total_value": "total_value",
}


class Snapshots:
    """Keeps a copy of every agent's state after every ``every``-th week (0: never)."""

    def __init__(self, every: int, traits: Traits, department: np.ndarray, department_names):
        every = int(every)
        if every < 0:
            raise ValueError(f"snapshot cadence must be 0 (off) or a number of weeks, not {every}")
        self.every = every
        self._role = traits.role
        self._department = np.asarray(department)
        self._department_names = list(department_names)
        self._taken: list[tuple[int, dict[str, np.ndarray]]] = []

    def due(self, week: int) -> bool:
        return self.every > 0 and week % self.every == 0

    def take(self, week: int, state: AgentState) -> None:
        """Copy the agents' state after week ``week``, if a snapshot is due."""
        if not self.due(week):
            return
        columns = {name: getattr(state, attr).copy() for name, attr in STATE_COLUMNS.items()}
        columns["stage"] = state.stage.copy()
        self._taken.append((week, columns))

    def __len__(self) -> int:
        """Number of snapshots taken."""
        return len(self._taken)

    def frame(self) -> pd.DataFrame:
        """All snapshots as one table, one row per agent and snapshot (empty if none)."""
        n = self._role.size
        agent = np.arange(n, dtype=np.int32)
        role = pd.Categorical.from_codes(self._role, categories=list(ROLE_NAMES))
        department = pd.Categorical.from_codes(self._department, self._department_names)
        frames = [
            pd.DataFrame(
                {
                    "week": np.full(n, week, dtype=np.int32),
                    "agent": agent,
                    "role": role,
                    "department": department,
                    "stage": pd.Categorical.from_codes(
                        columns["stage"], categories=list(STAGE_NAMES)
                    ),
                    **{name: columns[name] for name in STATE_COLUMNS},
                    "value": columns["value_personal"] + columns["value_strategic"],
                }
            )
            for week, columns in self._taken
        ]
        if not frames:
            return pd.DataFrame(
                columns=["week", "agent", "role", "department", "stage", *STATE_COLUMNS, "value"]
            )
        return pd.concat(frames, ignore_index=True)
