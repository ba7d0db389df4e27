"""Call an update rule several steps in a row, feeding its config back (worker side)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.scenarios import copied, plain

__all__ = ["SCENARIOS", "update_steps"]


def update_steps(sub: LoadedSubmission, name: str, w: np.ndarray, dws: list[np.ndarray],
                 config: dict[str, Any] | None) -> dict[str, Any]:
    """``next_w, config = name(w, dw, config)`` for each dw in turn, as the solver calls it:
    the returned next_w and config are the next call's w and config.  Each step's next_w,
    config (its numbers) and dw as the call left it."""
    rule = sub.get(name)
    w_now: Any = copied(w)
    config_now: Any = None if config is None else {k: copied(v) for k, v in config.items()}
    steps = []
    for k, dw in enumerate(dws):
        where = f"{name}(w, dw, config) (step {k + 1})"
        d = copied(dw)
        value = call_student(where, rule, w_now, d, config_now)
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            n = len(value) if isinstance(value, (tuple, list)) else None
            raise ContractError(f"{where} returned {type(value).__name__}"
                                f"{'' if n is None else f' of {n}'}; expected a pair "
                                "(next_w, config)", where=where, returned_none=value is None,
                                returned_count=n, expected_count=2)
        w_now, config_now = value
        if not isinstance(config_now, dict):
            raise ContractError(f"{where} returned config as {type(config_now).__name__}; "
                                "expected the config dict, with its state updated",
                                where=where, returned_none=config_now is None)
        steps.append({"next_w": plain(w_now), "dw_after": plain(d),
                      "config": {str(k): plain(v) for k, v in config_now.items()}})
    return {"steps": steps}


SCENARIOS = {"update_steps": update_steps}
